"""The console view of a run (rich), a consumer of the event stream."""

from __future__ import annotations

from typing import Any

from ._secrets import redact, secret_values
from .events import FinalAnswer, RunEnd, RunStart, StepStart, TokenDelta, ToolCall, ToolOutput
from .memory import ActionStep, PlanningStep, render_value

__all__ = ["ConsolePrinter"]

YELLOW = "#d4b702"


class ConsolePrinter:
    """Prints events like the guided tour's log.

    Args:
        verbosity_level: 1 prints the run; 2 also prints each model output.
        model_label: shown under the "New run" panel.
        console: a ``rich.console.Console`` (a new one by default).
    """

    def __init__(self, verbosity_level: int = 1, model_label: str = "",
                 console: Any = None):
        from rich.console import Console

        self.verbosity_level = verbosity_level
        self.model_label = model_label
        self.console = console or Console(highlight=False)
        self._streaming = False
        self._secrets = secret_values()

    def handle(self, event: Any) -> None:
        handler = getattr(self, f"_on_{type(event).__name__}", None)
        if handler is not None:
            if isinstance(event, RunStart):  # the environment may have changed
                self._secrets = secret_values()
            handler(event)

    def _print(self, text: Any, **kwargs: Any) -> None:
        """Print text with secrets (env values of tokens and keys) redacted."""
        if isinstance(text, str):
            text = redact(text, secrets=self._secrets)
        self.console.print(text, **kwargs)

    def _end_stream(self) -> None:
        if self._streaming:
            self.console.print()
            self._streaming = False

    def _on_RunStart(self, event: RunStart) -> None:
        from rich.panel import Panel
        from rich.text import Text

        title = "New run" + (f" - {event.agent_name}" if event.agent_name else "")
        task = redact(f"\n{event.task}\n", secrets=self._secrets)
        self.console.print(Panel(Text(task, style="bold"), title=title,
                                 subtitle=self.model_label, subtitle_align="left",
                                 border_style=YELLOW, title_align="center"))

    def _on_StepStart(self, event: StepStart) -> None:
        from rich.rule import Rule

        label = "Planning" if event.kind == "planning" else f"Step {event.step_number}"
        self.console.print(Rule(f"[bold]{label}", characters="━", style=YELLOW))

    def _on_TokenDelta(self, event: TokenDelta) -> None:
        self._streaming = True
        self._print(event.text, end="", style="dim", markup=False, highlight=False)

    def _on_ToolCall(self, event: ToolCall) -> None:
        from rich.panel import Panel
        from rich.syntax import Syntax

        self._end_stream()
        if event.name == "python_interpreter":
            code = redact(str(event.arguments), secrets=self._secrets)
            body = Syntax(code, "python", theme="monokai", line_numbers=True, word_wrap=True)
            self.console.print(Panel(body, title="Executing this code:", title_align="left",
                                     box=_box()))
        else:
            text = f"Calling tool: '{event.name}' with arguments: {event.arguments}"
            self.console.print(Panel(redact(text, secrets=self._secrets), box=_box()))

    def _on_ToolOutput(self, event: ToolOutput) -> None:
        if event.logs:
            self.console.print("Execution logs:", style="bold")
            self._print(event.logs.rstrip("\n"), markup=False, highlight=False)
        if event.error:
            return  # printed with the finished step
        if event.is_final_answer:
            self._print(f"Out - Final answer: {render_value(event.output)}",
                               style=f"bold {YELLOW}", markup=False)
        else:
            self._print(f"Out: {render_value(event.output)}", markup=False)

    def _on_ActionStep(self, step: ActionStep) -> None:
        self._end_stream()
        if self.verbosity_level >= 2 and step.model_output:
            self._print(step.model_output, style="italic", markup=False)
        if step.error:
            self._print(f"Error: {step.error}", style="bold red", markup=False)
        usage = step.token_usage
        tokens = (f"| Input tokens: {usage.input_tokens:,} | Output tokens: "
                  f"{usage.output_tokens:,}") if usage else ""
        self.console.print(f"[Step {step.step_number}: Duration {step.duration_s:.2f} "
                           f"seconds{tokens}]", style="dim", markup=False)

    def _on_PlanningStep(self, step: PlanningStep) -> None:
        self._end_stream()
        self._print(f"Plan:\n{step.plan}", markup=False)

    def _on_FinalAnswer(self, event: FinalAnswer) -> None:
        self._end_stream()
        self._print(f"Final answer: {render_value(event.output)}",
                           style=f"bold {YELLOW}", markup=False)

    def _on_RunEnd(self, event: RunEnd) -> None:
        self._end_stream()
        if event.status == "error":
            self._print(f"Run failed: {event.error}", style="bold red", markup=False)
        elif event.status == "interrupted":
            self.console.print("Run interrupted.", style="bold red")
        elif event.status == "max_steps":
            self.console.print("Reached max steps: the answer above is a best effort.",
                               style="bold red")


def _box():
    from rich import box

    return box.ROUNDED
