"""Hugging Face Inference Providers and endpoints, through ``huggingface_hub.InferenceClient``.

Example:
    >>> from agent_core import HfApiModel
    >>> model = HfApiModel("Qwen/Qwen2.5-Coder-32B-Instruct", provider="together")  # doctest: +SKIP
    >>> local = HfApiModel("qwen", base_url="http://127.0.0.1:8080/v1")  # any OpenAI-style server
"""

from __future__ import annotations

import inspect
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator

from ..exceptions import MissingDependencyError
from .base import tool_to_openai_schema
from .openai_server import (OpenAIStyleModel, http_error, to_openai_messages, unavailable_error)

if TYPE_CHECKING:  # pragma: no cover
    from ..tools.base import Tool

__all__ = ["HfApiModel", "InferenceClientModel"]


@contextmanager
def _hf_errors(secrets: tuple) -> Iterator[None]:
    """The one place where InferenceClient failures become agent_core exceptions."""
    import httpx
    from huggingface_hub.errors import HfHubHTTPError, InferenceTimeoutError

    try:
        yield
    except (InferenceTimeoutError, httpx.TransportError, TimeoutError) as err:
        raise unavailable_error(f"{type(err).__name__}: {err}", secrets) from None
    except HfHubHTTPError as err:
        response = err.response
        status = getattr(response, "status_code", None)
        try:
            body = response.text if response is not None else None
        except Exception:  # a streamed response whose body was not read
            body = None
        raise http_error(status, f"{type(err).__name__}: {err}", body, secrets) from None


class HfApiModel(OpenAIStyleModel):
    """A chat model served by Hugging Face Inference Providers or any TGI/OpenAI-style URL.

    Args:
        model_id: a Hub model id (routed to ``provider``), or the model name a
            ``base_url`` server knows.
        token: a Hugging Face token (or the provider's key); default ``$HF_TOKEN`` or
            the locally saved token.
        provider: e.g. ``"together"``, ``"sambanova"``, ``"hf-inference"``; default auto.
        base_url: send requests to this URL instead (``.../v1``); ``provider`` is unused.
        timeout: seconds to wait for an answer.
        client_kwargs: more ``InferenceClient`` arguments (``headers``, ``bill_to``...).
        **kwargs: default ``chat_completion`` parameters and :class:`Model` options.

    Raises:
        MissingDependencyError: ``huggingface_hub`` is not installed.
    """

    def __init__(self, model_id: str = "Qwen/Qwen2.5-Coder-32B-Instruct",
                 token: str | None = None, provider: str | None = None,
                 base_url: str | None = None, timeout: float | None = 120,
                 client_kwargs: dict | None = None, **kwargs: Any):
        super().__init__(model_id=model_id, **kwargs)
        self.token = token
        self.provider = provider
        self.base_url = base_url
        self.timeout = timeout
        self.client_kwargs = client_kwargs or {}
        self.client = self.create_client()
        self._chat_params = set(inspect.signature(self.client.chat_completion).parameters)

    def create_client(self) -> Any:
        """The ``huggingface_hub.InferenceClient``."""
        try:
            from huggingface_hub import InferenceClient
        except ImportError:
            raise MissingDependencyError(type(self).__name__, "huggingface_hub") from None
        return InferenceClient(provider=None if self.base_url else self.provider,
                               token=self.token, timeout=self.timeout, base_url=self.base_url,
                               **self.client_kwargs)

    def _secrets(self) -> tuple:
        return (self.token,) if self.token else ()

    def _errors(self) -> Any:
        return _hf_errors(self._secrets())

    def _complete(self, params: dict) -> Any:
        return self.client.chat_completion(**params)

    def _request(self, messages: list[dict], stop_sequences: list[str] | None,
                 tools: list["Tool"] | None, kwargs: dict) -> dict:
        params: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in {**self.kwargs, **kwargs}.items():
            (params if key in self._chat_params else extra)[key] = value
        if extra:
            params["extra_body"] = {**extra, **params.get("extra_body", {})}
        params.update(model=self.model_id, messages=to_openai_messages(messages))
        if stop_sequences:
            params["stop"] = list(stop_sequences)
        if tools:
            params["tools"] = [tool_to_openai_schema(t) for t in tools]
        return params


InferenceClientModel = HfApiModel
"""The newer name of :class:`HfApiModel`."""
