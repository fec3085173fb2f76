"""Tools: the Tool base class, the @tool decorator and the default toolbox."""

from __future__ import annotations

import importlib
from typing import Any

from .base import Tool, tool
from .final_answer import FinalAnswerTool

__all__ = ["Tool", "tool", "FinalAnswerTool", "DuckDuckGoSearchTool", "VisitWebpageTool",
           "PythonInterpreterTool", "SpeechToTextTool", "UserInputTool", "TOOL_MAPPING"]

_LAZY = {name: ".default_tools" for name in
         ("DuckDuckGoSearchTool", "VisitWebpageTool", "PythonInterpreterTool",
          "SpeechToTextTool", "UserInputTool", "TOOL_MAPPING")}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
