"""Local models run by ``transformers`` (``pip install transformers torch``).

The model is loaded on first use (or by :meth:`TransformersModel.load`), so building
one is cheap. A GGUF file works too: transformers de-quantizes it on load, which
takes a while, so the converted weights are saved once in a cache folder and
loaded from there afterwards.

Example:
    >>> from agent_core import TransformersModel
    >>> from agent_core.models import embedded_gguf_path
    >>> model = TransformersModel(gguf_file=embedded_gguf_path("0.5b"), max_new_tokens=32)
    >>> model.generate([{"role": "user", "content": "2+2?"}]).content  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from ..exceptions import MissingDependencyError
from ._embedded import agent_core_cache_dir
from .base import (ChatMessage, ChatMessageStreamDelta, Model, TokenUsage,
                   messages_to_text_only, tool_to_openai_schema)

if TYPE_CHECKING:  # pragma: no cover
    from ..tools.base import Tool

__all__ = ["TransformersModel"]

_GEN_KEYS = {"temperature", "top_p", "top_k", "repetition_penalty", "do_sample",
             "max_new_tokens", "min_p", "num_beams"}


def _import_transformers() -> Any:
    try:
        import torch  # noqa: F401
        import transformers
    except ImportError:
        raise MissingDependencyError("TransformersModel", "transformers torch") from None
    return transformers


class TransformersModel(Model):
    """A causal language model run in-process by transformers.

    Args:
        model_id: a Hub id or a local folder. With ``gguf_file``, the folder holding it
            (default: the GGUF's own folder).
        device_map: e.g. ``"auto"``, ``"cpu"``; default CPU (or one GPU if present).
        torch_dtype: e.g. ``"bfloat16"``; default float32 on CPU, ``"auto"`` on GPU.
        max_new_tokens: longest reply in tokens.
        gguf_file: a GGUF file (a name inside ``model_id`` or a path).
        converted_cache_dir: where de-quantized GGUF weights are kept; default
            ``<cache>/transformers`` (``$AGENT_CORE_CACHE`` or ``~/.cache/agent_core``).
        trust_remote_code: let transformers run the model repo's code.
        model_kwargs: more ``from_pretrained`` arguments.
        **kwargs: default generation parameters (``temperature``, ``top_p``,
            ``repetition_penalty``...) and :class:`Model` options.

    Raises:
        MissingDependencyError: transformers or torch is missing (at load time).
    """

    def __init__(self, model_id: str | None = None, device_map: Any = None,
                 torch_dtype: Any = None, max_new_tokens: int = 2048,
                 gguf_file: str | os.PathLike | None = None,
                 converted_cache_dir: str | os.PathLike | None = None,
                 trust_remote_code: bool = False, model_kwargs: dict | None = None,
                 **kwargs: Any):
        if gguf_file is not None and model_id is None:
            model_id = str(Path(gguf_file).parent)
        if model_id is None:
            raise ValueError("TransformersModel needs model_id= (or gguf_file=)")
        super().__init__(model_id=model_id, **kwargs)
        self.device_map = device_map
        self.torch_dtype = torch_dtype
        self.max_new_tokens = max_new_tokens
        self.gguf_file = str(gguf_file) if gguf_file is not None else None
        self.converted_cache_dir = Path(converted_cache_dir) if converted_cache_dir else (
            agent_core_cache_dir() / "transformers")
        self.trust_remote_code = trust_remote_code
        self.model_kwargs = model_kwargs or {}
        self.model: Any = None
        self.tokenizer: Any = None
        self._lock = threading.RLock()

    # --- loading ---------------------------------------------------------------

    def load(self) -> "TransformersModel":
        """Load the tokenizer and weights now (otherwise the first call does)."""
        with self._lock:
            if self.model is None:
                self._load()
        return self

    def _load(self) -> None:
        transformers = _import_transformers()
        source = self._converted_gguf() if self.gguf_file else self.model_id
        kwargs = {"trust_remote_code": self.trust_remote_code, **self.model_kwargs}
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(source, **kwargs)
        self.model = transformers.AutoModelForCausalLM.from_pretrained(
            source, dtype=self._dtype(), device_map=self._device_map(), **kwargs)
        self.model.eval()

    def _dtype(self) -> Any:
        import torch

        if self.torch_dtype is None:
            return "auto" if torch.cuda.is_available() else torch.float32
        if isinstance(self.torch_dtype, str) and self.torch_dtype != "auto":
            return getattr(torch, self.torch_dtype)
        return self.torch_dtype

    def _device_map(self) -> Any:
        import torch

        if self.device_map is not None:
            return self.device_map
        return "cuda:0" if torch.cuda.is_available() else "cpu"

    def _gguf_path(self) -> Path:
        path = Path(self.gguf_file)
        return path if path.is_absolute() or path.exists() else Path(self.model_id) / path

    def _converted_gguf(self) -> str:
        """A folder of de-quantized weights for the GGUF, converted once and cached."""
        gguf = self._gguf_path().resolve()
        stat = gguf.stat()
        key = hashlib.sha256(f"{gguf}|{stat.st_size}|{stat.st_mtime_ns}|{self._dtype()}"
                             .encode()).hexdigest()[:16]
        target = self.converted_cache_dir / f"{gguf.stem}-{key}"
        if (target / "agent_core_source.json").is_file():
            return str(target)
        self._convert_gguf(gguf, target)
        return str(target)

    def _convert_gguf(self, gguf: Path, target: Path) -> None:
        transformers = _import_transformers()
        folder, name = str(gguf.parent), gguf.name
        model = transformers.AutoModelForCausalLM.from_pretrained(
            folder, gguf_file=name, dtype=self._dtype(),
            quantization_config=transformers.GgufConfig(dequantize=True))
        tokenizer = transformers.AutoTokenizer.from_pretrained(folder, gguf_file=name)
        # The de-quantized model is a plain dense one: drop the GGUF quantizer so it
        # can be saved as safetensors.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            model.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
            (tmp / "agent_core_source.json").write_text(json.dumps({"gguf": str(gguf)}))
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(tmp, target)
            except OSError:  # another process finished first
                if not (target / "agent_core_source.json").is_file():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    # --- generation --------------------------------------------------------------

    def _inputs(self, messages: list[dict], tools: list["Tool"] | None) -> Any:
        schemas = [tool_to_openai_schema(t) for t in tools] if tools else None
        inputs = self.tokenizer.apply_chat_template(
            messages_to_text_only(messages), tools=schemas, add_generation_prompt=True,
            return_dict=True, return_tensors="pt")
        return inputs.to(self.model.device)

    def _generate_kwargs(self, stop_sequences: list[str] | None, kwargs: dict) -> dict:
        params = {"max_new_tokens": self.max_new_tokens, **self.kwargs, **kwargs}
        if "max_tokens" in params:
            params["max_new_tokens"] = params.pop("max_tokens")
        params = {k: v for k, v in params.items() if k in _GEN_KEYS}
        if "do_sample" not in params:
            params["do_sample"] = bool(params.get("temperature"))
        if not params["do_sample"]:
            for key in ("temperature", "top_p", "top_k", "min_p"):
                params.pop(key, None)
        if stop_sequences:
            from transformers import StopStringCriteria, StoppingCriteriaList

            params["stopping_criteria"] = StoppingCriteriaList(
                [StopStringCriteria(self.tokenizer, list(stop_sequences))])
        params["pad_token_id"] = self.tokenizer.pad_token_id or self.tokenizer.eos_token_id
        return params

    def generate(self, messages: list[dict], stop_sequences: list[str] | None = None,
                 tools: list["Tool"] | None = None, **kwargs: Any) -> ChatMessage:
        """Generate a whole reply. See :meth:`agent_core.models.base.Model.generate`."""
        import torch

        self.load()
        with self._lock:
            inputs = self._inputs(messages, tools)
            with torch.inference_mode():
                out = self.model.generate(**inputs, **self._generate_kwargs(stop_sequences,
                                                                            kwargs))
        n_in = inputs["input_ids"].shape[1]
        new = out[0][n_in:]
        text = _cut(self.tokenizer.decode(new, skip_special_tokens=True), stop_sequences)
        usage = TokenUsage(int(n_in), int(len(new)))
        self.last_token_usage = usage
        return ChatMessage(role="assistant", content=text, token_usage=usage)

    def generate_stream(self, messages: list[dict], stop_sequences: list[str] | None = None,
                        tools: list["Tool"] | None = None,
                        **kwargs: Any) -> Iterator[ChatMessageStreamDelta]:
        """Yield the reply as it is generated (a worker thread runs ``generate``)."""
        import torch
        from transformers import TextIteratorStreamer

        self.load()
        with self._lock:
            inputs = self._inputs(messages, tools)
            streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True,
                                            skip_special_tokens=True)
            params = self._generate_kwargs(stop_sequences, kwargs)
            result: dict[str, Any] = {}

            def work() -> None:
                with torch.inference_mode():
                    try:
                        result["out"] = self.model.generate(**inputs, streamer=streamer, **params)
                    except BaseException as err:  # re-raised in the caller's thread
                        result["error"] = err
                        streamer.end()

            worker = threading.Thread(target=work, daemon=True)
            worker.start()
            text = ""
            for piece in streamer:
                piece = _cut(text + piece, stop_sequences)[len(text):]
                if piece:
                    text += piece
                    yield ChatMessageStreamDelta(content=piece)
            worker.join()
        if "error" in result:
            raise result["error"]
        n_in = int(inputs["input_ids"].shape[1])
        usage = TokenUsage(n_in, int(result["out"].shape[1] - n_in))
        self.last_token_usage = usage
        yield ChatMessageStreamDelta(token_usage=usage)


def _cut(text: str, stop_sequences: list[str] | None) -> str:
    """``text`` up to the first stop sequence."""
    for stop in stop_sequences or ():
        index = text.find(stop)
        if index >= 0:
            text = text[:index]
    return text
