"""Run events -> chat messages: pure functions, no Gradio, no server."""

from __future__ import annotations

from pathlib import Path

from agent_core import CodeAgent, ScriptedModel, ToolCallingAgent
from agent_core.agent_types import AgentAudio, AgentImage
from agent_core.events import FinalAnswer, RunEnd, StepStart, TokenDelta
from agent_core.models.base import ChatMessage, ToolCall
from agent_core.ui.messages import (ChatRenderer, clean_thought, error_message, finish_pending,
                                    media_message, user_messages)
from tests._scripted_openai_server import code_reply


def render(agent, task: str, **kwargs) -> list[dict]:
    renderer = ChatRenderer()
    for event in agent.run(task, stream=True, **kwargs):
        renderer.feed(event)
    return renderer.messages


def titled(messages: list[dict], title: str) -> dict:
    return next(m for m in messages if (m.get("metadata") or {}).get("title") == title)


def test_code_agent_run_becomes_thoughts_step_boxes_and_a_final_answer():
    model = ScriptedModel([code_reply("x = 6 * 7\nprint(x)", "Multiply."),
                           code_reply("final_answer(x)", "Done.")])
    agent = CodeAgent([], model, stream_outputs=True, verbosity_level=0)
    messages = render(agent, "6 times 7?")
    contents = [m["content"] for m in messages]
    assert contents[0] == "Thought: Multiply."  # the thought, without its code block
    step1 = titled(messages, "Step 1")
    assert step1["content"].startswith("```python\nx = 6 * 7\nprint(x)\n```")
    assert "**Execution logs:**" in step1["content"] and "42" in step1["content"]
    assert step1["metadata"]["status"] == "done" and step1["metadata"]["duration"] >= 0
    assert "tokens" in step1["metadata"]["log"]
    assert contents.index(step1["content"]) < contents.index("**Final answer:** 42")
    assert not any((m.get("metadata") or {}).get("status") == "pending" for m in messages)


def test_tokens_stream_into_the_thought_before_the_step_is_done():
    renderer = ChatRenderer()
    renderer.feed(StepStart(step_number=1))
    box = renderer.messages[-1]
    assert box["metadata"] == {"title": "Step 1", "status": "pending", "id": "run-action-1"}
    renderer.feed(TokenDelta(step_number=1, text="Thought: let me"))
    renderer.feed(TokenDelta(step_number=1, text=" think"))
    assert renderer.messages[0]["content"] == "Thought: let me think"
    assert renderer.messages[1] is box  # the thought comes before the step box
    renderer.feed(RunEnd(run_id="r", status="interrupted"))
    assert box["metadata"]["status"] == "done"  # no spinner left behind
    assert "Stopped" in renderer.messages[-1]["content"]


def test_a_step_announced_before_the_run_is_not_shown_twice():
    renderer = ChatRenderer()
    renderer.feed(StepStart(step_number=1))  # the UI shows it before the thread starts
    assert renderer.feed(StepStart(step_number=1)) is False
    renderer.feed(TokenDelta(step_number=1, text="Thought: hi"))
    titles = [(m.get("metadata") or {}).get("title") for m in renderer.messages]
    assert titles.count("Step 1") == 1


def test_errors_and_failed_code_are_readable():
    model = ScriptedModel([code_reply("1 / 0"), code_reply("final_answer('ok')")])
    agent = CodeAgent([], model, stream_outputs=True, verbosity_level=0)
    messages = render(agent, "divide")
    step1 = titled(messages, "Step 1")
    assert "**Error:**" in step1["content"] and "ZeroDivisionError" in step1["content"]
    message = error_message("ModelAuthError: model API error 401: bad key")
    assert "API key" in message["content"] and "Traceback" not in message["content"]
    assert "could not be reached" in error_message("ModelUnavailableError: x")["content"]


def test_tool_calling_agent_steps_show_the_calls():
    call = ChatMessage(content="", tool_calls=[ToolCall("final_answer", {"answer": "hi"})])
    agent = ToolCallingAgent([], ScriptedModel([call]), verbosity_level=0)
    messages = render(agent, "say hi")
    step1 = titled(messages, "Step 1")
    assert "Tool call `final_answer`" in step1["content"] and '"answer": "hi"' in step1["content"]
    assert messages[-2]["content"] == "**Final answer:** hi"


def test_max_steps_answer_is_marked():
    model = ScriptedModel([code_reply("print(1)"), "My best guess is 3."])
    agent = CodeAgent([], model, stream_outputs=True, verbosity_level=0, max_steps=1)
    messages = render(agent, "guess")
    text = "\n".join(str(m["content"]) for m in messages)
    assert "**Final answer:** My best guess is 3." in text
    assert "step limit" in text
    assert text.count("My best guess is 3.") == 1  # the streamed copy was replaced


def test_media_answers_become_file_messages(tmp_path):
    from PIL import Image

    image = media_message(AgentImage(Image.new("RGB", (4, 4))))
    assert image["content"]["mime_type"] == "image/png"
    assert Path(image["content"]["path"]).is_file()
    import numpy as np

    audio = media_message(AgentAudio(np.zeros(800, dtype="float32"), samplerate=8000))
    assert audio["content"]["mime_type"] in ("audio/wav", "audio/x-wav")
    report = tmp_path / "report.csv"
    report.write_text("a,b\n")
    assert media_message(str(report), [tmp_path])["content"]["path"] == str(report)
    # Code in a sandbox names files relative to its scratch folder.
    assert media_message("report.csv", [tmp_path])["content"]["path"] == str(report)
    assert media_message("../report.csv", [tmp_path / "sub"]) is None
    # A path outside the visitor's folders stays text: never offer /etc/passwd.
    assert media_message("/etc/passwd", [tmp_path]) is None
    assert media_message(str(report), []) is None
    assert media_message("just text", [tmp_path]) is None


def test_final_image_renders_once_after_the_label():
    from PIL import Image

    renderer = ChatRenderer()
    renderer.feed(FinalAnswer(output=AgentImage(Image.new("RGB", (4, 4)))))
    assert renderer.messages[0]["content"] == "**Final answer:**"
    assert renderer.messages[1]["content"]["mime_type"] == "image/png"


def test_small_helpers():
    assert clean_thought("Thought: go.\nCode:\n```py\nx=1\n```<end_code>") == "Thought: go."
    assert clean_thought('{"name": "final_answer"}') == ""
    msgs = user_messages("look", ["/tmp/a.png"])
    assert msgs[0]["content"]["path"] == "/tmp/a.png" and msgs[1]["content"] == "look"
    pending = [{"role": "assistant", "content": "x", "metadata": {"status": "pending"}}]
    finish_pending(pending)
    assert pending[0]["metadata"]["status"] == "done"
