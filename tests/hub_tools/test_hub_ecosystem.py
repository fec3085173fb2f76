"""The wider ecosystem: real smolagents loads our Spaces, the pushed app.py serves the
tool through Gradio, and running Gradio apps become tools (``Tool.from_space``)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import wave

import pytest

from agent_core import Tool
from agent_core.agent_types import AgentAudio, AgentImage
from hub_tools import SpaceToolError, ToolNotSelfContainedError, push_tool, tool_from_space
from tests.hub_tools import sample_tools
from tests.hub_tools._helpers import free_port, run_python, subprocess_env, wait_for_http


def _near(pixel, expected, tolerance: int = 12) -> bool:
    """Gradio serves images as lossy webp: compare colours loosely."""
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected))


def test_real_smolagents_loads_tools_we_pushed(hub, hf_api, tmp_path):
    push_tool(sample_tools.add, "alice/add-tool", api=hf_api)
    push_tool(sample_tools.Greeter(), "alice/greeter", api=hf_api)
    code = textwrap.dedent("""
        import json, smolagents
        from smolagents import load_tool
        add = load_tool("alice/add-tool", trust_remote_code=True)
        greeter = load_tool("alice/greeter", trust_remote_code=True)
        print(json.dumps({"add": add(a=2, b=3), "greet": greeter(who="Sam"),
                          "smol": isinstance(add, smolagents.Tool) and
                                  isinstance(greeter, smolagents.Tool),
                          "prompt": add.to_code_prompt()}))
    """)
    proc = run_python(code, subprocess_env(hub, tmp_path / "home"), tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["add"] == 50 and out["greet"] == "Hello, Sam! (10)" and out["smol"]
    assert "def add(a: integer, b: integer, c: integer)" in out["prompt"]


@pytest.fixture
def pushed_app(hub, hf_api, tmp_path):
    """The Space of ``make_image``, downloaded and started with ``python app.py``."""
    push_tool(sample_tools.make_image, "alice/image-tool", api=hf_api)
    folder = tmp_path / "space"
    hf_api.snapshot_download("alice/image-tool", repo_type="space", local_dir=str(folder))
    port = free_port()
    env = subprocess_env(hub, tmp_path / "home")
    env.update(GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port))
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=folder, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for_http(url + "config", proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_pushed_app_serves_the_tool(pushed_app, hub, hf_api, tmp_path):
    from gradio_client import Client
    from PIL import Image

    client = Client(pushed_app, verbose=False, analytics_enabled=False,
                    download_files=str(tmp_path / "downloads"))
    try:
        path = client.predict("red", 8, api_name="/make_image")
    finally:
        client.close()
    image = Image.open(path).convert("RGB")
    assert image.size == (8, 8) and _near(image.getpixel((0, 0)), (255, 0, 0))

    # The same Space, reached by id through the Hub (its host is the running app).
    hub.set_space_host("alice/image-tool", pushed_app)
    tool = tool_from_space("alice/image-tool", "image-maker", "Makes images", api=hf_api)
    assert tool.name == "image_maker" and tool.output_type == "image"
    assert tool.inputs["size"]["type"] == "integer"
    result = tool(color="blue", size=5)
    assert isinstance(result, AgentImage)
    assert _near(result.to_raw().convert("RGB").getpixel((1, 1)), (0, 0, 255))

    # gradio_client itself, given the Space id, through HF_ENDPOINT.
    code = textwrap.dedent("""
        from gradio_client import Client
        from PIL import Image
        c = Client("alice/image-tool", verbose=False, analytics_enabled=False)
        print(Image.open(c.predict("lime", 3, api_name="/make_image")).size)
    """)
    proc = run_python(code, subprocess_env(hub, tmp_path / "home2"), tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == "(3, 3)"
    assert any(r.path == "/api/spaces/alice/image-tool" for r in hub.requests)


def _tone(path) -> str:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x10" * 800)
    return str(path)


@pytest.fixture
def local_gradio_app(tmp_path):
    """An image-in, audio-out Gradio app launched in this process on 127.0.0.1."""
    import gradio as gr

    def describe(picture, label: str):
        return _tone(tmp_path / f"{label}-{picture.size[0]}.wav")

    demo = gr.Interface(describe, [gr.Image(type="pil", label="picture"),
                                   gr.Textbox(label="label")],
                        gr.Audio(type="filepath", label="sound"), api_name="describe")
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True,
                quiet=True, show_error=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


def test_from_space_wraps_a_running_gradio_app(local_gradio_app, hub, hf_api):
    from PIL import Image

    tool = Tool.from_space(local_gradio_app, name="image-to-sound",
                           description="Turns a picture into a sound")
    assert isinstance(tool, Tool) and tool.name == "image_to_sound"
    assert tool.inputs["picture"]["type"] == "image" and tool.output_type == "audio"
    sound = tool(picture=Image.new("RGB", (6, 6), "white"), label="beep")
    assert isinstance(sound, AgentAudio)
    assert sound.to_string().endswith(".wav")
    with pytest.raises(ToolNotSelfContainedError, match="from_space"):
        push_tool(tool, "alice/cannot", api=hf_api)
    with pytest.raises(SpaceToolError, match="/nope"):
        tool_from_space(local_gradio_app, "x", "y", api_name="/nope")
    hf_api.create_repo("alice/sleeping", repo_type="space", space_sdk="gradio")
    with pytest.raises(SpaceToolError, match="not running"):
        tool_from_space("alice/sleeping", "x", "y", api=hf_api)
