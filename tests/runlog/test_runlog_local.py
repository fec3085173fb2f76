"""The run log on local disk: records, redaction, media answers, reading back, the chat replay."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent_core import FunctionModel, ManagedAgent, ModelAPIError, ScriptedModel, ToolCallingAgent
from agent_core.models.base import Model
from hub_tools.runlog import (RunLogger, list_runs, load_run, recover_incomplete,
                              run_to_chat_messages)

from ._agents import add, adding_agent, call
from .conftest import FAKE_HF_TOKEN

RECORD_KEYS = {"run_id", "session", "started_at", "finished_at", "status", "task", "model_id",
               "agent_type", "agent_name", "tools", "n_images", "steps", "final_answer",
               "final_answer_type", "error", "totals", "schema_version"}


def read_records(runs_dir: Path) -> list[dict]:
    lines = [line for path in sorted(runs_dir.glob("runs-*.jsonl"))
             for line in path.read_text(encoding="utf-8").splitlines()]
    return [json.loads(line) for line in lines]


def all_text(runs_dir: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in runs_dir.rglob("*") if p.is_file())


def test_a_run_becomes_one_record_with_steps_tokens_and_totals(runs_dir):
    with RunLogger(runs_dir=runs_dir, dataset="") as run_logger:
        agent = adding_agent([run_logger.callback("browser-1")], answer="5", n_adds=2)
        assert agent.run("What is 2 + 3?") == "5"
        assert not list((runs_dir / ".inflight").glob("*")), "journal removed once logged"
    (record,) = read_records(runs_dir)
    assert set(record) == RECORD_KEYS
    assert record["status"] == "success" and record["task"] == "What is 2 + 3?"
    assert record["agent_type"] == "ToolCallingAgent" and record["model_id"] == "scripted"
    assert json.loads(record["tools"]) == ["add", "final_answer"]
    assert record["final_answer"] == "5" and record["final_answer_type"] == "text"
    assert record["started_at"] <= record["finished_at"] and record["finished_at"].endswith("Z")
    steps = json.loads(record["steps"])
    assert [s["number"] for s in steps] == [1, 2, 3]
    assert steps[0]["tool_calls"][0]["name"] == "add"
    assert json.loads(steps[0]["tool_calls"][0]["arguments"]) == {"a": 0, "b": 2}
    assert steps[0]["observations"] == "2" and steps[1]["observations"] == "3"
    assert steps[2]["is_final_answer"] and steps[2]["output"] == "5"
    assert all(s["input_tokens"] > 0 and s["output_tokens"] > 0 for s in steps)
    totals = record["totals"]
    assert totals["steps"] == 3
    assert totals["input_tokens"] == sum(s["input_tokens"] for s in steps)
    assert totals["output_tokens"] == sum(s["output_tokens"] for s in steps)
    assert isinstance(totals["duration_s"], float)


def test_session_is_an_opaque_hash_stable_within_a_logger(runs_dir):
    run_logger = RunLogger(runs_dir=runs_dir, dataset="")
    for _ in range(2):
        adding_agent([run_logger.callback("10.1.2.3-browser")]).run("task")
    adding_agent([run_logger.callback("other-browser")]).run("task")
    run_logger.close()
    sessions = [r["session"] for r in read_records(runs_dir)]
    assert sessions[0] == sessions[1] != sessions[2]
    assert sessions[0] == run_logger.session_hash("10.1.2.3-browser")
    assert "10.1.2.3" not in all_text(runs_dir)
    mine = list_runs(runs_dir, session=sessions[2])
    assert len(mine) == 1 and mine[0]["session"] == sessions[2]


def test_secrets_are_redacted_from_task_steps_and_answer(runs_dir, monkeypatch):
    openai_key = "sk-proj-abcdefghijklmnop1234567890"
    monkeypatch.setenv("MY_SERVICE_PASSWORD", "correct-horse-battery")
    task = f"My token is {FAKE_HF_TOKEN}; use key {openai_key} and correct-horse-battery"
    answer = f"done with {FAKE_HF_TOKEN}"
    with RunLogger(runs_dir=runs_dir, dataset="", token="explicit-token-value-42") as run_logger:
        replies = [call("add", a=1, b=2), call("final_answer", answer=answer
                                                + " explicit-token-value-42")]
        agent = ToolCallingAgent(tools=[add], model=ScriptedModel(replies), verbosity_level=0,
                                 event_callbacks=[run_logger.callback("s")])
        agent.run(task)
    text = all_text(runs_dir)
    for secret in (FAKE_HF_TOKEN, openai_key, "correct-horse-battery", "explicit-token-value-42"):
        assert secret not in text
    (record,) = read_records(runs_dir)
    assert record["task"].startswith("My token is [REDACTED]")
    assert record["final_answer"] == "done with [REDACTED] [REDACTED]"


def test_secret_in_a_step_is_redacted_from_the_journal_too(runs_dir):
    seen = {}

    def spy(event):
        if type(event).__name__ == "ActionStep" and event.step_number == 1:
            seen["journal"] = "".join(p.read_text() for p in (runs_dir / ".inflight").glob("*"))

    run_logger = RunLogger(runs_dir=runs_dir, dataset="")
    agent = adding_agent([run_logger.callback("s"), spy], answer=f"x {FAKE_HF_TOKEN}", n_adds=0)
    agent.run("task")
    run_logger.close()
    assert '"kind": "step"' in seen["journal"] and "x [REDACTED]" in seen["journal"]
    assert FAKE_HF_TOKEN not in seen["journal"]


class _BrokenModel(Model):
    def generate(self, messages, stop_sequences=None, tools=None, **kwargs):
        raise ModelAPIError(f"upstream said no to {FAKE_HF_TOKEN}", status=503)


def test_error_max_steps_and_planning_runs_are_recorded(runs_dir):
    with RunLogger(runs_dir=runs_dir, dataset="") as run_logger:
        cb = run_logger.callback("s")
        broken = ToolCallingAgent(tools=[], model=_BrokenModel(model_id="broken"),
                                  verbosity_level=0, event_callbacks=[cb])
        events = list(broken.run("fails", stream=True))
        assert events[-1].status == "error"
        looping = ToolCallingAgent(tools=[add], model=ScriptedModel(
            [call("add", a=1, b=1)] * 2 + ["Best guess: 2"]), max_steps=2, verbosity_level=0,
            event_callbacks=[cb])
        assert looping.run("loop") == "Best guess: 2"
        planner = ToolCallingAgent(tools=[add], model=ScriptedModel(
            ["1. add\n2. answer<end_plan>", call("final_answer", answer="3")]),
            planning_interval=5, verbosity_level=0, event_callbacks=[cb])
        planner.run("plan it")
    error, max_steps, planned = read_records(runs_dir)
    assert error["status"] == "error" and "ModelAPIError" in error["error"]
    assert FAKE_HF_TOKEN not in error["error"] and json.loads(error["steps"]) == []
    assert error["final_answer_type"] == "none" and error["totals"]["steps"] == 0
    assert max_steps["status"] == "max_steps" and max_steps["final_answer"] == "Best guess: 2"
    assert max_steps["totals"]["steps"] == 2
    kinds = [s["type"] for s in json.loads(planned["steps"])]
    assert kinds == ["planning", "action"]
    assert json.loads(planned["steps"])[0]["model_output"] == "1. add\n2. answer"


def test_interrupted_run_and_abandoned_stream(runs_dir):
    run_logger = RunLogger(runs_dir=runs_dir, dataset="")
    cb = run_logger.callback("s")
    agent = adding_agent([cb], n_adds=5)
    stream = agent.run("interrupt me", stream=True)
    for event in stream:
        if type(event).__name__ == "ActionStep":
            agent.interrupt()
    abandoned = adding_agent([cb], n_adds=5)
    stream = abandoned.run("abandon me", stream=True)
    for event in stream:
        if type(event).__name__ == "ActionStep":
            break  # the browser went away: no RunEnd will ever come
    stream.close()
    assert [r["status"] for r in list_runs(runs_dir)] == ["running", "interrupted"]
    cb.close()
    statuses = {r["task"]: r["status"] for r in list_runs(runs_dir)}
    assert statuses == {"interrupt me": "interrupted", "abandon me": "interrupted"}
    run_logger.close()


def test_open_runs_are_closed_as_incomplete_when_the_logger_closes(runs_dir):
    import gc

    run_logger = RunLogger(runs_dir=runs_dir, dataset="")
    for task in ("session gone", "half done"):
        stream = adding_agent([run_logger.callback("s")], n_adds=3).run(task, stream=True)
        next(e for e in stream if type(e).__name__ == "ActionStep")
        if task == "session gone":
            del stream  # the agent and its callback are garbage now
            gc.collect()
    run_logger.close()
    records = read_records(runs_dir)
    assert sorted(r["task"] for r in records) == ["half done", "session gone"]
    assert all(r["status"] == "incomplete" and len(json.loads(r["steps"])) == 1
               for r in records)
    for _ in stream:  # events after close are ignored
        pass
    assert len(read_records(runs_dir)) == 2


def test_managed_agent_sharing_the_callback_logs_both_runs(runs_dir):
    with RunLogger(runs_dir=runs_dir, dataset="") as run_logger:
        cb = run_logger.callback("s")
        helper = adding_agent([cb], answer="42")
        team = ManagedAgent(helper, name="helper", description="Adds numbers.")
        manager = ToolCallingAgent(tools=[], managed_agents=[team], verbosity_level=0,
                                   event_callbacks=[cb], model=ScriptedModel([
                                       call("helper", task="add things"),
                                       call("final_answer", answer="team says 42")]))
        assert manager.run("ask the helper") == "team says 42"
    records = {r["task"].splitlines()[0][:14]: r for r in read_records(runs_dir)}
    outer = records["ask the helper"]
    assert outer["final_answer"] == "team says 42"
    assert len(json.loads(outer["steps"])) == 2
    inner = next(r for r in records.values() if r is not outer)
    assert inner["final_answer"] == "42" and len(json.loads(inner["steps"])) == 2


def test_image_and_audio_answers_are_saved_as_files(runs_dir):
    import numpy as np
    from PIL import Image

    image = Image.new("RGB", (8, 6), (255, 0, 0))
    audio = (16000, np.zeros(1600, dtype=np.float32))
    answers = iter([image, audio])
    with RunLogger(runs_dir=runs_dir, dataset="") as run_logger:
        for _ in range(2):
            value = next(answers)
            model = FunctionModel(lambda messages, **kw: call("final_answer", answer="x"))
            agent = ToolCallingAgent(tools=[], model=model, verbosity_level=0,
                                     event_callbacks=[run_logger.callback("s")])
            agent.tools["final_answer"].forward = lambda answer, v=value: v
            agent.run("draw or say something")
    img, snd = read_records(runs_dir)
    assert img["final_answer_type"] == "image" and img["final_answer"].startswith("files/")
    assert Image.open(runs_dir / img["final_answer"]).size == (8, 6)
    assert "[image" in json.loads(img["steps"])[0]["output"]
    assert snd["final_answer_type"] == "audio" and snd["final_answer"].endswith(".wav")
    assert (runs_dir / snd["final_answer"]).read_bytes()[:4] == b"RIFF"


def test_list_runs_load_run_and_limit(runs_dir):
    with RunLogger(runs_dir=runs_dir, dataset="") as run_logger:
        for i in range(4):
            adding_agent([run_logger.callback("s")], answer=str(i)).run(f"task {i}")
    rows = list_runs(runs_dir, limit=3)
    assert [r["task"] for r in rows] == ["task 3", "task 2", "task 1"]
    row = rows[0]
    assert {"time", "task", "status", "steps", "duration", "tokens", "run_id"} <= set(row)
    assert row["steps"] == 2 and row["tokens"] > 0 and row["status"] == "success"
    record = load_run(runs_dir, row["run_id"])
    assert record["final_answer"] == "3"
    assert load_run(runs_dir, "no-such-run") is None
    assert list_runs(runs_dir / "missing") == []


def test_chat_replay_is_accepted_by_a_gradio_chatbot(runs_dir):
    import gradio as gr
    from PIL import Image

    with RunLogger(runs_dir=runs_dir, dataset="") as run_logger:
        adding_agent([run_logger.callback("s")], answer="5").run("What is 2 + 3?")
        model = ScriptedModel([call("final_answer", answer="x")])
        agent = ToolCallingAgent(tools=[], model=model, verbosity_level=0,
                                 event_callbacks=[run_logger.callback("s")])
        agent.tools["final_answer"].forward = lambda answer: Image.new("RGB", (4, 4))
        agent.run("draw")
    text_run, image_run = (load_run(runs_dir, r["run_id"]) for r in
                           reversed(list_runs(runs_dir)))
    messages = run_to_chat_messages(text_run, runs_dir)
    assert messages[0] == {"role": "user", "content": "What is 2 + 3?"}
    assert messages[-1]["content"] == "**Final answer:** 5"
    titles = [m.get("metadata", {}).get("title") for m in messages]
    assert "Used tool add" in titles and "Observations" in titles
    image_messages = run_to_chat_messages(image_run, runs_dir)
    assert Path(image_messages[-1]["content"]["path"]).is_file()
    chatbot = gr.Chatbot()
    for msgs in (messages, image_messages):
        shown = chatbot.postprocess(msgs).model_dump()
        assert len(shown) == len(msgs)
    assert shown[-1]["content"][0]["type"] == "file"


def test_load_dataset_json_reads_every_kind_of_record(runs_dir, tmp_path):
    """Files holding only an error run (no steps) and files with steps share one schema."""
    datasets = pytest.importorskip("datasets")
    for i, model in enumerate([_BrokenModel(model_id="broken"), None, None]):
        with RunLogger(runs_dir=runs_dir, dataset="") as run_logger:  # one file each
            cb = run_logger.callback("s")
            agent = ToolCallingAgent(tools=[], model=model, verbosity_level=0,
                                     event_callbacks=[cb]) if model else \
                adding_agent([cb], answer=str(i), n_adds=i)
            list(agent.run(f"run {i}", stream=True))
    files = sorted(str(p) for p in runs_dir.glob("runs-*.jsonl"))
    assert len(files) == 3
    for order in (files, files[::-1], f"{runs_dir}/*.jsonl"):
        ds = datasets.load_dataset("json", data_files=order, split="train",
                                   cache_dir=str(tmp_path / "cache"))
        assert ds.num_rows == 3 and set(ds.column_names) == RECORD_KEYS
        assert ds.features["totals"]["duration_s"].dtype == "float64"
        assert sorted(ds["status"]) == ["error", "success", "success"]


def test_logging_failures_never_break_the_run(runs_dir, monkeypatch, caplog):
    run_logger = RunLogger(runs_dir=runs_dir, dataset="")

    def disk_full(record):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(run_logger._writer, "append", disk_full)
    assert adding_agent([run_logger.callback("s")], answer="fine").run("task") == "fine"
    assert "Run logging failed" in caplog.text
    monkeypatch.undo()
    run_logger.close()
    assert len(recover_incomplete(runs_dir)) == 1  # its journal was kept for recovery
    (record,) = read_records(runs_dir)
    assert record["status"] == "incomplete" and record["task"] == "task"


def test_switched_off_and_describe(runs_dir, monkeypatch):
    off = RunLogger(runs_dir=runs_dir, enabled=False)
    assert not off.enabled and off.describe() == "Run logging is off."
    adding_agent([off.callback("s")]).run("task")
    assert not runs_dir.exists()
    monkeypatch.setenv("RUNS_LOGGING", "off")
    monkeypatch.setenv("RUNS_DIR", str(runs_dir))
    assert not RunLogger.from_env().enabled
    monkeypatch.setenv("RUNS_LOGGING", "on")
    local = RunLogger.from_env()
    assert local.enabled and local.runs_dir == runs_dir.absolute()
    assert local.describe().startswith("Runs are logged locally")
    local.close()


def test_config_mistakes_are_raised_at_once(runs_dir, monkeypatch):
    with pytest.raises(ValueError, match="owner/name"):
        RunLogger(runs_dir=runs_dir, dataset="just-a-name")
    monkeypatch.setenv("RUNS_EVERY_MINUTES", "soon")
    with pytest.raises(ValueError, match="RUNS_EVERY_MINUTES"):
        RunLogger.from_env()


def test_dataset_without_any_token_falls_back_to_local(runs_dir, monkeypatch):
    monkeypatch.delenv("HF_TOKEN")
    run_logger = RunLogger(runs_dir=runs_dir, dataset="alice/runs")
    assert run_logger.scheduler is None and run_logger.describe().startswith("Runs are logged "
                                                                             "locally")
    run_logger.close()


def test_recover_incomplete_keeps_live_runs_of_this_process(runs_dir):
    run_logger = RunLogger(runs_dir=runs_dir, dataset="")
    stream = adding_agent([run_logger.callback("s")], n_adds=3).run("live", stream=True)
    for event in stream:
        if type(event).__name__ == "ActionStep":
            break
    assert recover_incomplete(runs_dir) == []  # its journal is locked by a live run
    assert list_runs(runs_dir)[0]["status"] == "running"
    for _ in stream:
        pass
    assert [r["status"] for r in list_runs(runs_dir)] == ["success"]
    run_logger.close()


def test_code_agent_steps_keep_their_code(runs_dir):
    pytest.importorskip("agent_core.executors.local",
                        reason="the local executor is not written yet")
    from agent_core import CodeAgent

    replies = ["Thought: compute\nCode:\n```py\nx = 6 * 7\nprint(x)\n```<end_code>",
               "Thought: answer\nCode:\n```py\nfinal_answer(x)\n```<end_code>"]
    with RunLogger(runs_dir=runs_dir, dataset="") as run_logger:
        agent = CodeAgent(tools=[], model=ScriptedModel(replies), verbosity_level=0,
                          event_callbacks=[run_logger.callback("s")])
        assert agent.run("6 times 7?") == 42
    (record,) = read_records(runs_dir)
    steps = json.loads(record["steps"])
    assert steps[0]["code"] == "x = 6 * 7\nprint(x)" and "42" in steps[0]["observations"]
    assert record["agent_type"] == "CodeAgent" and record["final_answer"] == "42"
    messages = run_to_chat_messages(record)
    assert any(m["content"].startswith("```python\nx = 6 * 7") for m in messages
               if isinstance(m["content"], str))
