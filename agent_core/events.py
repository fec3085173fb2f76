"""Typed events of a run: what ``agent.run(task, stream=True)`` yields.

Order of a run::

    RunStart
    (StepStart, TokenDelta*, [PlanningStep] | ToolCall*, ToolOutput*, ActionStep)*
    FinalAnswer?   RunEnd

``ActionStep`` and ``PlanningStep`` are the finished memory steps themselves
(``agent_core.memory``). The console printer, the Gradio UI, the run logger and
user callbacks all consume this one stream.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["RunStart", "StepStart", "TokenDelta", "ToolCall", "ToolOutput", "FinalAnswer",
           "RunEnd", "RUN_STATUSES"]

RUN_STATUSES = ("success", "error", "max_steps", "interrupted", "incomplete")


@dataclass
class RunStart:
    run_id: str
    task: str
    model_id: str | None
    agent_type: str
    agent_name: str | None = None
    tools: list[str] = field(default_factory=list)
    n_images: int = 0
    started_at: float = 0.0


@dataclass
class StepStart:
    step_number: int
    kind: str = "action"  # "action" or "planning"


@dataclass
class TokenDelta:
    """A piece of the model's text as it streams."""

    step_number: int
    text: str


@dataclass
class ToolCall:
    """A call the agent is about to make. For a CodeAgent, ``name`` is
    ``python_interpreter`` and ``arguments`` is the code."""

    step_number: int
    name: str
    arguments: Any
    id: str = ""


@dataclass
class ToolOutput:
    """The result of a ToolCall: its output, printed logs, or the error."""

    step_number: int
    name: str
    output: Any
    logs: str = ""
    error: str | None = None
    is_final_answer: bool = False
    id: str = ""


@dataclass
class FinalAnswer:
    output: Any


@dataclass
class RunEnd:
    """The run is over. ``status`` is one of RUN_STATUSES; ``error`` says why it failed."""

    run_id: str
    status: str
    output: Any = None
    error: str | None = None
    duration_s: float = 0.0
    steps: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
