"""The guided tour's last snippet, as written: load a tool from the Hub with trust,
build a CodeAgent with it and launch GradioUI.

"The Hub" is the project's Hub-protocol server on 127.0.0.1 (the real one cannot be
reached from here), reached by the real huggingface_hub client through HF_ENDPOINT;
the tool "m-ric/text-to-image" is pushed there first. The snippet runs in a
subprocess (it blocks in launch()); the test waits until the app answers over HTTP.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.hub_server import HubServer

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "hf_mricTestToken0123456789"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _last_snippet() -> str:
    text = (ROOT / "tests" / "data" / "guided_tour.md").read_text()
    blocks = re.findall(r"```(?:python|py)\n(.*?)```", text, re.S)
    return blocks[-1].replace("smolagents", "agent_core")


def test_load_tool_and_gradio_ui_snippet(tmp_path):
    from huggingface_hub import HfApi

    from hub_tools import push_tool
    from tests.core._tour_tools import TextToImageTool

    snippet = _last_snippet()
    assert 'load_tool("m-ric/text-to-image", trust_remote_code=True)' in snippet
    with HubServer(users={TOKEN: "m-ric"}) as hub:
        api = HfApi(endpoint=hub.url, token=TOKEN)
        push_tool(TextToImageTool(), "m-ric/text-to-image", api=api)
        port = _free_port()
        script = tmp_path / "tour.py"
        # model_id comes from an earlier snippet of the tour
        script.write_text('model_id = "Qwen/Qwen2.5-Coder-32B-Instruct"\n' + snippet)
        env = {**os.environ, **hub.env(), "HF_TOKEN": TOKEN, "GRADIO_SERVER_PORT": str(port),
               "GRADIO_SERVER_NAME": "127.0.0.1", "AGENT_TOOLS_LOCK": str(tmp_path / "lock.json"),
               "HF_HOME": str(tmp_path / "hf-home"), "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            body = _wait_for_app(port, proc)
            assert "gradio" in body.lower()
        finally:
            proc.kill()
            output = proc.communicate(timeout=30)[0]
        lock = (tmp_path / "lock.json").read_text()
        assert "m-ric/text-to-image" in lock, output


def _wait_for_app(port: int, proc: subprocess.Popen, timeout: float = 90) -> str:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the snippet exited early:\n{proc.stdout.read()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as resp:
                return resp.read().decode()
        except OSError:
            time.sleep(0.5)
    pytest.fail("the Gradio app did not answer in time")
