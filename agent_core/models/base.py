"""The model interface every backend implements, and the message types it speaks.

Messages given to a model are plain dicts: ``{"role": "system"|"user"|"assistant",
"content": str | list[part]}`` where a part is ``{"type": "text", "text": ...}`` or
``{"type": "image", "image": PIL.Image}``. Backends convert images as they need.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator, TypeVar

from ..exceptions import ModelAPIError, ModelAuthError

if TYPE_CHECKING:  # pragma: no cover
    from ..tools.base import Tool

__all__ = [
    "ChatMessage",
    "ChatMessageStreamDelta",
    "Model",
    "TokenUsage",
    "ToolCall",
    "call_with_retries",
    "tool_to_openai_schema",
    "messages_to_text_only",
]

T = TypeVar("T")


@dataclass
class TokenUsage:
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass
class ToolCall:
    """A tool call the model asked for. ``arguments`` is a dict, or a str if not JSON."""

    name: str
    arguments: Any
    id: str = field(default_factory=lambda: f"call_{uuid.uuid4().hex[:12]}")

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "arguments": self.arguments}


@dataclass
class ChatMessage:
    """A model reply. ``raw`` keeps the backend's own response object (never logged)."""

    role: str = "assistant"
    content: str | None = None
    tool_calls: list[ToolCall] | None = None
    token_usage: TokenUsage | None = None
    raw: Any = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict:
        return {
            "role": self.role,
            "content": self.content,
            "tool_calls": [tc.to_dict() for tc in self.tool_calls] if self.tool_calls else None,
            "token_usage": asdict(self.token_usage) if self.token_usage else None,
        }


@dataclass
class ChatMessageStreamDelta:
    """One piece of a streamed reply: some text, tool-call fragments, or final usage.

    ``tool_calls`` holds complete :class:`ToolCall` objects once a backend has
    assembled them (backends assemble fragments themselves).
    """

    content: str | None = None
    tool_calls: list[ToolCall] | None = None
    token_usage: TokenUsage | None = None


class Model(ABC):
    """A chat model. Subclasses implement :meth:`generate`; streaming is optional.

    Args:
        model_id: the backend's model name.
        max_retries: transient failures (429, 5xx, connection) are retried this often.
        retry_base_delay: first backoff delay in seconds, doubled on each retry.
        **kwargs: default generation parameters (temperature, max_tokens...).
    """

    def __init__(self, model_id: str | None = None, max_retries: int = 3,
                 retry_base_delay: float = 1.0, **kwargs: Any):
        self.model_id = model_id
        self.max_retries = max_retries
        self.retry_base_delay = retry_base_delay
        self.kwargs = kwargs
        self.last_token_usage: TokenUsage | None = None

    @abstractmethod
    def generate(self, messages: list[dict], stop_sequences: list[str] | None = None,
                 tools: list["Tool"] | None = None, **kwargs: Any) -> ChatMessage:
        """Return the model's reply to ``messages``.

        Args:
            messages: chat messages as plain dicts.
            stop_sequences: strings at which generation stops.
            tools: tools offered for native tool calling (backends that cannot call
                tools natively may ignore them; the agent parses JSON from content).
        """

    def generate_stream(self, messages: list[dict], stop_sequences: list[str] | None = None,
                        tools: list["Tool"] | None = None,
                        **kwargs: Any) -> Iterator[ChatMessageStreamDelta]:
        """Yield the reply piece by piece. Not every backend can."""
        raise NotImplementedError(f"{type(self).__name__} does not support streaming")

    @property
    def supports_streaming(self) -> bool:
        return type(self).generate_stream is not Model.generate_stream

    def __call__(self, messages: list[dict], **kwargs: Any) -> ChatMessage:
        return self.generate(messages, **kwargs)

    def describe(self) -> str:
        """A short label for consoles and UIs, e.g. ``LlamaCppModel - qwen2.5-coder``."""
        return f"{type(self).__name__} - {self.model_id}"

    def _retry(self, fn: Callable[[], T]) -> T:
        return call_with_retries(fn, self.max_retries, self.retry_base_delay)


def call_with_retries(fn: Callable[[], T], max_retries: int = 3, base_delay: float = 1.0,
                      sleep: Callable[[float], None] = time.sleep) -> T:
    """Call ``fn``; retry :class:`ModelAPIError` with ``retryable=True`` with backoff.

    Auth errors and other non-retryable errors are raised at once. After the last
    retry the last error is raised.
    """
    attempt = 0
    while True:
        try:
            return fn()
        except ModelAuthError:
            raise
        except ModelAPIError as err:
            if not err.retryable or attempt >= max_retries:
                raise
            delay = base_delay * (2 ** attempt) * (0.75 + random.random() / 2)
            attempt += 1
            sleep(delay)


def tool_to_openai_schema(tool: "Tool") -> dict:
    """The OpenAI ``tools=[...]`` entry for a tool."""
    return {"type": "function", "function": tool.to_json_schema()}


def messages_to_text_only(messages: list[dict]) -> list[dict]:
    """Flatten list-of-parts contents to plain text (for text-only backends)."""
    out = []
    for m in messages:
        content = m.get("content")
        if isinstance(content, list):
            texts = [p.get("text", "") for p in content if p.get("type") == "text"]
            content = "\n".join(texts)
        out.append({"role": m["role"], "content": content or ""})
    return out


def parse_arguments(arguments: Any) -> Any:
    """Tool-call arguments as a dict when they are JSON text, else unchanged."""
    if isinstance(arguments, str):
        try:
            return json.loads(arguments)
        except json.JSONDecodeError:
            return arguments
    return arguments
