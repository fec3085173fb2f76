"""Durability: kill -9 mid-run and restart, torn lines, concurrent threads and processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from hub_tools._runlog_files import RECOVERED_ERROR, Journal
from hub_tools.runlog import RunLogger, list_runs, recover_incomplete

from ._agents import adding_agent

REPO_ROOT = Path(__file__).resolve().parents[2]

KILLED_RUN = """
import sys
from agent_core import ScriptedModel, ToolCallingAgent
from hub_tools.runlog import RunLogger
from tests.runlog._agents import call, wait_for

runs_dir, signal_file = sys.argv[1], sys.argv[2]
run_logger = RunLogger(runs_dir=runs_dir, dataset="")
replies = [call("wait_for", step=n, signal_file=signal_file) for n in (1, 2, 3)]
agent = ToolCallingAgent(tools=[wait_for], model=ScriptedModel(replies), verbosity_level=0,
                         event_callbacks=[run_logger.callback("victim")])
agent.run("three slow steps")
"""

WRITER = """
import sys, threading
from hub_tools.runlog import RunLogger
from tests.runlog._agents import adding_agent

runs_dir, name, n_threads, n_runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
run_logger = RunLogger(runs_dir=runs_dir, dataset="")

def work(t):
    for i in range(n_runs):
        task = f"{name}-{t}-{i} " + "long text " * (300 * (i % 3))  # lines of 0-6 kB
        adding_agent([run_logger.callback(f"{name}-{t}")], answer=task, n_adds=2).run(task)

threads = [threading.Thread(target=work, args=(t,)) for t in range(n_threads)]
for t in threads: t.start()
for t in threads: t.join()
run_logger.close()
"""


def _python(script: str, *args: str, tmp_path: Path) -> subprocess.Popen:
    path = tmp_path / f"script_{abs(hash(script))}.py"
    path.write_text(textwrap.dedent(script))
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen([sys.executable, str(path), *args], cwd=REPO_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for_file(path: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"subprocess ended early: {proc.stderr.read().decode()}")
        assert time.time() < deadline, "the subprocess never reached step 3"
        time.sleep(0.05)


def _records(runs_dir: Path) -> list[dict]:
    return [json.loads(line) for p in sorted(runs_dir.glob("runs-*.jsonl"))
            for line in p.read_bytes().splitlines()]


def test_kill_9_mid_run_keeps_finished_steps_and_restart_closes_it(runs_dir, tmp_path):
    signal_file = tmp_path / "at-step-3"
    proc = _python(KILLED_RUN, str(runs_dir), str(signal_file), tmp_path=tmp_path)
    try:
        _wait_for_file(signal_file, proc)
        # while it lives, its run is "running" and recovery leaves it alone
        assert [r["status"] for r in list_runs(runs_dir)] == ["running"]
        assert recover_incomplete(runs_dir) == []
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert list_runs(runs_dir)[0]["status"] == "incomplete"  # dead, not yet recovered
    restarted = RunLogger(runs_dir=runs_dir, dataset="")  # the next start
    assert len(restarted.recovered) == 1
    restarted.close()
    (record,) = _records(runs_dir)
    assert record["status"] == "incomplete" and record["task"] == "three slow steps"
    assert record["error"] == RECOVERED_ERROR
    steps = json.loads(record["steps"])
    assert [s["number"] for s in steps] == [1, 2]  # only step 3, in flight, is lost
    assert [s["observations"] for s in steps] == ["step 1 done", "step 2 done"]
    assert record["totals"]["steps"] == 2 and record["totals"]["input_tokens"] > 0
    assert record["finished_at"] >= record["started_at"]
    assert not list((runs_dir / ".inflight").iterdir())
    assert recover_incomplete(runs_dir) == [] and len(_records(runs_dir)) == 1


def _write_journal(runs_dir: Path, run_id: str, extra: bytes = b"") -> None:
    header = {"run_id": run_id, "session": "s", "started_at": "2024-01-01T00:00:00.000Z",
              "started_ts": 1704067200.0, "task": "t", "model_id": "m", "agent_type": "A",
              "agent_name": "", "tools": [], "n_images": 0}
    journal = Journal(runs_dir, run_id, header)
    journal.add_step({"number": 1, "type": "action", "input_tokens": 3, "output_tokens": 4})
    os.write(journal.fd, extra)
    os.close(journal.fd)  # the owner "dies" without discarding it


def test_torn_last_line_is_skipped(runs_dir):
    _write_journal(runs_dir, "torn", extra=b'{"kind": "step", "step": {"number": 2, "ty')
    assert recover_incomplete(runs_dir) == ["torn"]
    (record,) = _records(runs_dir)
    assert [s["number"] for s in json.loads(record["steps"])] == [1]
    assert record["totals"]["input_tokens"] == 3


def test_crash_after_the_record_was_written_makes_no_duplicate(runs_dir):
    with RunLogger(runs_dir=runs_dir, dataset="") as run_logger:
        adding_agent([run_logger.callback("s")]).run("task")
    (record,) = _records(runs_dir)
    _write_journal(runs_dir, record["run_id"])  # as if killed before unlinking it
    assert recover_incomplete(runs_dir) == []
    assert len(_records(runs_dir)) == 1 and not list((runs_dir / ".inflight").iterdir())


def test_concurrent_threads_share_one_logger(runs_dir):
    run_logger = RunLogger(runs_dir=runs_dir, dataset="")
    errors = []

    def work(t):
        try:
            for i in range(15):
                task = f"t{t}-{i} " + "x" * (5000 * (i % 2))
                adding_agent([run_logger.callback(f"s{t}")], answer=task).run(task)
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run_logger.close()
    assert not errors
    records = _records(runs_dir)  # every line parses
    assert len(records) == 120 and len({r["run_id"] for r in records}) == 120
    assert all(r["final_answer"] == r["task"] for r in records)  # nothing mixed up


def test_concurrent_processes_and_threads(runs_dir, tmp_path):
    procs = [_python(WRITER, str(runs_dir), f"p{n}", "3", "8", tmp_path=tmp_path)
             for n in range(3)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    records = _records(runs_dir)
    assert len(records) == 3 * 3 * 8
    assert all(r["status"] == "success" and r["final_answer"] == r["task"] for r in records)
    names = {r["task"].split()[0] for r in records}
    assert names == {f"p{n}-{t}-{i}" for n in range(3) for t in range(3) for i in range(8)}
    assert len(list(runs_dir.glob("runs-*.jsonl"))) == 3  # one file per writer
    assert not list((runs_dir / ".inflight").iterdir())
