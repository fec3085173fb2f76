"""Fixtures of the app tests: a scripted model server, the real app, a real browser.

- ``model_server``: :class:`tests._scripted_openai_server.ScriptedOpenAIServer` with one
  script per task keyword (:data:`SCRIPTS`), so concurrent visitors follow their own.
- ``app`` / ``sandbox_app``: ``create_app`` on that server, launched on a free port of
  127.0.0.1 (local executor for speed; the sandbox one for the sandbox tests).
- ``browser``: Debian's Chromium driven by Playwright (installed with apt if missing).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests._scripted_openai_server import Reply, ScriptedOpenAIServer, by_task, code_reply

from ._tools import BarChartTool, ToneTool

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

SCRIPTS: dict[str, list[Any]] = {
    "Fibonacci": [
        Reply(code_reply("a, b = 0, 1\nfor _ in range(30):\n    a, b = b, a + b\nprint(a)",
                         "I will compute the 30th Fibonacci number with a loop."),
              chunk_delay_s=0.04),
        Reply(code_reply("final_answer(a)", "The loop printed the number: that is the answer."),
              delay_s=1.5),
    ],
    "bar chart": [
        code_reply("squares = [n * n for n in range(1, 9)]\nprint(squares)",
                   "I will compute the first 8 squares, then draw them."),
        code_reply("chart = bar_chart(values=squares)\nfinal_answer(chart)",
                   "Now I draw the chart with the bar_chart tool and return it."),
    ],
    "play a tone": [code_reply("sound = make_tone(seconds=0.5)\nfinal_answer(sound)")],
    "describe the upload": [code_reply('final_answer("I received your files")')],
    "count slowly": [Reply("Thought: I will count. " + " ".join(str(i) for i in range(400)),
                           chunk_size=4, chunk_delay_s=0.15)],
    "remember the number": [code_reply("secret_number = 4321\nprint(secret_number)"),
                            code_reply('final_answer("remembered")')],
    "recall the number": [code_reply("final_answer(secret_number)"),
                          code_reply('final_answer("I do not know the number")')],
    "isolation-store": [code_reply('isolation_secret = "ALPHA-7731"\nfinal_answer("stored")')],
    "isolation-peek": [code_reply("final_answer(isolation_secret)"),
                       code_reply('final_answer("nothing to see here")')],
    "wrong key": [Reply(status=401, error="Incorrect API key provided")],
    # One long C call: no bytecode boundary to stop at, so Stop must kill the worker.
    "loop forever": [code_reply("total = sum(range(10 ** 13))"),
                     code_reply('final_answer("after the stop")')],
    "after the stop": [code_reply('final_answer("still alive")')],
}

_UPLOAD_PATH = re.compile(r"^- (\S+\.txt) \(", re.MULTILINE)


def _responder(scripted: Any) -> Any:
    """SCRIPTS, plus a task whose code needs the upload path (known only at run time)."""
    def respond(request: dict) -> Any:
        from tests._scripted_openai_server import last_task

        task, turns = last_task(request.get("messages") or [])
        if "read the uploaded file" in task:
            match = _UPLOAD_PATH.search(task)
            path = match.group(1) if match else "missing.txt"
            return [code_reply(f"text = open({path!r}).read()\nprint(text)"),
                    code_reply("final_answer(text.strip())")][min(turns, 1)]
        return scripted(request)

    return respond


def pytest_collection_modifyitems(items):
    # Gradio's queue uses pandas options that pandas 3 deprecates: not ours to fix.
    for item in items:
        if "tests/app/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.filterwarnings("ignore::DeprecationWarning:gradio"))
            item.add_marker(pytest.mark.filterwarnings("ignore:.*(copy keyword|no_silent"
                                                       "_downcasting).*"))


@pytest.fixture(scope="session")
def model_server() -> Iterator[ScriptedOpenAIServer]:
    with ScriptedOpenAIServer(responder=_responder(by_task(SCRIPTS))) as server:
        yield server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RunningApp:
    url: str
    demo: Any
    config: Any

    @property
    def sessions(self) -> Any:
        return self.demo.agent_sessions


def _config(model_server: ScriptedOpenAIServer, tmp: Path, executor: str) -> Any:
    from agent_core.ui.app_factory import AppConfig
    from agent_core.ui.uploads import UploadPolicy

    return AppConfig(model=f"openai:scripted@{model_server.base_url}", executor=executor,
                     api_key="test-key", runs_dir=str(tmp / "runs"), runs_dataset=None,
                     data_dir=str(tmp / "sessions"),
                     tool_instances=[BarChartTool(), ToneTool()],
                     upload_policy=UploadPolicy(max_file_mb=0.05, max_files=3),
                     examples=["What is the 30th Fibonacci number?",
                               "Draw a bar chart of the first 8 squares."],
                     stream_interval_s=0.05, max_steps=4)


def _launch(config: Any) -> Iterator[RunningApp]:
    from agent_core.ui.app_factory import create_app

    demo = create_app(config)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True,
                quiet=True, **demo.launch_kwargs)
    try:
        yield RunningApp(f"http://127.0.0.1:{port}/", demo, config)
    finally:
        demo.close()
        demo.agent_sessions.close_all()
        if demo.run_logger is not None:
            demo.run_logger.close()


@pytest.fixture(scope="session")
def app(model_server, tmp_path_factory) -> Iterator[RunningApp]:
    yield from _launch(_config(model_server, tmp_path_factory.mktemp("app"), "local"))


@pytest.fixture(scope="session")
def sandbox_app(model_server, tmp_path_factory) -> Iterator[RunningApp]:
    yield from _launch(_config(model_server, tmp_path_factory.mktemp("sandbox-app"), "sandbox"))


def _ensure_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        pytest.skip("Chromium is missing: apt-get install -y chromium")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, env=env)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    _ensure_chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def new_page(browser) -> Iterator[Any]:
    """``new_page(url)`` opens the app in a fresh browser context (a new visitor)."""
    contexts = []

    def open_page(url: str) -> Any:
        context = browser.new_context(viewport={"width": 1400, "height": 1100})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.goto(url)
        page.wait_for_selector("#task-input textarea")
        return page

    yield open_page
    for context in contexts:
        context.close()
