"""OpenAIServerModel, LiteLLMModel and HfApiModel against a real OpenAI-compatible server.

The server is ``python -m llama_cpp.server`` on 127.0.0.1 serving the embedded GGUF;
each backend uses its real client library (openai, litellm, huggingface_hub).
"""

from __future__ import annotations

import pytest

from tests.models.conftest import SERVED_MODEL

pytestmark = pytest.mark.llm

ASK = [{"role": "system", "content": "You are a terse calculator."},
       {"role": "user", "content": "What is 17 * 3? Reply with only the number."}]
WEATHER = [{"role": "user", "content": "What is the weather in Paris? Use the tool."}]
BACKENDS = ["openai", "litellm", "hf"]


def make_model(kind: str, server, **kwargs):
    from agent_core.models import HfApiModel, LiteLLMModel, OpenAIServerModel

    kwargs = {"max_tokens": 16, "temperature": 0.0, **kwargs}
    if kind == "openai":
        return OpenAIServerModel(SERVED_MODEL, api_base=server.api_base, api_key="local-key",
                                 **kwargs)
    if kind == "litellm":
        return LiteLLMModel(f"openai/{SERVED_MODEL}", api_base=server.api_base,
                            api_key="local-key", **kwargs)
    return HfApiModel(SERVED_MODEL, base_url=server.api_base, token="local-key", **kwargs)


@pytest.mark.parametrize("kind", BACKENDS)
def test_generate(kind, llama_server):
    message = make_model(kind, llama_server).generate(ASK)
    assert "51" in message.content
    assert message.token_usage.input_tokens > 20  # reported by the server
    assert 1 <= message.token_usage.output_tokens <= 16


@pytest.mark.parametrize("kind", BACKENDS)
def test_generate_stream(kind, llama_server):
    model = make_model(kind, llama_server)
    deltas = list(model.generate_stream(ASK))
    assert "51" in "".join(d.content or "" for d in deltas)
    assert len(deltas) >= 2 and deltas[-1].token_usage is not None
    assert deltas[-1].token_usage.output_tokens >= 1
    assert model.last_token_usage == deltas[-1].token_usage


@pytest.mark.parametrize("kind", BACKENDS)
def test_stop_sequences_reach_the_server(kind, llama_server):
    count = [{"role": "user", "content": "Count from 1 to 9, separated by commas."}]
    message = make_model(kind, llama_server).generate(count, stop_sequences=["5"])
    assert message.content.startswith("1") and "5" not in message.content


@pytest.mark.parametrize("kind", BACKENDS)
def test_native_tools_are_passed(kind, llama_server, weather_tool):
    model = make_model(kind, llama_server, max_tokens=32)
    message = model.generate(WEATHER, tools=[weather_tool])
    # llama.cpp's server may answer with tool_calls or with the call as JSON text.
    assert message.content or message.tool_calls
    assert message.token_usage.input_tokens > 100  # the tool schema reached the prompt
    deltas = list(model.generate_stream(WEATHER, tools=[weather_tool]))
    final = deltas[-1]
    assert "".join(d.content or "" for d in deltas) or final.tool_calls
    assert final.token_usage is not None
