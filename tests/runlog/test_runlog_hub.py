"""Pushing runs to a dataset repo on the Hub-protocol test server, with the real client."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from hub_tools._runlog_push import dataset_card
from hub_tools.runlog import RunLogger

from ._agents import adding_agent
from .conftest import FAKE_HF_TOKEN

REPO = "alice/runs"


def _hub_records(hub) -> list[dict]:
    files = [f for f in hub.list_files(REPO, repo_type="dataset") if f.endswith(".jsonl")]
    return [json.loads(line) for f in files
            for line in hub.read_file(REPO, f, repo_type="dataset").splitlines()]


def _run_tasks(run_logger: RunLogger, *tasks: str) -> None:
    for task in tasks:
        adding_agent([run_logger.callback("browser")], answer=f"answer to {task}").run(task)


def _wait_until(predicate, timeout: float = 30.0) -> None:
    deadline = time.time() + timeout
    while not predicate():
        assert time.time() < deadline, "timed out"
        time.sleep(0.1)


def test_runs_appear_in_a_private_dataset_with_a_card(hub, hf_api, runs_dir):
    with RunLogger(runs_dir=runs_dir, dataset=REPO, hf_api=hf_api, every_minutes=60) as logger:
        assert logger.describe().startswith(f"Runs are logged to dataset {REPO}")
        _run_tasks(logger, "first", "second")
        stream = adding_agent([logger.callback("b")], n_adds=3).run("in flight", stream=True)
        next(e for e in stream if type(e).__name__ == "ActionStep")
        assert logger.push()
        files = hub.list_files(REPO, repo_type="dataset")
        assert not any(f.startswith(".inflight") for f in files), "journals stay local"
        stream.close()
    assert hub.repo(REPO, "dataset").private
    files = hub.list_files(REPO, repo_type="dataset")
    assert "README.md" in files and any(f.startswith("runs-") for f in files)
    records = _hub_records(hub)
    assert sorted(r["task"] for r in records) == ["first", "in flight", "second"]
    assert {r["status"] for r in records} == {"success", "incomplete"}
    card = hub.read_file(REPO, "README.md", repo_type="dataset").decode()
    meta = yaml.safe_load(card.split("---")[1])
    assert meta["configs"][0]["data_files"][0]["path"] == "runs-*.jsonl"
    assert FAKE_HF_TOKEN not in "".join(json.dumps(r) for r in records)


def test_server_answering_500_for_a_while_loses_nothing(hub, hf_api, runs_dir, caplog):
    logger = RunLogger(runs_dir=runs_dir, dataset=REPO, hf_api=hf_api, every_minutes=60)
    assert logger.push()  # the card is there
    rule = hub.fail(r"/commit/", status=500, times=2, method="POST")
    _run_tasks(logger, "during outage 1")
    assert not logger.push()  # 500: logged, kept for the next tick
    _run_tasks(logger, "during outage 2")
    assert not logger.push()
    assert rule.hits == 2 and _hub_records(hub) == []
    assert logger.push()  # the Hub is back
    assert sorted(r["task"] for r in _hub_records(hub)) == ["during outage 1", "during outage 2"]
    logger.close()
    statuses = [r.status for r in hub.requests if "/commit/" in r.path]
    assert statuses.count(500) == 2


def test_scheduler_ticks_retry_after_failures(hub, hf_api, runs_dir):
    """The real timer: a 0.6 s tick, failed commits on several ticks, every run arrives."""
    rule = hub.fail(r"/commit/", status=503, times=3, method="POST")
    logger = RunLogger(runs_dir=runs_dir, dataset=REPO, hf_api=hf_api, every_minutes=0.01)
    tasks = [f"run {i}" for i in range(6)]
    for task in tasks:
        _run_tasks(logger, task)
        time.sleep(0.15)
    _wait_until(lambda: rule.hits == 3 and len(_hub_records(hub)) == len(tasks))
    logger.close()
    records = _hub_records(hub)
    assert sorted(r["task"] for r in records) == tasks  # each once: no loss, no duplicate


def test_hub_unreachable_at_start_then_back(runs_dir):
    from huggingface_hub import HfApi

    from tests.hub_server import HubServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    api = HfApi(endpoint=f"http://127.0.0.1:{port}", token=FAKE_HF_TOKEN)
    logger = RunLogger(runs_dir=runs_dir, dataset=REPO, hf_api=api, every_minutes=0.01)
    assert logger.scheduler is None
    _run_tasks(logger, "while the hub is down")
    with HubServer(users={FAKE_HF_TOKEN: "alice"}, port=port) as hub:
        _wait_until(lambda: logger.scheduler is not None)
        logger.close()
        assert [r["task"] for r in _hub_records(hub)] == ["while the hub is down"]


def test_only_whole_lines_are_uploaded(hub, hf_api, runs_dir):
    """A line half written by another process is held back until it is complete."""
    logger = RunLogger(runs_dir=runs_dir, dataset=REPO, hf_api=hf_api, every_minutes=60)
    _run_tasks(logger, "mine")
    other = runs_dir / "runs-2099-01-01-otherproc.jsonl"
    line = (json.dumps(_hub_records_local(runs_dir)[0] | {"run_id": "other", "task": "theirs"})
            + "\n").encode()
    other.write_bytes(line + line[:40])  # a second line being appended right now
    assert logger.push()
    pushed = hub.read_file(REPO, other.name, repo_type="dataset")
    assert pushed == line
    mtime_ns = other.stat().st_mtime_ns
    with other.open("ab") as f:
        f.write(line[40:])
    os.utime(other, ns=(mtime_ns, mtime_ns))  # finished within the same mtime tick
    assert logger.push()
    assert hub.read_file(REPO, other.name, repo_type="dataset") == line * 2
    logger.close()


def _hub_records_local(runs_dir: Path) -> list[dict]:
    return [json.loads(line) for p in runs_dir.glob("runs-*.jsonl")
            for line in p.read_bytes().splitlines()]


EXITS_WITHOUT_CLOSE = """
import sys
from huggingface_hub import HfApi
from hub_tools.runlog import RunLogger
from tests.runlog._agents import adding_agent

