"""The OpenAI chat format helpers shared by the OpenAI-style backends."""

from __future__ import annotations

import base64
from types import SimpleNamespace as NS

from agent_core.exceptions import ModelAPIError, ModelAuthError, ModelUnavailableError
from agent_core.models.openai_server import (OpenAIStreamAssembler, chat_message_from_openai,
                                             http_error, to_openai_messages, unavailable_error)


def test_text_parts_become_strings_and_images_data_urls():
    from PIL import Image

    messages = [{"role": "system", "content": [{"type": "text", "text": "be brief"}]},
                {"role": "user", "content": [{"type": "text", "text": "what is this?"},
                                             {"type": "image", "image": Image.new("RGB", (2, 2))}]},
                {"role": "tool-response", "content": "42"}]
    out = to_openai_messages(messages)
    assert out[0] == {"role": "system", "content": "be brief"}
    text, image = out[1]["content"]
    assert text == {"type": "text", "text": "what is this?"}
    url = image["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    assert base64.b64decode(url.split(",", 1)[1])[:4] == b"\x89PNG"
    assert out[2] == {"role": "user", "content": "42"}


def test_response_with_tool_calls_and_usage():
    response = NS(choices=[NS(message=NS(content=None, tool_calls=[
        NS(id="call_1", function=NS(name="get_weather", arguments='{"city": "Paris"}'))]))],
        usage=NS(prompt_tokens=12, completion_tokens=5))
    message = chat_message_from_openai(response, [{"role": "user", "content": "hi"}])
    assert message.tool_calls[0].name == "get_weather"
    assert message.tool_calls[0].arguments == {"city": "Paris"}
    assert message.tool_calls[0].id == "call_1"
    assert (message.token_usage.input_tokens, message.token_usage.output_tokens) == (12, 5)


def test_stream_assembles_tool_call_fragments_and_usage():
    def chunk(**delta):
        return {"choices": [{"delta": delta}]}

    chunks = [chunk(content="Let me check. "),
              chunk(tool_calls=[{"index": 0, "id": "c1", "function": {"name": "get_",
                                                                      "arguments": '{"ci'}}]),
              chunk(tool_calls=[{"index": 0, "function": {"name": "weather",
                                                          "arguments": 'ty": "Oslo"}'}}]),
              chunk(tool_calls=[{"index": 1, "id": "c2", "function": {"name": "now",
                                                                      "arguments": ""}}]),
              {"choices": [], "usage": {"prompt_tokens": 30, "completion_tokens": 9}}]
    assembler = OpenAIStreamAssembler([{"role": "user", "content": "hi"}])
    deltas = [d for d in map(assembler.feed, chunks) if d is not None]
    assert [d.content for d in deltas] == ["Let me check. "]
    final = assembler.finish()
    assert [(c.id, c.name, c.arguments) for c in final.tool_calls] == [
        ("c1", "get_weather", {"city": "Oslo"}), ("c2", "now", {})]
    assert (final.token_usage.input_tokens, final.token_usage.output_tokens) == (30, 9)


def test_stream_without_usage_estimates_it():
    assembler = OpenAIStreamAssembler([{"role": "user", "content": "x" * 400}])
    for piece in ["a", "b", "c"]:
        assembler.feed({"choices": [{"delta": {"content": piece}}]})
    usage = assembler.finish().token_usage
    assert usage.output_tokens == 3 and 90 < usage.input_tokens < 110


def test_http_errors_are_typed_and_redacted():
    key = "custom-key-abcdef123456"
    auth = http_error(403, f"forbidden for {key}", {"detail": key}, secrets=(key,))
    assert isinstance(auth, ModelAuthError) and not auth.retryable
    assert key not in str(auth) and key not in auth.body
    assert http_error(429, "slow down").retryable and http_error(502, "bad gw").retryable
    bad = http_error(404, "no such model")
    assert type(bad) is ModelAPIError and not bad.retryable and bad.status == 404
    down = unavailable_error(f"refused http://u:{key}@h", secrets=(key,))
    assert isinstance(down, ModelUnavailableError) and down.retryable and key not in str(down)
    assert isinstance(down, OSError)
