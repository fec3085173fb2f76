"""The agent loop: a generator of typed events (see ``agent_core.events``).

``MultiStepAgent`` owns the loop (steps, planning, max steps, interrupts, errors);
``CodeAgent`` and ``ToolCallingAgent`` only say how one action step is taken.
Everything that watches a run consumes the event stream; nothing reaches into the loop.
"""

from __future__ import annotations

import inspect
import threading
import time
import uuid
from typing import Any, Callable, Iterable, Iterator

from ._parsing import extract_code, normalise_code, parse_tool_calls
from ._secrets import redact
from .events import FinalAnswer, RunEnd, RunStart, StepStart, TokenDelta, ToolCall, ToolOutput
from .exceptions import (AgentExecutionError, AgentInterrupted, AgentRunError, AgentStepError,
                         AgentToolCallError, AgentToolExecutionError, InterpreterError,
                         ToolDefinitionError)
from .memory import (ActionStep, AgentMemory, PlanningStep, SystemPromptStep, TaskStep,
                     render_value)
from .models.base import ChatMessage, Model, TokenUsage
from .prompts import (FINAL_ANSWER_PROMPT, PLANNING_PROMPT, code_system_prompt,
                      managed_agent_task, tool_calling_system_prompt)
from .tools.base import Tool
from .tools.final_answer import FinalAnswerTool

__all__ = ["MultiStepAgent", "CodeAgent", "ToolCallingAgent", "ManagedAgent"]


