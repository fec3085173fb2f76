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
        # Images and audio become agent types (shown as such by consoles, UIs and the
        # run log); text and other values are returned as they are.
        if answer is None or isinstance(answer, (str, int, float, bool, list, dict, tuple)):
            return answer
        from ..agent_types import handle_agent_output_types

        return handle_agent_output_types(answer)
