"""Tools: the Tool base class, the @tool decorator and the default toolbox."""

from __future__ import annotations

from .._lazy import lazy_getattr
from .base import Tool, tool
from .final_answer import FinalAnswerTool

__all__ = ["Tool", "tool", "FinalAnswerTool", "DuckDuckGoSearchTool", "VisitWebpageTool",
           "PythonInterpreterTool", "SpeechToTextTool", "UserInputTool", "TOOL_MAPPING"]

_LAZY = {name: ".default_tools" for name in
         ("DuckDuckGoSearchTool", "VisitWebpageTool", "PythonInterpreterTool",
          "SpeechToTextTool", "UserInputTool", "TOOL_MAPPING")}


__getattr__ = lazy_getattr(__name__, _LAZY, globals())
