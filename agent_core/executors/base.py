"""The interface shared by the three executor tiers (local, sandbox, e2b)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable

__all__ = ["CodeOutput", "Executor"]


@dataclass
class CodeOutput:
    """What running one code action produced.

    Attributes:
        output: the value of the last expression, or the final answer's value.
        logs: captured ``print`` output.
        is_final_answer: the code called ``final_answer(...)``.
    """

    output: Any
    logs: str
    is_final_answer: bool = False


class Executor(ABC):
    """Runs model-written Python, step after step, with state kept between steps.

    ``send_tools`` receives a dict of name -> callable; it always includes
    ``final_answer`` when used by an agent. Code that breaks a rule or fails raises
    :class:`agent_core.exceptions.InterpreterError` with a message the model can
    act on; the logs printed before the failure are attached to the error as
    ``err.logs``.
    """

    @abstractmethod
    def send_tools(self, tools: dict[str, Callable[..., Any]]) -> None: ...

    @abstractmethod
    def send_variables(self, variables: dict[str, Any]) -> None: ...

    @abstractmethod
    def __call__(self, code: str) -> CodeOutput: ...

    def interrupt(self) -> None:
        """Stop the code that is running now, from another thread, if the tier can."""

    def reset(self) -> None:
        """Forget the state of previous steps (variables, defined functions)."""

    def close(self) -> None:
        """Release what the executor holds (worker processes, sandboxes)."""

    def describe(self) -> dict[str, Any]:
        """What protects this executor, for UIs and start-up reports."""
        return {"tier": type(self).__name__}
