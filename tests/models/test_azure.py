"""AzureOpenAIServerModel: the real ``openai.AzureOpenAI`` client against a local server."""

from __future__ import annotations

from .conftest import completion_body


def test_azure_url_shape_headers_and_env_vars(chat_server, monkeypatch):
    from agent_core.models import AzureOpenAIServerModel

    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", chat_server.base_url)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-env-key-123456")
    monkeypatch.setenv("OPENAI_API_VERSION", "2024-10-21")
    chat_server.script = [(200, completion_body("hello from azure", 9, 4))]
    model = AzureOpenAIServerModel(model_id="gpt-4o-mini", temperature=0.1)
    message = model.generate([{"role": "user", "content": "hi"}], stop_sequences=["STOP"])
    assert message.content == "hello from azure"
    assert (message.token_usage.input_tokens, message.token_usage.output_tokens) == (9, 4)
    request = chat_server.requests[0]
    assert request["path"] == "/openai/deployments/gpt-4o-mini/chat/completions"
    assert request["query"] == {"api-version": ["2024-10-21"]}
    assert request["headers"].get("api-key") == "azure-env-key-123456"
    assert request["json"]["stop"] == ["STOP"] and request["json"]["temperature"] == 0.1


def test_azure_arguments_beat_env_vars_and_stream(chat_server, monkeypatch):
    from agent_core.models import AzureOpenAIServerModel

    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "http://127.0.0.1:9")  # not used
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "env-key-not-used")
    model = AzureOpenAIServerModel("my-deployment", azure_endpoint=chat_server.base_url,
                                   api_key="arg-key-123456", api_version="2025-01-01-preview")
    chat_server.script = [(200, "streamed")]
    deltas = list(model.generate_stream([{"role": "user", "content": "hi"}]))
    assert "".join(d.content or "" for d in deltas) == "streamed"
    assert deltas[-1].token_usage.output_tokens == len("streamed")
    request = chat_server.requests[0]
    assert request["path"] == "/openai/deployments/my-deployment/chat/completions"
    assert request["query"] == {"api-version": ["2025-01-01-preview"]}
    assert request["headers"].get("api-key") == "arg-key-123456"
    assert request["json"]["stream"] is True


def test_azure_without_endpoint_says_what_to_set(monkeypatch):
    import pytest

    from agent_core.models import AzureOpenAIServerModel

    monkeypatch.delenv("AZURE_OPENAI_ENDPOINT", raising=False)
    with pytest.raises(ValueError, match="AZURE_OPENAI_ENDPOINT"):
        AzureOpenAIServerModel("gpt-4o-mini", api_key="k", api_version="2024-10-21")
