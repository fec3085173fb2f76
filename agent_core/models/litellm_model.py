"""Any provider LiteLLM speaks to (Anthropic, OpenAI, Ollama, Azure, OpenAI-compatible...).

Example:
    >>> from agent_core import LiteLLMModel
    >>> model = LiteLLMModel("ollama_chat/llama3.2", api_base="http://127.0.0.1:11434",
    ...                      num_ctx=8192)  # doctest: +SKIP
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator

from ..exceptions import MissingDependencyError
from .openai_server import OpenAIStyleModel, openai_errors, unavailable_error

if TYPE_CHECKING:  # pragma: no cover
    from ..tools.base import Tool

__all__ = ["LiteLLMModel"]


@contextmanager
def _litellm_errors(secrets: tuple) -> Iterator[None]:
    """The one place where LiteLLM failures become agent_core exceptions.

    LiteLLM's exceptions subclass openai's and map like them, except that it reports
    a refused connection as a 500: the cause chain tells.
    """
    with openai_errors(secrets):
        try:
            yield
        except Exception as err:
            if _connection_failure(err):
                raise unavailable_error(f"{type(err).__name__}: {err}", secrets) from None
            raise


def _connection_failure(err: BaseException) -> bool:
    import openai

    seen = 0
    cause: BaseException | None = err
    while cause is not None and seen < 10:
        if isinstance(cause, (openai.APIConnectionError, ConnectionError, TimeoutError)):
            return True
        cause, seen = cause.__cause__ or cause.__context__, seen + 1
    return False


class LiteLLMModel(OpenAIStyleModel):
    """A model reached through ``litellm.completion`` (``pip install litellm``).

    Args:
        model_id: LiteLLM's ``provider/model`` name, e.g. ``"anthropic/claude-3-5-sonnet-latest"``,
            ``"ollama_chat/llama3.2"``, or ``"openai/<name>"`` with ``api_base`` for
            any OpenAI-compatible server.
        api_base: the provider's base URL.
        api_key: the provider's key (default: LiteLLM reads the provider's env var).
        num_ctx: context window for Ollama models (Ollama's default, 2048, is too small
            for agents).
        **kwargs: default ``litellm.completion`` parameters (``temperature``,
            ``max_tokens``...) and :class:`Model` options (``max_retries``...).

    Raises:
        MissingDependencyError: ``litellm`` is not installed.

    LiteLLM's own retries are turned off; :class:`Model` retries 429/5xx with backoff.
    """

    def __init__(self, model_id: str = "anthropic/claude-3-5-sonnet-latest",
                 api_base: str | None = None, api_key: str | None = None,
                 num_ctx: int | None = None, **kwargs: Any):
        super().__init__(model_id=model_id, **kwargs)
        self.api_base = api_base
        self.api_key = api_key
        self.num_ctx = num_ctx
        self._import_litellm()

    @staticmethod
    def _import_litellm() -> Any:
        # Without it litellm fetches its model cost map from the network at import.
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        try:
            import litellm
        except ImportError:
            raise MissingDependencyError("LiteLLMModel", "litellm") from None
        # Errors are reported through our exceptions; stop its "Give Feedback" prints.
        litellm.suppress_debug_info = True
        return litellm

    def _request(self, messages: list[dict], stop_sequences: list[str] | None,
                 tools: list["Tool"] | None, kwargs: dict) -> dict:
        params: dict[str, Any] = {"num_retries": 0, "max_retries": 0,
                                  **super()._request(messages, stop_sequences, tools, kwargs)}
        if self.api_base:
            params["api_base"] = self.api_base
        if self.api_key:
            params["api_key"] = self.api_key
        if self.num_ctx and self.model_id.startswith("ollama"):
            params["num_ctx"] = self.num_ctx
        return params

    def _errors(self) -> Any:
        return _litellm_errors(self._secrets())

    def _complete(self, params: dict) -> Any:
        return self._import_litellm().completion(**params)
