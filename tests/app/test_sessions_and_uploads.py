"""Per-visitor sessions (agent copies, runs, stop, release) and upload checks."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from agent_core import CodeAgent, FunctionModel, ScriptedModel
from agent_core.events import RunEnd
from agent_core.ui.session import SessionManager, clone_agent
from agent_core.ui.uploads import UploadPolicy, accept_uploads, describe_uploads
from tests._scripted_openai_server import code_reply


def collect(run) -> list:
    return [event for batch in run.batches(interval_s=0.01) for event in batch]


# --- uploads ----------------------------------------------------------------------


def test_uploads_are_checked_and_saved_in_the_visitor_folder(tmp_path):
    from PIL import Image

    src = tmp_path / "in"
    src.mkdir()
    Image.new("RGB", (8, 8), "red").save(src / "photo.png")
    (src / "fake.png").write_text("not an image")
    (src / "tool.exe").write_bytes(b"MZ")
    (src / "big.csv").write_text("x" * 3000)
    (src / "my data.csv").write_text("a,b\n1,2\n")
    dest = tmp_path / "session" / "uploads"
    policy = UploadPolicy(max_file_mb=0.002, max_files=5)
    batch = accept_uploads([src / n for n in ("photo.png", "fake.png", "tool.exe", "big.csv",
                                              "my data.csv")], dest, policy)
    assert [p.name for p in batch.paths] == ["photo.png", "my_data.csv"]
    assert all(p.parent == dest for p in batch.paths)
    assert len(batch.images) == 1 and batch.images[0].size == (8, 8)
    errors = "\n".join(batch.errors)
    assert "fake.png" in errors and "not a readable image" in errors
    assert ".exe files are not allowed" in errors
    assert "big.csv" in errors and "0.002 MB limit" in errors
    text = describe_uploads(batch.paths)
    assert str(dest / "photo.png") in text and "image, also attached" in text


def test_upload_count_and_session_total_limits(tmp_path):
    files = []
    for i in range(3):
        path = tmp_path / f"f{i}.txt"
        path.write_text("y" * 600)
        files.append(path)
    dest = tmp_path / "up"
    batch = accept_uploads(files, dest, UploadPolicy(max_files=2))
    assert len(batch.paths) == 2 and "at most 2 files" in batch.errors[0]
    total = UploadPolicy(max_total_mb=1500 / 1048576)  # 1,500 bytes per conversation
    batch = accept_uploads(files[:1], dest, total)
    assert "Start a new conversation" in batch.errors[0]
    # Original names are kept (sanitised) and never overwrite each other.
    again = accept_uploads(files[:1], dest, UploadPolicy(), names=["../../x y.txt"])
    assert again.paths[0].name == "x_y.txt" and again.paths[0].parent == dest


# --- agent copies -----------------------------------------------------------------


def test_clone_agent_shares_model_and_tools_but_not_state():
    model = ScriptedModel([code_reply("secret = 7\nfinal_answer(secret)")], loop=True)
    agent = CodeAgent([], model, verbosity_level=0, additional_authorized_imports=["math"])
    a, b = clone_agent(agent), clone_agent(agent)
    assert a.model is b.model is model and a.tools["final_answer"] is agent.tools["final_answer"]
    assert a.memory is not b.memory and a._interrupt is not b._interrupt
    assert a.run("store") == 7
    assert len(a.memory.steps) > 0 and b.memory.steps == [] and agent.memory.steps == []
    assert b._executor is None and a._executor is not None
    a.interrupt()
    assert a.interrupted and not b.interrupted and not agent.interrupted


def slow_model(delay: float) -> FunctionModel:
    def reply(messages, **kwargs):
        time.sleep(delay)  # a model call the agent cannot leave early
        return code_reply("final_answer('late')")

    return FunctionModel(reply)


def make_manager(tmp_path: Path, model) -> SessionManager:
    return SessionManager(lambda sid, folder: CodeAgent([], model, verbosity_level=0),
                          tmp_path / "sessions", idle_timeout_s=0)


def test_sessions_are_separate_and_follow_ups_keep_memory(tmp_path):
    model = ScriptedModel([code_reply("n = 5\nfinal_answer(n)"),
                           code_reply("final_answer(n * 2)")])
    manager = make_manager(tmp_path, model)
    alice, bob = manager.get("alice"), manager.get("bob")
    assert alice is manager.get("alice") and alice is not bob
    assert alice.agent is not bob.agent and alice.folder != bob.folder
    end = collect(alice.start_run("first"))[-1]
    assert isinstance(end, RunEnd) and end.output == 5
    end = collect(alice.start_run("again"))[-1]  # reset=False: `n` is still there
    assert end.output == 10
    assert bob.fresh and bob.agent.memory.steps == []
    alice.new_conversation()
    assert alice.fresh and alice.agent.memory.steps == [] and alice.chat == []
    manager.close_all()


def test_stop_ends_the_stream_even_when_the_agent_is_stuck(tmp_path):
    manager = make_manager(tmp_path, slow_model(3.0))
    session = manager.get("visitor")
    run = session.start_run("wait")
    threading.Timer(0.3, session.stop).start()
    started = time.monotonic()
    events = collect(run)
    assert time.monotonic() - started < 2.0
    assert isinstance(events[-1], RunEnd) and events[-1].status == "interrupted"
    assert session.busy  # the thread is still in the model call...
    with pytest.raises(RuntimeError, match="still stopping"):
        session.start_run("too soon", wait_s=0.1)
    assert session.wait_idle(timeout_s=5)  # ...and ends on its own
    manager.close_all()


def test_release_and_idle_reaping_free_the_folder_and_executor(tmp_path):
    model = ScriptedModel([code_reply("final_answer(1)")], loop=True)
    manager = make_manager(tmp_path, model)
    session = manager.get("gone")
    collect(session.start_run("x"))
    folder, executor = session.folder, session.agent._executor
    closed = []
    executor.close = lambda: closed.append(True)
    assert manager.release("gone") and not manager.release("gone")
    deadline = time.monotonic() + 5
    while folder.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not folder.exists() and closed == [True]
    idle = manager.get("idle")
    idle.last_used -= 10
    manager.idle_timeout_s = 5
    assert manager.reap_idle() == 1 and manager.peek("idle") is None
    manager.close_all()


def test_run_timeout_interrupts(tmp_path):
    manager = make_manager(tmp_path, slow_model(0.3))
    model_calls = []
    session = manager.get("t")
    session.agent.max_steps = 50
    session.agent.model.fn = lambda messages, **kw: (model_calls.append(1), time.sleep(0.2),
                                                     code_reply("print(1)"))[-1]
    events = collect(session.start_run("forever", timeout_s=0.5))
    assert events[-1].status == "interrupted"
    assert len(model_calls) < 10
    manager.close_all()


def test_new_conversation_clears_uploads_and_files_the_code_wrote(tmp_path):
    def factory(sid, folder):
        return CodeAgent([], ScriptedModel([]), verbosity_level=0, executor_type="sandbox",
                         executor_kwargs={"scratch_dir": str(folder / "scratch")})

    manager = SessionManager(factory, tmp_path / "sessions", idle_timeout_s=0)
    session = manager.get("v")
    assert session.upload_dir == session.folder / "scratch" / "uploads"
    session.upload_dir.mkdir(parents=True)
    (session.upload_dir / "a.csv").write_text("x")
    (session.folder / "scratch" / "plot.png").write_bytes(b"png")
    assert session.folder / "scratch" in session.allowed_dirs()
    session.new_conversation()
    assert list((session.folder / "scratch").iterdir()) == []
    manager.close_all()
    assert not session.folder.exists()