class MultiStepAgent:
    """Base of agents: runs think-act-observe steps until a final answer.

    Args:
        tools: the tools the agent can use (a list, or a dict name -> tool).
        model: the :class:`Model` that drives the agent.
        add_base_tools: add the default toolbox (web search, web pages, transcriber...).
        managed_agents: sub-agents, as :class:`ManagedAgent` or agents with
            ``name`` and ``description``; the agent calls them like tools.
        max_steps: after this many steps, the model is asked for a final answer.
        planning_interval: plan at step 1 and every N steps.
        name, description: make this agent usable as a managed agent.
        final_answer_checks: functions ``(answer, memory) -> bool``; a False or an
            exception sends the answer back to the model with the reason.
        step_callbacks: called with each finished step (and the agent, if they take two).
        event_callbacks: called with every event of the stream.
        verbosity_level: 0 silent, 1 the run as in the guided tour, 2 also model output.
        stream_outputs: stream the model's tokens (when the model can).
        instructions: extra text appended to the system prompt.
    """

    agent_type = "MultiStepAgent"

    def __init__(self, tools: Iterable[Tool] | dict[str, Tool], model: Model,
                 add_base_tools: bool = False, managed_agents: Iterable[Any] = (),
                 max_steps: int = 20, planning_interval: int | None = None,
                 name: str | None = None, description: str | None = None,
                 final_answer_checks: Iterable[Callable[..., Any]] | None = None,
                 step_callbacks: Iterable[Callable[..., Any]] | None = None,
                 event_callbacks: Iterable[Callable[[Any], Any]] | None = None,
                 verbosity_level: int = 1, stream_outputs: bool = False,
                 instructions: str | None = None):
        if not isinstance(model, Model) and not callable(getattr(model, "generate", None)):
            raise TypeError(f"model must be an agent_core Model, got {type(model).__name__}")
        if name is not None and not str(name).isidentifier():
            raise ValueError(f"Agent name {name!r} must be a valid Python identifier")
        self.model = model
        self.name, self.description = name, description
        self.max_steps = max_steps
        self.planning_interval = planning_interval
        self.final_answer_checks = list(final_answer_checks or [])
        self.step_callbacks = list(step_callbacks or [])
        self.event_callbacks = list(event_callbacks or [])
        self.verbosity_level = verbosity_level
        self.stream_outputs = stream_outputs
        self.instructions = instructions
        self.managed_agents = _build_managed(managed_agents)
        self.tools = self._build_tools(tools, add_base_tools)
        self.state: dict[str, Any] = {}
        self.memory = AgentMemory(SystemPromptStep(self.initialize_system_prompt()))
        self._interrupt = threading.Event()
        self._run_error: BaseException | None = None
        self._console = None
        self.task: str | None = None

    # --- set-up ---------------------------------------------------------------

    def _base_tool_names(self) -> list[str]:
        return ["web_search", "visit_webpage", "transcriber"]

    def _build_tools(self, tools: Any, add_base_tools: bool) -> dict[str, Tool]:
        tool_list = list(tools.values()) if isinstance(tools, dict) else list(tools or [])
        if add_base_tools:
            from .tools.default_tools import TOOL_MAPPING

            present = {getattr(t, "name", None) for t in tool_list}
            tool_list += [self._make_base_tool(TOOL_MAPPING[n]) for n in self._base_tool_names()
                          if n in TOOL_MAPPING and n not in present]
        result: dict[str, Tool] = {}
        for t in tool_list:
            if not callable(t) or not isinstance(getattr(t, "name", None), str):
                raise ToolDefinitionError(f"{t!r} is not a tool: use @tool or a Tool subclass")
            if t.name in result or t.name in self.managed_agents:
                raise ToolDefinitionError(f"Two tools or managed agents are named {t.name!r}; "
                                          "names must be unique")
            result[t.name] = t
        result.setdefault("final_answer", FinalAnswerTool())
        return result

    def _make_base_tool(self, cls: type) -> Tool:
        return cls()

    def initialize_system_prompt(self) -> str:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the agent holds (executors, worker processes)."""
        for t in self.tools.values():
            if callable(getattr(t, "close", None)):
                t.close()

    # --- inspection -----------------------------------------------------------

    @property
    def logs(self) -> list[dict[str, Any]]:
        """One plain dict per step of the current conversation."""
        return self.memory.get_full_steps()

    def write_memory_to_messages(self, summary_mode: bool = False) -> list[dict]:
        """The memory as the chat messages the model reads."""
        return self.memory.to_messages(summary_mode)

    def interrupt(self) -> None:
        """Stop the current run as soon as possible (thread-safe)."""
        self._interrupt.set()
        for managed in self.managed_agents.values():
            managed.agent.interrupt()

    @property
    def interrupted(self) -> bool:
        return self._interrupt.is_set()

    # --- running --------------------------------------------------------------

    def run(self, task: str, stream: bool = False, reset: bool = True,
            images: list | None = None, additional_args: dict | None = None,
            max_steps: int | None = None) -> Any:
        """Run the agent on a task.

        Args:
            task: what to do.
            stream: return a generator of events instead of the final answer. In this
                mode errors that end the run arrive as a ``RunEnd`` event with
                ``status="error"`` rather than as an exception.
            reset: start a new conversation; ``False`` continues the previous one.
            images: PIL images given with the task.
            additional_args: variables handed to the agent (and its code).
            max_steps: overrides the agent's ``max_steps`` for this run.

        Returns:
            The final answer, or with ``stream=True`` an iterator of events.

        Raises:
            AgentRunError: the run could not go on (model unreachable, bad key...).
            AgentInterrupted: ``interrupt()`` was called.
        """
        events = self._run_stream(task, reset, images, additional_args, max_steps)
        if stream:
            return events
        end: RunEnd | None = None
        for event in events:
            if isinstance(event, RunEnd):
                end = event
        if end is None or end.status == "error":
            raise self._run_error or AgentRunError(end.error if end else "The run did not end")
        if end.status == "interrupted":
            raise AgentInterrupted("The run was interrupted")
        return end.output

    def _run_stream(self, task: str, reset: bool, images: list | None,
                    additional_args: dict | None, max_steps: int | None) -> Iterator[Any]:
        self._interrupt.clear()
        self._run_error = None
        run_id, started = uuid.uuid4().hex, time.time()
        if reset:
            self.memory.reset()
            self._reset_state()
        self.memory.system_prompt = SystemPromptStep(self.initialize_system_prompt())
        if additional_args:
            self.state.update(additional_args)
            task += ("\nYou have been provided with these additional arguments, usable as "
                     f"variables of the same name: {_describe_args(additional_args)}")
        self.task = task
        self.memory.steps.append(TaskStep(task=task, images=images))
        yield self._emit(RunStart(run_id=run_id, task=task, model_id=self.model.model_id,
                                  agent_type=self.agent_type, agent_name=self.name,
                                  tools=list(self.tools), n_images=len(images or []),
                                  started_at=started))
        status, output, error, n_steps = "max_steps", None, None, 0
        try:
            for event in self._steps(max_steps or self.max_steps):
                if isinstance(event, ActionStep):
                    n_steps += 1
                    if event.is_final_answer:
                        status, output = "success", event.output
                yield self._emit(event)
            if status == "max_steps":
                output = yield from self._emit_all(self._final_answer_attempt())
        except AgentInterrupted:
            status = "interrupted"
        except Exception as err:  # a run-ending error: report it, never a frozen stream
            status, self._run_error = "error", err
            error = redact(f"{type(err).__name__}: {err}")
        if status in ("success", "max_steps"):
            yield self._emit(FinalAnswer(output=output))
        usage = self.memory.total_tokens()
        yield self._emit(RunEnd(run_id=run_id, status=status, output=output, error=error,
                                duration_s=time.time() - started, steps=n_steps,
                                input_tokens=usage.input_tokens,
                                output_tokens=usage.output_tokens))

    def _steps(self, max_steps: int) -> Iterator[Any]:
        first = len(self.memory.action_steps()) + 1
        for number in range(first, first + max_steps):
            self._check_interrupt()
            if self.planning_interval and (number - first) % self.planning_interval == 0:
                yield from self._planning_step(number)
            step = ActionStep(step_number=number)
            yield StepStart(step_number=number)
            try:
                yield from self._step_stream(step)
            except AgentStepError as err:
                step.error = str(err)
            finally:
                step.end_time = time.time()
                self.memory.steps.append(step)
            self._check_interrupt()
            yield step
            self._run_step_callbacks(step)
            if step.is_final_answer:
                return

    def _check_interrupt(self) -> None:
        if self._interrupt.is_set():
            raise AgentInterrupted("The run was interrupted")

    def _emit(self, event: Any) -> Any:
        if self.verbosity_level > 0:
            self._get_console().handle(event)
        for callback in self.event_callbacks:
            callback(event)
        return event

    def _emit_all(self, events: Iterator[Any]) -> Iterator[Any]:
        """Emit every event of a sub-generator and return its return value."""
        while True:
            try:
                event = next(events)
            except StopIteration as stop:
                return stop.value
            yield self._emit(event)

    def _get_console(self):
        if self._console is None:
            from .console import ConsolePrinter

            self._console = ConsolePrinter(verbosity_level=self.verbosity_level,
                                           model_label=self.model.describe())
        return self._console

    def _run_step_callbacks(self, step: Any) -> None:
        for callback in self.step_callbacks:
            try:
                n_params = len(inspect.signature(callback).parameters)
            except (TypeError, ValueError):
                n_params = 1
            callback(step, self) if n_params >= 2 else callback(step)

    def _reset_state(self) -> None:
        self.state = {}

    # --- model calls ----------------------------------------------------------

    def _generate(self, messages: list[dict], step_number: int, stop: list[str] | None,
                  tools: list | None = None) -> Iterator[Any]:
        """Call the model, yielding TokenDelta events when streaming; return the message."""
        if self.stream_outputs and getattr(self.model, "supports_streaming", False):
            parts: list[str] = []
            calls, usage = None, None
            for delta in self.model.generate_stream(messages, stop_sequences=stop, tools=tools):
                self._check_interrupt()
                if delta.content:
                    parts.append(delta.content)
                    yield TokenDelta(step_number=step_number, text=delta.content)
                if delta.tool_calls:
                    calls = (calls or []) + list(delta.tool_calls)
                if delta.token_usage:
                    usage = delta.token_usage
            return ChatMessage(content="".join(parts), tool_calls=calls, token_usage=usage)
        message = self.model.generate(messages, stop_sequences=stop, tools=tools)
        self._check_interrupt()
        return message

    def _planning_step(self, number: int) -> Iterator[Any]:
        started = time.time()
        yield StepStart(step_number=number, kind="planning")
        messages = self.write_memory_to_messages() + [{"role": "user", "content": PLANNING_PROMPT}]
        message = yield from self._generate(messages, number, stop=["<end_plan>"])
        plan = (message.content or "").replace("<end_plan>", "").strip()
        step = PlanningStep(step_number=number, plan=plan, model_output=message.content or "",
                            duration_s=time.time() - started, token_usage=message.token_usage)
        self.memory.steps.append(step)
        yield step
        self._run_step_callbacks(step)

    def _final_answer_attempt(self) -> Iterator[Any]:
        """After max_steps: ask the model once for its best final answer."""
        messages = self.write_memory_to_messages(summary_mode=False)
        messages.append({"role": "user", "content": FINAL_ANSWER_PROMPT})
        message = yield from self._generate(messages, len(self.memory.action_steps()) + 1,
                                            stop=None)
        answer = (message.content or "").strip()
        return answer

    def _step_stream(self, step: ActionStep) -> Iterator[Any]:
        raise NotImplementedError

    # --- final answers --------------------------------------------------------

    def _check_final_answer(self, answer: Any) -> None:
        """Refuse empty answers and answers the user's checks reject."""
        if answer is None or (isinstance(answer, str) and not answer.strip()):
            raise AgentStepError(
                f"final_answer was called with an empty value ({answer!r}). Call final_answer "
                "with the value you computed, e.g. final_answer(result).")
        for check in self.final_answer_checks:
            try:
                ok = check(answer, self.memory)
            except Exception as err:
                raise AgentStepError(f"The final answer check {_name(check)} failed: {err}")
            if ok is False:
                raise AgentStepError(f"The final answer {render_value(answer, 200)!r} was "
                                     f"rejected by the check {_name(check)}. Try again.")

    def __call__(self, task: str, **kwargs: Any) -> Any:
        return self.run(task, **kwargs)


