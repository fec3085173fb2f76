"""The final_answer tool every agent has."""

from __future__ import annotations

from typing import Any

from .base import Tool

__all__ = ["FinalAnswerTool"]


class FinalAnswerTool(Tool):
    """Ends the run with the given answer."""

    name = "final_answer"
    description = "Gives the final answer to the task and ends the run."
    inputs = {"answer": {"type": "any", "description": "The final answer to the task."}}
    output_type = "any"

    def forward(self, answer: Any) -> Any:
        return answer
