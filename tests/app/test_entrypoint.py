"""``python app.py``, ``GradioUI(agent).launch()``, and the Dockerfile kept in sync."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


from .conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


def _dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def test_dockerfile_matches_requirements_entrypoint_port_and_user():
    text = _dockerfile()
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.M)
    # Same requirements file as the README's install command, installed before the code.
    assert "COPY --chown=user requirements.txt ." in text
    assert re.search(r"pip install [^\n]*-r requirements\.txt", text)
    assert (ROOT / "requirements.txt").is_file()
    readme = (ROOT / "README.md").read_text()
    assert "pip install -r requirements.txt" in readme and "python app.py" in readme
    # Same entry point and port as app.py.
    assert re.search(r'^CMD \["python", "app\.py"\]', text, re.M)
    assert re.search(r"^EXPOSE 7860$", text, re.M) and "GRADIO_SERVER_PORT=7860" in text
    app = (ROOT / "app.py").read_text()
    assert "GRADIO_SERVER_PORT" in app and "7860" in app and "GRADIO_SERVER_NAME" in app
    # A non-root user with uid 1000 runs everything after the system packages.
    assert re.search(r"useradd [^\n]*--uid 1000 user", text)
    user_line = text.index("\nUSER user")
    assert user_line < text.index("RUN pip install") and user_line < text.index("\nCMD")
    # gradio pinned in requirements.txt is the one the app is built for.
    import gradio

    assert f"gradio=={gradio.__version__}" in (ROOT / "requirements.txt").read_text()


def _wait_http(url: str, proc: subprocess.Popen, timeout: float = 60) -> bytes:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"app.py exited: {proc.stdout.read()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read()
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer in {timeout} s")


def test_app_py_launches_from_the_environment(model_server, tmp_path):
    port = free_port()
    env = {**os.environ, "AGENT_MODEL": f"openai:scripted@{model_server.base_url}",
           "AGENT_EXECUTOR": "local", "GRADIO_SERVER_NAME": "127.0.0.1",
           "GRADIO_SERVER_PORT": str(port), "RUNS_DIR": str(tmp_path / "runs"),
           "AGENT_DATA_DIR": str(tmp_path / "sessions"), "GRADIO_ANALYTICS_ENABLED": "False"}
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        config = _wait_http(f"http://127.0.0.1:{port}/config", proc)
        assert b"task-input" in config and b"agent-chat" in config
        from gradio_client import Client

        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        chat = client.predict({"text": "What is the 30th Fibonacci number?", "files": []},
                              api_name="/chat")
        texts = [part.get("text", "") for m in chat for part in m["content"]]
        assert any("832040" in t for t in texts if t.startswith("**Final answer"))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_gradio_ui_launch_serves_each_client_its_own_copy(tmp_path):
    from gradio_client import Client

    from agent_core import CodeAgent, GradioUI, ScriptedModel
    from tests._scripted_openai_server import code_reply

    model = ScriptedModel([code_reply("counter = 1\nfinal_answer(counter)"),
                           code_reply("final_answer(counter)")], loop=True)
    agent = CodeAgent([], model, verbosity_level=0, stream_outputs=True)
    ui = GradioUI(agent, file_upload_folder=tmp_path)
    port = free_port()
    ui.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        first = Client(f"http://127.0.0.1:{port}/", verbose=False)
        second = Client(f"http://127.0.0.1:{port}/", verbose=False)
        chat1 = first.predict({"text": "set", "files": []}, api_name="/chat")
        chat2 = second.predict({"text": "read", "files": []}, api_name="/chat")
        text2 = str(chat2)
        assert "Final answer:** 1" in str(chat1)
        assert "counter" in text2 and "is not defined" in text2  # not the first one's
        assert agent.memory.steps == []  # the original agent is never used
        assert len(ui.manager) == 2
    finally:
        ui.manager.close_all()
        import gradio as gr

        gr.close_all()