def _name(fn: Any) -> str:
    return getattr(fn, "__name__", type(fn).__name__)


def _describe_args(args: dict) -> str:
    return ", ".join(f"{k} ({type(v).__name__}): {render_value(v, 200)}" for k, v in args.items())


def _build_managed(managed_agents: Iterable[Any]) -> dict[str, "ManagedAgent"]:
    result: dict[str, ManagedAgent] = {}
    for item in managed_agents or ():
        if not isinstance(item, ManagedAgent):
            if not getattr(item, "name", None) or not getattr(item, "description", None):
                raise ValueError("A managed agent needs a name and a description: pass "
                                 "ManagedAgent(agent=..., name=..., description=...)")
            item = ManagedAgent(agent=item, name=item.name, description=item.description)
        if item.name in result:
            raise ValueError(f"Two managed agents are named {item.name!r}")
        result[item.name] = item
    return result


class CodeAgent(MultiStepAgent):
    """An agent that acts by writing Python code, run by an executor.

    Args:
        additional_authorized_imports: modules the code may import, on top of the
            safe stdlib defaults (``"pkg.*"`` and ``"*"`` forms accepted).
        executor_type: ``"local"`` (in-process, restricted), ``"sandbox"`` (an
            OS-sandboxed worker process) or ``"e2b"``.
        use_e2b_executor: same as ``executor_type="e2b"``.
        executor: an executor instance to use instead of building one.
        executor_kwargs: extra arguments for the executor.
        max_print_outputs_length: cap on printed output kept per step.
        (other arguments: see :class:`MultiStepAgent`)
    """

    agent_type = "CodeAgent"

    def __init__(self, tools: Any, model: Model, additional_authorized_imports: Iterable[str] = (),
                 executor_type: str = "local", use_e2b_executor: bool = False,
                 executor: Any = None, executor_kwargs: dict | None = None,
                 max_print_outputs_length: int | None = None, **kwargs: Any):
        self.additional_authorized_imports = list(additional_authorized_imports)
        self.executor_type = "e2b" if use_e2b_executor else executor_type
        if self.executor_type not in ("local", "sandbox", "e2b"):
            raise ValueError(f"executor_type must be 'local', 'sandbox' or 'e2b', "
                             f"got {executor_type!r}")
        self.executor_kwargs = dict(executor_kwargs or {})
        if max_print_outputs_length is not None:
            self.executor_kwargs["max_print_outputs_length"] = max_print_outputs_length
        self._executor = executor
        self._executor_ready = False
        self._failed_codes: dict[str, tuple[int, str]] = {}
        super().__init__(tools, model, **kwargs)

    @property
    def authorized_imports(self) -> list[str]:
        from .executors.factory import default_authorized_imports

        return sorted(set(default_authorized_imports()) | set(self.additional_authorized_imports))

    def initialize_system_prompt(self) -> str:
        return code_system_prompt(self.tools, self.managed_agents, self.authorized_imports,
                                  self.instructions)

    @property
    def executor(self) -> Any:
        """The executor, created on first use (a sandbox worker starts only when needed)."""
        if self._executor is None:
            from .executors.factory import create_executor

            self._executor = create_executor(
                self.executor_type, additional_authorized_imports=self.additional_authorized_imports,
                **self.executor_kwargs)
        if not self._executor_ready:
            self._executor.send_tools({**self.tools, **self.managed_agents})
            self._executor.send_variables(dict(self.state))
            self._executor_ready = True
        return self._executor

    def _reset_state(self) -> None:
        super()._reset_state()
        self._failed_codes = {}
        if self._executor is not None:
            self._executor.reset()
            self._executor_ready = False

    def _run_stream(self, task, reset, images, additional_args, max_steps):
        # A fresh or reset executor receives the whole state when first used; a live one
        # continuing the conversation only needs the new variables.
        if additional_args and not reset and self._executor_ready:
            self._executor.send_variables(dict(additional_args))
        yield from super()._run_stream(task, reset, images, additional_args, max_steps)

    def interrupt(self) -> None:
        super().interrupt()
        if self._executor is not None:
            self._executor.interrupt()

    def close(self) -> None:
        """Release the executor (kills a sandbox worker) and the tools' resources."""
        super().close()
        if self._executor is not None:
            self._executor.close()
            self._executor, self._executor_ready = None, False

    def _step_stream(self, step: ActionStep) -> Iterator[Any]:
        messages = self.write_memory_to_messages()
        message = yield from self._generate(messages, step.step_number,
                                            stop=["<end_code>", "Observation:"])
        step.model_output = message.content or ""
        step.token_usage = message.token_usage or TokenUsage()
        code = extract_code(step.model_output)
        if "```" in step.model_output and not step.model_output.rstrip().endswith("<end_code>"):
            step.model_output = step.model_output.rstrip() + "<end_code>"
        step.code = code
        yield ToolCall(step_number=step.step_number, name="python_interpreter", arguments=code)
        key = normalise_code(code)
        if key in self._failed_codes:
            number, reason = self._failed_codes[key]
            raise AgentExecutionError(
                f"This is the same code as step {number}, which failed with: {reason}\n"
                "Running it again would fail the same way: change the code.")
        try:
            result = self.executor(code)
        except InterpreterError as err:
            logs = getattr(err, "logs", "") or ""
            self._failed_codes[key] = (step.step_number, str(err)[:500])
            step.observations = f"Execution logs:\n{logs}" if logs else None
            yield ToolOutput(step_number=step.step_number, name="python_interpreter",
                             output=None, logs=logs, error=str(err))
            raise
        step.observations = (f"Execution logs:\n{result.logs}\n"
                             f"Last output from code snippet:\n{render_value(result.output)}")
        if result.is_final_answer:
            self._check_final_answer(result.output)
            step.output, step.is_final_answer = result.output, True
        yield ToolOutput(step_number=step.step_number, name="python_interpreter",
                         output=result.output, logs=result.logs,
                         is_final_answer=result.is_final_answer)


