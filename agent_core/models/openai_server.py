"""OpenAI-compatible servers (OpenAI, vLLM, llama.cpp server, TGI...) and Azure OpenAI.

Also home of the OpenAI chat format helpers that the LiteLLM and Hugging Face
backends share: message conversion, response parsing, stream assembly, and the
mapping of HTTP failures to :mod:`agent_core.exceptions`.

Example:
    >>> from agent_core import OpenAIServerModel
    >>> model = OpenAIServerModel("qwen", api_base="http://127.0.0.1:8000/v1", api_key="x")
    >>> model.generate([{"role": "user", "content": "Hi"}]).content  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import io
import os
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator

from .._secrets import redact
from ..exceptions import (MissingDependencyError, ModelAPIError, ModelAuthError,
                          ModelUnavailableError)
from .base import (ChatMessage, ChatMessageStreamDelta, Model, TokenUsage, ToolCall,
                   parse_arguments, tool_to_openai_schema)

if TYPE_CHECKING:  # pragma: no cover
    from ..tools.base import Tool

__all__ = ["OpenAIServerModel", "AzureOpenAIServerModel"]

_ROLE_ALIASES = {"tool-call": "assistant", "tool-response": "user", "tool": "user"}


# --- the OpenAI chat format, shared by the OpenAI-style backends ---------------


def _image_to_data_url(image: Any) -> str:
    """A PIL image (or raw PNG/JPEG bytes, or an URL string) as an ``image_url`` URL."""
    if isinstance(image, str):
        return image
    if isinstance(image, (bytes, bytearray)):
        data, mime = bytes(image), "image/png" if image[:4] == b"\x89PNG" else "image/jpeg"
    else:
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        data, mime = buf.getvalue(), "image/png"
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def to_openai_messages(messages: list[dict]) -> list[dict]:
    """Messages in the OpenAI chat format.

    Text-only contents become plain strings (some chat templates cannot render
    parts); images become ``image_url`` parts with data URLs.
    """
    out = []
    for m in messages:
        role = _ROLE_ALIASES.get(m["role"], m["role"])
        content = m.get("content")
        if isinstance(content, list):
            if any(p.get("type") == "image" for p in content):
                content = [_openai_part(p) for p in content]
            else:
                content = "\n".join(p.get("text", "") for p in content if p.get("type") == "text")
        out.append({"role": role, "content": content if content is not None else ""})
    return out


def _openai_part(part: dict) -> dict:
    if part.get("type") == "image":
        return {"type": "image_url", "image_url": {"url": _image_to_data_url(part["image"])}}
    return {"type": "text", "text": part.get("text", "")}


def _field(obj: Any, name: str, default: Any = None) -> Any:
    """``obj.name`` or ``obj[name]``: responses are objects or dicts depending on the client."""
    if obj is None:
        return default
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _usage(usage: Any) -> TokenUsage | None:
    if usage is None:
        return None
    return TokenUsage(int(_field(usage, "prompt_tokens", 0) or 0),
                      int(_field(usage, "completion_tokens", 0) or 0))


def chat_message_from_openai(response: Any, messages: list[dict]) -> ChatMessage:
    """A :class:`ChatMessage` from an OpenAI-style chat completion response."""
    message = _field(_field(response, "choices")[0], "message")
    calls = []
    for tc in _field(message, "tool_calls") or []:
        fn = _field(tc, "function")
        calls.append(ToolCall(name=_field(fn, "name"),
                              arguments=parse_arguments(_field(fn, "arguments") or {}),
                              **({"id": _field(tc, "id")} if _field(tc, "id") else {})))
    content = _field(message, "content")
    usage = _usage(_field(response, "usage")) or _estimate_usage(messages, content or "", 1)
    return ChatMessage(role="assistant", content=content, tool_calls=calls or None,
                       token_usage=usage, raw=response)


def _estimate_usage(messages: list[dict], text: str, chunks: int) -> TokenUsage:
    """A rough count (4 characters a token) for servers that report no usage."""
    chars = sum(len(m["content"]) if isinstance(m.get("content"), str) else
                sum(len(p.get("text", "")) for p in m.get("content") or [])
                for m in messages)
    return TokenUsage(chars // 4 + 1, max(chunks, len(text) // 4))


class OpenAIStreamAssembler:
    """Turns OpenAI-style stream chunks into deltas, assembling tool-call fragments."""

    def __init__(self, messages: list[dict]):
        self.messages = messages
        self.usage: TokenUsage | None = None
        self.text: list[str] = []
        self._calls: dict[int, dict] = {}

    def feed(self, chunk: Any) -> ChatMessageStreamDelta | None:
        """Read one chunk; return a delta when it carries text."""
        usage = _usage(_field(chunk, "usage"))
        if usage is not None and usage.total_tokens:
            self.usage = usage
        choices = _field(chunk, "choices") or []
        if not choices:
            return None
        delta = _field(choices[0], "delta")
        for tc in _field(delta, "tool_calls") or []:
            slot = self._calls.setdefault(_field(tc, "index", 0) or 0,
                                          {"id": None, "name": "", "arguments": ""})
            slot["id"] = _field(tc, "id") or slot["id"]
            fn = _field(tc, "function")
            slot["name"] += _field(fn, "name") or ""
            slot["arguments"] += _field(fn, "arguments") or ""
        text = _field(delta, "content")
        if text:
            self.text.append(text)
            return ChatMessageStreamDelta(content=text)
        return None

    def finish(self) -> ChatMessageStreamDelta:
        """The last delta: assembled tool calls and token usage."""
        calls = [ToolCall(name=c["name"], arguments=parse_arguments(c["arguments"] or "{}"),
                          **({"id": c["id"]} if c["id"] else {}))
                 for _, c in sorted(self._calls.items())]
        usage = self.usage or _estimate_usage(self.messages, "".join(self.text), len(self.text))
        return ChatMessageStreamDelta(tool_calls=calls or None, token_usage=usage)


def http_error(status: int | None, message: str, body: Any = None,
               secrets: tuple = ()) -> ModelAPIError:
    """The typed error for an HTTP failure of a model API, secrets redacted.

    401/403 give :class:`ModelAuthError` (never retried); 408, 429 and 5xx give a
    retryable :class:`ModelAPIError`; other statuses a non-retryable one.
    """
    body_text = None if body is None else redact(str(body), extra=secrets)[:1000]
    text = redact(f"model API error {status}: {message}", extra=secrets)[:600]
    if status in (401, 403):
        return ModelAuthError(text + " (check the API key or token)", status=status,
                              body=body_text, retryable=False)
    retryable = status is not None and (status in (408, 409, 429) or status >= 500)
    return ModelAPIError(text, status=status, body=body_text, retryable=retryable)


def unavailable_error(message: str, secrets: tuple = ()) -> ModelUnavailableError:
    """The retryable error for a model API that could not be reached."""
    return ModelUnavailableError(redact(f"model API unreachable: {message}", extra=secrets)[:600],
                                 retryable=True)


@contextmanager
def openai_errors(secrets: tuple) -> Iterator[None]:
    """The one place where ``openai`` exceptions become agent_core exceptions.

    LiteLLM's exceptions subclass openai's, so LiteLLMModel maps through here too.
    Errors are raised ``from None``: the originals may quote the key.
    """
    import openai

    try:
        yield
    except openai.APIConnectionError as err:  # includes APITimeoutError
        raise unavailable_error(f"{type(err).__name__}: {err}", secrets) from None
    except openai.APIError as err:
        status = getattr(err, "status_code", None)
        body = _field(err, "body")
        if body is None and getattr(err, "response", None) is not None:
            body = getattr(err.response, "text", None)
        raise http_error(status, f"{type(err).__name__}: {err}", body, secrets) from None


# --- the models ----------------------------------------------------------------


class OpenAIStyleModel(Model):
    """Base of the backends that speak the OpenAI chat-completions format.

    Subclasses implement :meth:`_complete` (one API call with the given parameters,
    streaming when ``params["stream"]`` is set) and :meth:`_errors` (a context manager
    turning the library's failures into ours); retries, streaming assembly and token
    usage are shared.
    """

    def _secrets(self) -> tuple:
        key = getattr(self, "api_key", None)
        return (key,) if key else ()

    def _errors(self) -> Any:
        return openai_errors(self._secrets())

    def _complete(self, params: dict) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement _complete()")

    def _request(self, messages: list[dict], stop_sequences: list[str] | None,
                 tools: list["Tool"] | None, kwargs: dict) -> dict:
        params = {**self.kwargs, **kwargs, "model": self.model_id,
                  "messages": to_openai_messages(messages)}
        if stop_sequences:
            params["stop"] = list(stop_sequences)
        if tools:
            params["tools"] = [tool_to_openai_schema(t) for t in tools]
        return params

    def generate(self, messages: list[dict], stop_sequences: list[str] | None = None,
                 tools: list["Tool"] | None = None, **kwargs: Any) -> ChatMessage:
        """Generate a whole reply. See :meth:`agent_core.models.base.Model.generate`."""
        params = self._request(messages, stop_sequences, tools, kwargs)

        def call() -> Any:
            with self._errors():
                return self._complete(params)

        message = chat_message_from_openai(self._retry(call), messages)
        self.last_token_usage = message.token_usage
        return message

    def generate_stream(self, messages: list[dict], stop_sequences: list[str] | None = None,
                        tools: list["Tool"] | None = None,
                        **kwargs: Any) -> Iterator[ChatMessageStreamDelta]:
        """Yield the reply as it streams; the last delta has tool calls and usage."""
        params = self._request(messages, stop_sequences, tools, kwargs)
        params.setdefault("stream_options", {"include_usage": True})
        params["stream"] = True

        def call() -> Any:
            with self._errors():
                return self._complete(params)

        stream = self._retry(call)
        assembler = OpenAIStreamAssembler(messages)
        with self._errors():
            for chunk in stream:
                delta = assembler.feed(chunk)
                if delta is not None:
                    yield delta
        final = assembler.finish()
        self.last_token_usage = final.token_usage
        yield final


class OpenAIServerModel(OpenAIStyleModel):
    """Any OpenAI-compatible chat completions API, through the ``openai`` client.

    Args:
        model_id: the model name the server knows.
        api_base: the server's base URL (``.../v1``); default OpenAI's.
        api_key: default ``$OPENAI_API_KEY``; a placeholder for keyless local servers.
        organization: OpenAI organization.
        project: OpenAI project.
        client_kwargs: more ``openai.OpenAI`` arguments (``timeout``, ``default_headers``).
        **kwargs: default generation parameters (``temperature``, ``max_tokens``...)
            and :class:`Model` options (``max_retries``, ``retry_base_delay``).

    Raises:
        MissingDependencyError: ``openai`` is not installed.

    Example:
        >>> model = OpenAIServerModel("gpt-4o-mini", api_key="sk-...")  # doctest: +SKIP
    """

    def __init__(self, model_id: str, api_base: str | None = None, api_key: str | None = None,
                 organization: str | None = None, project: str | None = None,
                 client_kwargs: dict | None = None, **kwargs: Any):
        super().__init__(model_id=model_id, **kwargs)
        self.api_base = api_base
        self.api_key = api_key or os.environ.get("OPENAI_API_KEY") or (
            "not-needed" if api_base else None)
        self.client_kwargs = {"organization": organization, "project": project,
                              **(client_kwargs or {})}
        self.client = self.create_client()

    def create_client(self) -> Any:
        """The ``openai.OpenAI`` client (its own retries off: :meth:`_retry` does them)."""
        openai = _import_openai(type(self).__name__)
        return openai.OpenAI(base_url=self.api_base, api_key=self.api_key,
                             **{"max_retries": 0, **self.client_kwargs})

    def _complete(self, params: dict) -> Any:
        return self.client.chat.completions.create(**params)


class AzureOpenAIServerModel(OpenAIServerModel):
    """A deployment on Azure OpenAI, through ``openai.AzureOpenAI``.

    Args:
        model_id: the deployment name.
        azure_endpoint: default ``$AZURE_OPENAI_ENDPOINT``.
        api_key: default ``$AZURE_OPENAI_API_KEY``.
        api_version: default ``$OPENAI_API_VERSION``.
        client_kwargs: more ``openai.AzureOpenAI`` arguments.
        **kwargs: as for :class:`OpenAIServerModel`.

    Example:
        >>> model = AzureOpenAIServerModel("my-gpt-4o", api_version="2024-10-21")  # doctest: +SKIP
    """

    def __init__(self, model_id: str, azure_endpoint: str | None = None,
                 api_key: str | None = None, api_version: str | None = None,
                 client_kwargs: dict | None = None, **kwargs: Any):
        self.azure_endpoint = azure_endpoint or os.environ.get("AZURE_OPENAI_ENDPOINT")
        self.api_version = api_version or os.environ.get("OPENAI_API_VERSION")
        if not self.azure_endpoint:
            raise ValueError("AzureOpenAIServerModel needs azure_endpoint= or "
                             "$AZURE_OPENAI_ENDPOINT")
        super().__init__(model_id=model_id,
                         api_key=api_key or os.environ.get("AZURE_OPENAI_API_KEY"),
                         client_kwargs=client_kwargs, **kwargs)

    def create_client(self) -> Any:
        """The ``openai.AzureOpenAI`` client (its own retries off)."""
        openai = _import_openai(type(self).__name__)
        kwargs = {k: v for k, v in self.client_kwargs.items()
                  if k not in ("organization", "project") or v is not None}
        return openai.AzureOpenAI(azure_endpoint=self.azure_endpoint, api_key=self.api_key,
                                  api_version=self.api_version, **{"max_retries": 0, **kwargs})


def _import_openai(feature: str) -> Any:
    try:
        import openai
    except ImportError:
        raise MissingDependencyError(feature, "openai") from None
    return openai
