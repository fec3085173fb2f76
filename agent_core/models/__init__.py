"""Chat models behind one small interface (:class:`Model`), one module per backend family.

Importing this package is cheap: each backend module, and the heavy library it
drives (openai, litellm, huggingface_hub, transformers/torch, llama_cpp), is imported
on first use of its name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_getattr
from .base import (ChatMessage, ChatMessageStreamDelta, Model, TokenUsage, ToolCall,
                   call_with_retries, messages_to_text_only, parse_arguments,
                   tool_to_openai_schema)
from .testing import FunctionModel, ScriptedModel

if TYPE_CHECKING:  # pragma: no cover
    from ._embedded import EMBEDDED_VARIANTS, agent_core_cache_dir, embedded_gguf_path
    from .hf_api import HfApiModel, InferenceClientModel
    from .litellm_model import LiteLLMModel
    from .llama_cpp import LlamaCppModel
    from .openai_server import AzureOpenAIServerModel, OpenAIServerModel
    from .transformers_model import TransformersModel

__all__ = [
    "AzureOpenAIServerModel",
    "ChatMessage",
    "ChatMessageStreamDelta",
    "EMBEDDED_VARIANTS",
    "FunctionModel",
    "HfApiModel",
    "InferenceClientModel",
    "LiteLLMModel",
    "LlamaCppModel",
    "Model",
    "OpenAIServerModel",
    "ScriptedModel",
    "TokenUsage",
    "ToolCall",
    "TransformersModel",
    "agent_core_cache_dir",
    "call_with_retries",
    "embedded_gguf_path",
    "messages_to_text_only",
    "parse_arguments",
    "tool_to_openai_schema",
]

_LAZY = {
    "OpenAIServerModel": ".openai_server",
    "AzureOpenAIServerModel": ".openai_server",
    "LiteLLMModel": ".litellm_model",
    "HfApiModel": ".hf_api",
    "InferenceClientModel": ".hf_api",
    "TransformersModel": ".transformers_model",
    "LlamaCppModel": ".llama_cpp",
    "embedded_gguf_path": "._embedded",
    "agent_core_cache_dir": "._embedded",
    "EMBEDDED_VARIANTS": "._embedded",
}


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
