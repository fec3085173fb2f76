"""agent_core: agents that solve tasks with an LLM, tools, models and executors.

Everything public is listed in ``__all__`` and imported lazily on first use, so
``import agent_core`` stays fast (heavy backends load only when used).
"""

from __future__ import annotations

from typing import Any

from ._lazy import lazy_getattr

__version__ = "0.1.0"

_EXPORTS = {
    # agents
    "MultiStepAgent": ".agents", "CodeAgent": ".agents", "ToolCallingAgent": ".agents",
    "ManagedAgent": ".agents",
    # tools
    "Tool": ".tools.base", "tool": ".tools.base", "FinalAnswerTool": ".tools.final_answer",
    "DuckDuckGoSearchTool": ".tools.default_tools", "VisitWebpageTool": ".tools.default_tools",
    "PythonInterpreterTool": ".tools.default_tools", "SpeechToTextTool": ".tools.default_tools",
    "UserInputTool": ".tools.default_tools",
    # models
    "Model": ".models.base", "ChatMessage": ".models.base",
    "ChatMessageStreamDelta": ".models.base", "TokenUsage": ".models.base",
    "ScriptedModel": ".models.testing", "FunctionModel": ".models.testing",
    "TransformersModel": ".models.transformers_model", "HfApiModel": ".models.hf_api",
    "InferenceClientModel": ".models.hf_api", "LiteLLMModel": ".models.litellm_model",
    "OpenAIServerModel": ".models.openai_server",
    "AzureOpenAIServerModel": ".models.openai_server", "LlamaCppModel": ".models.llama_cpp",
    # executors
    "LocalPythonExecutor": ".executors.local", "SandboxExecutor": ".executors.sandbox",
    "E2BExecutor": ".executors.e2b", "CodeOutput": ".executors.base",
    # memory and events
    "AgentMemory": ".memory", "ActionStep": ".memory", "PlanningStep": ".memory",
    "TaskStep": ".memory", "RunStart": ".events", "StepStart": ".events",
    "TokenDelta": ".events", "ToolCall": ".events", "ToolOutput": ".events",
    "FinalAnswer": ".events", "RunEnd": ".events",
    # agent types
    "AgentText": ".agent_types", "AgentImage": ".agent_types", "AgentAudio": ".agent_types",
    # errors
    "AgentError": ".exceptions", "AgentRunError": ".exceptions",
    "AgentStepError": ".exceptions", "AgentInterrupted": ".exceptions",
    "InterpreterError": ".exceptions", "ModelAPIError": ".exceptions",
    "ModelAuthError": ".exceptions", "ToolDefinitionError": ".exceptions",
    # UI and Hub
    "GradioUI": ".ui.gradio_ui",
    "ConsolePrinter": ".console",
}

__all__ = sorted([*_EXPORTS, "load_tool"])


def load_tool(repo_id: str, trust_remote_code: bool = False, revision: str | None = None,
              token: str | None = None, **kwargs: Any) -> Any:
    """Load a tool shared on the Hub as a Space repo (see ``hub_tools.load_tool``).

    Without ``trust_remote_code=True`` nothing is executed: the error names the repo,
    the commit and the sha256 of its tool.py so that you can review it first.
    """
    from hub_tools import load_tool as _load_tool

    return _load_tool(repo_id, trust_remote_code=trust_remote_code, revision=revision,
                      token=token, **kwargs)


__getattr__ = lazy_getattr(__name__, _EXPORTS, globals())


def __dir__() -> list[str]:
    return __all__