url, token, runs_dir = sys.argv[1:4]
logger = RunLogger(runs_dir=runs_dir, dataset="alice/runs", every_minutes=60,
                   hf_api=HfApi(endpoint=url, token=token))
adding_agent([logger.callback("s")]).run("finished before exit")
stream = adding_agent([logger.callback("s")], n_adds=3).run("running at exit", stream=True)
next(e for e in stream if type(e).__name__ == "ActionStep")
"""


def test_runs_are_pushed_at_interpreter_exit(hub, runs_dir, tmp_path):
    script = tmp_path / "exits.py"
    script.write_text(textwrap.dedent(EXITS_WITHOUT_CLOSE))
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, str(script), hub.url, hub.token, str(runs_dir)],
                         cwd=root, env={**os.environ, "PYTHONPATH": str(root)},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    statuses = {r["task"]: r["status"] for r in _hub_records(hub)}
    assert statuses == {"finished before exit": "success", "running at exit": "incomplete"}


LOAD_DATASET = """
import json, sys
import datasets
ds = datasets.load_dataset(sys.argv[1], split="train")
print(json.dumps({"rows": ds.num_rows, "columns": ds.column_names,
                  "features": {k: str(v) for k, v in ds.features.items()},
                  "tasks": sorted(ds["task"]), "steps": [json.loads(s) for s in ds["steps"]]}))
"""


def test_load_dataset_through_hf_endpoint_returns_runs_with_the_schema(hub, hf_api, runs_dir,
                                                                       tmp_path):
    with RunLogger(runs_dir=runs_dir, dataset=REPO, hf_api=hf_api, every_minutes=60) as logger:
        _run_tasks(logger, "alpha", "beta")
        broken = adding_agent([logger.callback("b")], n_adds=0)
        broken.model.replies = []  # the model fails at once: a run with no steps
        list(broken.run("gamma", stream=True))
    script = tmp_path / "load.py"
    script.write_text(textwrap.dedent(LOAD_DATASET))
    env = {**os.environ, **hub.env(), "HF_HOME": str(tmp_path / "hf_home_sub"),
           "HF_DATASETS_OFFLINE": "0", "HF_HUB_OFFLINE": "0"}
    out = subprocess.run([sys.executable, str(script), REPO], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["rows"] == 3 and result["tasks"] == ["alpha", "beta", "gamma"]
    meta = yaml.safe_load(dataset_card(REPO).split("---")[1])
    assert result["columns"] == [f["name"] for f in meta["dataset_info"]["features"]]
    assert result["features"]["totals"] == ("{'steps': Value('int64'), 'input_tokens': "
                                            "Value('int64'), 'output_tokens': Value('int64'), "
                                            "'duration_s': Value('float64')}")
    assert sorted(len(s) for s in result["steps"]) == [0, 2, 2]


@pytest.mark.parametrize("value", ["off", "0", "false"])
def test_logging_off_never_contacts_the_hub(hub, hf_api, runs_dir, monkeypatch, value):
    monkeypatch.setenv("RUNS_LOGGING", value)
    logger = RunLogger(runs_dir=runs_dir, dataset=REPO, hf_api=hf_api)
    _run_tasks(logger, "secret task")
    logger.close()
    assert hub.requests == [] and not runs_dir.exists()


def test_two_pushing_loggers_on_one_folder_leave_each_other_s_live_file_alone(hub, hf_api,
                                                                              runs_dir):
    """As with two processes: a growing file is pushed by its owner only."""
    first = RunLogger(runs_dir=runs_dir, dataset=REPO, hf_api=hf_api, every_minutes=60)
    second = RunLogger(runs_dir=runs_dir, dataset=REPO, hf_api=hf_api, every_minutes=60)
    assert first.push() and second.push()  # their first ticks are done
    _run_tasks(first, "by first")
    _run_tasks(second, "by second")
    assert first.push()
    assert [r["task"] for r in _hub_records(hub)] == ["by first"]
    second.close()  # pushes its own file, then lets go of it
    _run_tasks(first, "first again")
    assert first.push()
    first.close()
    assert sorted(r["task"] for r in _hub_records(hub)) == ["by first", "by second",
                                                           "first again"]
