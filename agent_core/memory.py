"""The agent's memory: steps as dataclasses, serialised to plain dicts and chat messages."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from .models.base import TokenUsage, ToolCall

__all__ = ["MemoryStep", "SystemPromptStep", "TaskStep", "PlanningStep", "ActionStep",
           "AgentMemory", "render_value"]

MAX_OBSERVATION_CHARS = 20_000


def render_value(value: Any, limit: int = 2_000) -> str:
    """A short printable form of any value, for observations and logs."""
    try:
        text = value.to_string() if hasattr(value, "to_string") and not isinstance(value, str) \
            else str(value)
    except Exception:
        text = repr(value)
    if len(text) > limit:
        text = text[:limit] + f"... [{len(text) - limit} more characters]"
    return text


def _text_message(role: str, text: str, images: list | None = None) -> dict:
    if images:
        parts = [{"type": "text", "text": text}] + [{"type": "image", "image": im} for im in images]
        return {"role": role, "content": parts}
    return {"role": role, "content": text}


@dataclass
class MemoryStep:
    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def to_messages(self, summary_mode: bool = False) -> list[dict]:
        raise NotImplementedError


@dataclass
class SystemPromptStep(MemoryStep):
    system_prompt: str

    def to_dict(self) -> dict[str, Any]:
        return {"type": "system_prompt", "system_prompt": self.system_prompt}

    def to_messages(self, summary_mode: bool = False) -> list[dict]:
        return [] if summary_mode else [{"role": "system", "content": self.system_prompt}]


@dataclass
class TaskStep(MemoryStep):
    task: str
    images: list | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"type": "task", "task": self.task, "n_images": len(self.images or [])}

    def to_messages(self, summary_mode: bool = False) -> list[dict]:
        return [_text_message("user", f"New task:\n{self.task}", self.images)]


@dataclass
class PlanningStep(MemoryStep):
    step_number: int
    plan: str
    model_output: str = ""
    duration_s: float = 0.0
    token_usage: TokenUsage | None = None

    def to_dict(self) -> dict[str, Any]:
        usage = self.token_usage or TokenUsage()
        return {"type": "planning", "step_number": self.step_number, "plan": self.plan,
                "model_output": self.model_output, "duration_s": round(self.duration_s, 4),
                "input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens}

    def to_messages(self, summary_mode: bool = False) -> list[dict]:
        if summary_mode:
            return []
        return [{"role": "assistant", "content": f"Plan:\n{self.plan.strip()}"},
                {"role": "user", "content": "Now proceed and carry out this plan."}]


@dataclass
class ActionStep(MemoryStep):
    """One think-act-observe step.

    ``code`` is set for CodeAgent steps, ``tool_calls`` for ToolCallingAgent steps;
    ``observations`` is what the model sees next; ``error`` the message of an error
    the model can fix.
    """

    step_number: int
    start_time: float = field(default_factory=time.time)
    end_time: float | None = None
    model_output: str | None = None
    code: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    observations: str | None = None
    observation_images: list | None = None
    error: str | None = None
    output: Any = None
    is_final_answer: bool = False
    token_usage: TokenUsage | None = None

    @property
    def duration_s(self) -> float:
        return (self.end_time or time.time()) - self.start_time

    def to_dict(self) -> dict[str, Any]:
        usage = self.token_usage or TokenUsage()
        return {
            "type": "action",
            "step_number": self.step_number,
            "model_output": self.model_output,
            "code": self.code,
            "tool_calls": [tc.to_dict() for tc in self.tool_calls],
            "observations": self.observations,
            "error": self.error,
            "output": render_value(self.output) if self.output is not None else None,
            "is_final_answer": self.is_final_answer,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "duration_s": round(self.duration_s, 4),
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
        }

    def to_messages(self, summary_mode: bool = False) -> list[dict]:
        messages = []
        if self.model_output and not summary_mode:
            messages.append({"role": "assistant", "content": self.model_output.strip()})
        elif self.tool_calls and not summary_mode:
            calls = "; ".join(f"{tc.name}({tc.arguments!r})" for tc in self.tool_calls)
            messages.append({"role": "assistant", "content": f"Calling tools: {calls}"})
        parts = []
        if self.observations:
            parts.append(f"Observation:\n{self.observations[:MAX_OBSERVATION_CHARS]}")
        if self.error:
            parts.append(f"Error:\n{self.error}\nNow let's retry: take care not to repeat "
                         "previous errors!")
        if parts:
            messages.append(_text_message("user", "\n".join(parts), self.observation_images))
        return messages


@dataclass
class AgentMemory:
    """The system prompt and the list of steps of the current conversation."""

    system_prompt: SystemPromptStep
    steps: list[MemoryStep] = field(default_factory=list)

    def reset(self) -> None:
        self.steps = []

    def to_messages(self, summary_mode: bool = False) -> list[dict]:
        messages = self.system_prompt.to_messages(summary_mode)
        for step in self.steps:
            messages.extend(step.to_messages(summary_mode))
        return _merge_consecutive(messages)

    def get_full_steps(self) -> list[dict[str, Any]]:
        return [step.to_dict() for step in self.steps]

    def action_steps(self) -> list[ActionStep]:
        return [s for s in self.steps if isinstance(s, ActionStep)]

    def total_tokens(self) -> TokenUsage:
        total = TokenUsage()
        for step in self.steps:
            usage = getattr(step, "token_usage", None)
            if usage:
                total.input_tokens += usage.input_tokens
                total.output_tokens += usage.output_tokens
        return total


def _merge_consecutive(messages: list[dict]) -> list[dict]:
    """Merge consecutive same-role text messages: some chat templates reject them."""
    out: list[dict] = []
    for m in messages:
        if out and out[-1]["role"] == m["role"] and isinstance(out[-1]["content"], str) \
                and isinstance(m["content"], str):
            out[-1] = {"role": m["role"], "content": out[-1]["content"] + "\n\n" + m["content"]}
        else:
            out.append(dict(m))
    return out
