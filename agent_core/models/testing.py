"""Models for testing your own agents: no network, deterministic.

Example:
    >>> from agent_core import CodeAgent, ScriptedModel
    >>> model = ScriptedModel(["```python\\nfinal_answer(6 * 7)\\n```"])
    >>> CodeAgent(tools=[], model=model, verbosity_level=0).run("6 times 7?")
    42
"""

from __future__ import annotations

import re
import threading
from typing import Any, Callable, Iterator, Sequence

from .base import ChatMessage, ChatMessageStreamDelta, Model, TokenUsage

__all__ = ["ScriptedModel", "FunctionModel"]


def _count_tokens(text: str) -> int:
    return max(1, len(re.findall(r"\w+|[^\w\s]", text))) if text else 0


def _input_tokens(messages: list[dict]) -> int:
    total = 0
    for m in messages:
        content = m.get("content")
        if isinstance(content, list):
            content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
        total += _count_tokens(content or "")
    return total


class ScriptedModel(Model):
    """Replays the given replies in order, one per call.

    Args:
        replies: each a str (assistant content) or a :class:`ChatMessage`.
        chunk_size: characters per streamed delta in :meth:`generate_stream`.
        loop: start over when the replies run out, instead of raising.

    Every call's messages are kept in ``calls`` so tests can inspect what the model saw.
    """

    def __init__(self, replies: Sequence[str | ChatMessage], chunk_size: int = 8,
                 loop: bool = False, model_id: str = "scripted"):
        super().__init__(model_id=model_id, max_retries=0)
        self.replies = list(replies)
        self.chunk_size = chunk_size
        self.loop = loop
        self.calls: list[list[dict]] = []
        self._index = 0
        self._lock = threading.Lock()

    def _next(self, messages: list[dict]) -> ChatMessage:
        with self._lock:
            self.calls.append(messages)
            if self._index >= len(self.replies):
                if not self.loop or not self.replies:
                    raise IndexError(f"ScriptedModel ran out of replies after {self._index} calls")
                self._index = 0
            reply = self.replies[self._index]
            self._index += 1
        if isinstance(reply, ChatMessage):
            msg = ChatMessage(role=reply.role, content=reply.content, tool_calls=reply.tool_calls,
                              token_usage=reply.token_usage)
        else:
            msg = ChatMessage(content=reply)
        if msg.token_usage is None:
            msg.token_usage = TokenUsage(_input_tokens(messages), _count_tokens(msg.content or ""))
        self.last_token_usage = msg.token_usage
        return msg

    def generate(self, messages, stop_sequences=None, tools=None, **kwargs) -> ChatMessage:
        msg = self._next(messages)
        if stop_sequences and msg.content:
            for stop in stop_sequences:
                cut = msg.content.find(stop)
                if cut >= 0:
                    msg.content = msg.content[:cut]
        return msg

    def generate_stream(self, messages, stop_sequences=None, tools=None,
                        **kwargs) -> Iterator[ChatMessageStreamDelta]:
        msg = self.generate(messages, stop_sequences=stop_sequences, tools=tools)
        text = msg.content or ""
        for i in range(0, len(text), self.chunk_size):
            yield ChatMessageStreamDelta(content=text[i:i + self.chunk_size])
        yield ChatMessageStreamDelta(tool_calls=msg.tool_calls, token_usage=msg.token_usage)


class FunctionModel(Model):
    """A model backed by a Python function ``fn(messages, **kw) -> str | ChatMessage``."""

    def __init__(self, fn: Callable[..., Any], model_id: str = "function"):
        super().__init__(model_id=model_id, max_retries=0)
        self.fn = fn

    def generate(self, messages, stop_sequences=None, tools=None, **kwargs) -> ChatMessage:
        out = self.fn(messages, stop_sequences=stop_sequences, tools=tools)
        msg = out if isinstance(out, ChatMessage) else ChatMessage(content=str(out))
        if msg.token_usage is None:
            msg.token_usage = TokenUsage(_input_tokens(messages), _count_tokens(msg.content or ""))
        return msg
