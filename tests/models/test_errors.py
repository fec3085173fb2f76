"""Failures of model APIs become typed errors; 429/5xx are retried with backoff.

The server is a scripted OpenAI-style HTTP server on 127.0.0.1 (a real server does
not fail on demand); each backend uses its real client library.
"""

from __future__ import annotations

import pytest

from agent_core.exceptions import ModelAPIError, ModelAuthError, ModelUnavailableError
from tests._llama_server import free_port

from .conftest import completion_body

KEY = "sk-test-0123456789abcdefSECRET"
ASK = [{"role": "user", "content": "hi"}]
BACKENDS = ["openai", "litellm", "hf", "azure"]


def make_model(kind: str, base_url: str, **kwargs):
    from agent_core.models import (AzureOpenAIServerModel, HfApiModel, LiteLLMModel,
                                   OpenAIServerModel)

    kwargs = {"max_retries": 3, "retry_base_delay": 0.01, **kwargs}
    if kind == "openai":
        return OpenAIServerModel("m", api_base=f"{base_url}/v1", api_key=KEY, **kwargs)
    if kind == "litellm":
        return LiteLLMModel("openai/m", api_base=f"{base_url}/v1", api_key=KEY, **kwargs)
    if kind == "hf":
        return HfApiModel("m", base_url=f"{base_url}/v1", token=KEY, **kwargs)
    return AzureOpenAIServerModel("m", azure_endpoint=base_url, api_key=KEY,
                                  api_version="2024-10-21", **kwargs)


@pytest.mark.parametrize("kind", BACKENDS)
def test_429_then_503_is_retried_until_it_succeeds(kind, chat_server):
    chat_server.script = [(429, None), (503, None), (200, completion_body("done", 11, 3))]
    message = make_model(kind, chat_server.base_url).generate(ASK)
    assert message.content == "done"
    assert (message.token_usage.input_tokens, message.token_usage.output_tokens) == (11, 3)
    assert len(chat_server.requests) == 3


@pytest.mark.parametrize("kind", BACKENDS)
def test_stream_is_retried_too(kind, chat_server):
    chat_server.script = [(503, None), (200, "hello")]
    deltas = list(make_model(kind, chat_server.base_url).generate_stream(ASK))
    assert "".join(d.content or "" for d in deltas) == "hello"
    assert deltas[-1].token_usage.input_tokens == 7
    assert len(chat_server.requests) == 2


@pytest.mark.parametrize("kind", BACKENDS)
def test_persistent_500_gives_up_after_max_retries(kind, chat_server):
    chat_server.default = (500, {"error": {"message": "boom"}})
    with pytest.raises(ModelAPIError) as info:
        make_model(kind, chat_server.base_url, max_retries=2).generate(ASK)
    assert info.value.status == 500 and info.value.retryable
    assert not isinstance(info.value, ModelAuthError)
    assert len(chat_server.requests) == 3  # the first try and 2 retries


@pytest.mark.parametrize("kind", BACKENDS)
def test_401_is_an_auth_error_at_once_without_the_key(kind, chat_server):
    chat_server.default = (401, {"error": {"message": "Incorrect API key provided: {key}"}})
    with pytest.raises(ModelAuthError) as info:
        make_model(kind, chat_server.base_url).generate(ASK)
    assert len(chat_server.requests) == 1  # never retried
    assert info.value.status == 401 and not info.value.retryable
    assert KEY in str(chat_server.requests[0]["headers"])  # the key was sent...
    assert KEY not in str(info.value) and KEY not in (info.value.body or "")  # ...not leaked
    assert "[REDACTED]" in (info.value.body or "") + str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


@pytest.mark.parametrize("kind", BACKENDS)
def test_400_is_not_retried(kind, chat_server):
    chat_server.default = (400, {"error": {"message": "bad request"}})
    with pytest.raises(ModelAPIError) as info:
        make_model(kind, chat_server.base_url).generate(ASK)
    assert info.value.status == 400 and not info.value.retryable
    assert len(chat_server.requests) == 1


@pytest.mark.parametrize("kind", BACKENDS)
def test_connection_refused_is_unavailable(kind):
    model = make_model(kind, f"http://127.0.0.1:{free_port()}", max_retries=1)
    with pytest.raises(ModelUnavailableError) as info:
        model.generate(ASK)
    assert info.value.retryable and KEY not in str(info.value)


def test_the_openai_client_does_not_retry_behind_our_back(chat_server):
    chat_server.script = [(429, None)]
    with pytest.raises(ModelAPIError):
        make_model("openai", chat_server.base_url, max_retries=0).generate(ASK)
    assert len(chat_server.requests) == 1