class ToolCallingAgent(MultiStepAgent):
    """An agent that acts by calling tools with JSON arguments.

    Native tool calls are used when the model returns them; otherwise the JSON
    written in the reply's text is parsed (small local models do that).
    """

    agent_type = "ToolCallingAgent"

    def __init__(self, tools: Any, model: Model, executor_type: str = "local", **kwargs: Any):
        self.executor_type = executor_type
        super().__init__(tools, model, **kwargs)

    def _make_base_tool(self, cls: type) -> Tool:
        # The python_interpreter of the default toolbox runs in the agent's executor
        # tier: in a public Space that is the sandbox, never in-process by surprise.
        if getattr(cls, "name", None) == "python_interpreter":
            return cls(executor=self.executor_type)
        return cls()

    def _base_tool_names(self) -> list[str]:
        return super()._base_tool_names() + ["python_interpreter"]

    def initialize_system_prompt(self) -> str:
        return tool_calling_system_prompt(self.tools, self.managed_agents, self.instructions)

    def _step_stream(self, step: ActionStep) -> Iterator[Any]:
        messages = self.write_memory_to_messages()
        offered = list(self.tools.values()) + list(self.managed_agents.values())
        message = yield from self._generate(messages, step.step_number, stop=["Observation:"],
                                            tools=offered)
        step.model_output = message.content or ""
        step.token_usage = message.token_usage or TokenUsage()
        calls = message.tool_calls or parse_tool_calls(step.model_output)
        step.tool_calls = list(calls)
        observations = []
        for call in calls:
            yield ToolCall(step_number=step.step_number, name=call.name,
                           arguments=call.arguments, id=call.id)
            output = self._execute_tool_call(call.name, call.arguments)
            final = call.name == "final_answer"
            if final:
                self._check_final_answer(output)
                step.output, step.is_final_answer = output, True
            observations.append(render_value(output) if len(calls) == 1
                                else f"{call.name}: {render_value(output)}")
            yield ToolOutput(step_number=step.step_number, name=call.name, output=output,
                             is_final_answer=final, id=call.id)
            if final:
                break
        step.observations = "\n".join(observations)

    def _execute_tool_call(self, name: str, arguments: Any) -> Any:
        target = self.tools.get(name) or self.managed_agents.get(name)
        if target is None:
            raise AgentToolCallError(
                f"Unknown tool {name!r}. Available tools: {sorted(self.tools)}"
                + (f"; team members: {sorted(self.managed_agents)}" if self.managed_agents else ""))
        if isinstance(arguments, str) and arguments in self.state:
            arguments = self.state[arguments]
        kwargs = target.validate_arguments(arguments)
        kwargs = {k: self.state.get(v, v) if isinstance(v, str) else v for k, v in kwargs.items()}
        try:
            return target(**kwargs)
        except AgentRunError:
            raise
        except AgentStepError as err:
            raise AgentToolExecutionError(f"Error when calling tool {name!r}: {err}")
        except Exception as err:
            raise AgentToolExecutionError(
                f"Error when calling tool {name!r} with arguments {kwargs!r}: "
                f"{type(err).__name__}: {err}. Check the arguments and try again.")


