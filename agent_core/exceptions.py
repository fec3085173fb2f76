"""Errors of agent_core, in three kinds.

1. Mistakes of the developer using the library (a bad tool definition, a bad
   argument): raised at once, never caught by the agent loop.
2. Errors the model can fix (code that fails, an unknown tool, bad arguments, a
   reply with no code block): subclasses of :class:`AgentStepError`. The loop
   feeds their message back to the model as an observation and goes on.
3. Errors that end the run (the model API is unreachable after retries, bad
   credentials): subclasses of :class:`AgentRunError`, carrying data.

Exceptions never log or print when created; the code that catches them decides.
"""

from __future__ import annotations

__all__ = [
    "AgentError",
    "ToolDefinitionError",
    "AgentStepError",
    "AgentParsingError",
    "AgentToolCallError",
    "AgentToolExecutionError",
    "AgentExecutionError",
    "InterpreterError",
    "AgentRunError",
    "ModelAPIError",
    "ModelAuthError",
    "ModelUnavailableError",
    "AgentInterrupted",
    "MissingDependencyError",
]


class AgentError(Exception):
    """Base class of every error raised by agent_core."""


# --- 1. developer mistakes -------------------------------------------------


class ToolDefinitionError(AgentError, ValueError):
    """A tool is defined wrongly (missing docstring argument, unsupported type...)."""


class MissingDependencyError(AgentError, ImportError):
    """An optional dependency is missing; the message says what to pip install."""

    def __init__(self, feature: str, pip_name: str):
        super().__init__(f"{feature} needs an optional dependency: pip install {pip_name}")
        self.pip_name = pip_name


# --- 2. errors fed back to the model ---------------------------------------


class AgentStepError(AgentError):
    """An error in one step that the model can act on; the run goes on."""


class AgentParsingError(AgentStepError):
    """The model's reply could not be parsed (no code block, malformed JSON...)."""


class AgentToolCallError(AgentStepError):
    """The model called a tool that does not exist or with bad arguments."""


class AgentToolExecutionError(AgentStepError):
    """A tool raised while running."""


class AgentExecutionError(AgentStepError):
    """The model's code failed while running."""


class InterpreterError(AgentExecutionError):
    """Code refused or failed in an executor; the message tells the model what to change."""


# --- 3. errors that end the run --------------------------------------------


class AgentRunError(AgentError):
    """An error that ends the run: the model cannot fix it by itself."""


class ModelAPIError(AgentRunError, OSError):
    """The model API failed (after retries for transient errors).

    Attributes:
        status: HTTP status code if there was one.
        body: a short excerpt of the response body (secrets redacted).
        retryable: whether the failure looked transient (429, 5xx, connection).
    """

    def __init__(self, message: str, status: int | None = None, body: str | None = None,
                 retryable: bool = False):
        super().__init__(message)
        self.status = status
        self.body = body
        self.retryable = retryable


class ModelAuthError(ModelAPIError):
    """The model API refused the credentials (401/403): fix the token or API key."""


class ModelUnavailableError(ModelAPIError):
    """The model API could not be reached (connection refused, DNS, timeout)."""


class AgentInterrupted(AgentRunError):
    """The run was interrupted by ``agent.interrupt()``."""