class ManagedAgent(Tool):
    """An agent given to a manager agent, which calls it like a tool.

    Args:
        agent: the agent to manage.
        name: the name the manager calls it by (a Python identifier).
        description: what it does and how to talk to it.
        provide_run_summary: append a summary of its steps to its report.
    """

    output_type = "string"

    def __init__(self, agent: MultiStepAgent, name: str, description: str,
                 additional_prompting: str | None = None, provide_run_summary: bool = False):
        if not str(name).isidentifier():
            raise ValueError(f"Managed agent name {name!r} must be a valid Python identifier")
        self.agent, self.name, self.description = agent, name, description
        self.additional_prompting = additional_prompting
        self.provide_run_summary = provide_run_summary
        self.inputs = {
            "task": {"type": "string", "description": "The task, explained in detail."},
            "additional_args": {"type": "object", "nullable": True,
                                "description": "Optional data to hand over (variables)."},
        }
        self.is_initialized = True

    def forward(self, task: str, additional_args: dict | None = None) -> str:
        full_task = managed_agent_task(self.name, task)
        if self.additional_prompting:
            full_task += "\n" + self.additional_prompting
        answer = self.agent.run(full_task, additional_args=additional_args)
        report = f"Here is the final answer from your managed agent '{self.name}':\n" \
                 f"{render_value(answer)}"
        if self.provide_run_summary:
            summary = "\n".join(f"{m['role']}: {m['content']}" for m in
                                self.agent.write_memory_to_messages(summary_mode=True)
                                if isinstance(m.get("content"), str))
            report += f"\n\nSummary of its work:\n{summary}"
        return report

    def __repr__(self) -> str:
        return f"<ManagedAgent {self.name}: {type(self.agent).__name__}>"
