"""The agent loop, driven by ToolCallingAgent and the scripted model."""

import threading
import time

import pytest

from agent_core import (ActionStep, AgentInterrupted, FinalAnswer, ManagedAgent, ModelAPIError,
                        ModelAuthError, RunEnd, RunStart, ScriptedModel, StepStart, TokenDelta,
                        ToolCall, ToolCallingAgent, ToolOutput, tool)
from agent_core.models.base import ChatMessage, Model, TokenUsage
from agent_core.models.base import ToolCall as ModelToolCall


@tool
def add(a: int, b: int) -> int:
    """Adds two integers.

    Args:
        a: the first integer.
        b: the second integer.
    """
    return a + b


@tool
def fail(reason: str) -> str:
    """Always fails.

    Args:
        reason: why.
    """
    raise RuntimeError(f"boom: {reason}")


def call(name, **arguments):
    import json
    return json.dumps({"name": name, "arguments": arguments})


def agent_with(replies, **kwargs):
    model = ScriptedModel(replies)
    return ToolCallingAgent(tools=[add, fail], model=model, verbosity_level=0, **kwargs), model


def test_run_returns_the_final_answer_and_logs_each_step():
    agent, model = agent_with([call("add", a=2, b=3), call("final_answer", answer="5")])
    assert agent.run("What is 2 + 3?") == "5"
    actions = [log for log in agent.logs if log["type"] == "action"]
    assert [a["step_number"] for a in actions] == [1, 2]
    assert actions[0]["tool_calls"][0]["name"] == "add"
    assert actions[0]["observations"] == "5"
    assert actions[0]["input_tokens"] > 0 and actions[0]["output_tokens"] > 0
    assert actions[0]["duration_s"] >= 0
    assert actions[1]["is_final_answer"]
    # the tool descriptions are baked into the system prompt the model saw
    system = model.calls[0][0]
    assert system["role"] == "system" and "add: Adds two integers." in system["content"]


def test_native_tool_calls_are_used_when_the_model_returns_them():
    replies = [ChatMessage(content="", tool_calls=[ModelToolCall("add", '{"a": 1, "b": 1}')]),
               ChatMessage(content=None, tool_calls=[ModelToolCall("final_answer", {"answer": 2})])]
    agent, _ = agent_with(replies)
    assert agent.run("1+1") == 2


def test_model_fixable_errors_are_fed_back_and_the_run_goes_on():
    agent, model = agent_with([
        "I think the answer is 5",                 # no tool call
        call("nope", x=1),                         # unknown tool
        call("add", a=1),                          # missing argument
        call("fail", reason="disk"),               # tool raises
        call("final_answer", answer=""),           # empty answer
        call("final_answer", answer="done"),
    ])
    assert agent.run("task") == "done"
    errors = [log["error"] for log in agent.logs if log["type"] == "action"]
    assert "Could not find a tool call" in errors[0]
    assert "Unknown tool 'nope'" in errors[1] and "add" in errors[1]
    assert "missing argument(s) ['b']" in errors[2]
    assert "boom: disk" in errors[3]
    assert "empty value" in errors[4]
    assert errors[5] is None
    # the model saw each error as an observation
    last_prompt = " ".join(str(m["content"]) for m in model.calls[-1])
    assert "Unknown tool 'nope'" in last_prompt and "boom: disk" in last_prompt


def test_stream_yields_typed_events_in_order():
    agent, _ = agent_with([call("add", a=2, b=2), call("final_answer", answer=4)],
                          stream_outputs=True)
    events = list(agent.run("2+2", stream=True))
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "RunStart" and kinds[-2:] == ["FinalAnswer", "RunEnd"]
    assert kinds.index("StepStart") < kinds.index("TokenDelta") < kinds.index("ToolCall") \
        < kinds.index("ToolOutput") < kinds.index("ActionStep")
    text = "".join(e.text for e in events if isinstance(e, TokenDelta) and e.step_number == 1)
    assert text == call("add", a=2, b=2)
    end = events[-1]
    assert end.status == "success" and end.output == 4 and end.steps == 2
    assert end.input_tokens > 0


def test_reset_false_continues_the_conversation():
    agent, model = agent_with([call("final_answer", answer="first"),
                               call("final_answer", answer="second")])
    agent.run("Remember the word banana.")
    assert agent.run("What word did I ask you to remember?", reset=False) == "second"
    seen = " ".join(str(m["content"]) for m in model.calls[-1])
    assert "banana" in seen
    assert [log["step_number"] for log in agent.logs if log["type"] == "action"] == [1, 2]


def test_max_steps_makes_a_final_answer_attempt():
    agent, model = agent_with([call("add", a=1, b=1)] * 3 + ["My best answer is 2."],
                              max_steps=3)
    events = list(agent.run("loop", stream=True))
    end = events[-1]
    assert end.status == "max_steps" and end.output == "My best answer is 2."
    assert "maximum number of steps" in model.calls[-1][-1]["content"]


def test_planning_interval_adds_plans():
    agent, model = agent_with(["1. add\n2. answer<end_plan>", call("add", a=1, b=2),
                               "1. answer now", call("final_answer", answer=3)],
                              planning_interval=1)
    assert agent.run("1+2") == 3
    kinds = [log["type"] for log in agent.logs]
    assert kinds == ["task", "planning", "action", "planning", "action"]
    assert agent.logs[1]["plan"] == "1. add\n2. answer"


def test_final_answer_checks_can_reject_an_answer():
    def is_even(answer, memory):
        return int(answer) % 2 == 0

    agent, _ = agent_with([call("final_answer", answer=3), call("final_answer", answer=4)],
                          final_answer_checks=[is_even])
    assert agent.run("even?") == 4
    assert "rejected by the check is_even" in agent.logs[1]["error"]


def test_step_callbacks_receive_each_step():
    seen = []
    agent, _ = agent_with([call("add", a=1, b=2), call("final_answer", answer=3)],
                          step_callbacks=[lambda step: seen.append(step.step_number),
                                          lambda step, agent: seen.append(agent.name)])
    agent.run("x")
    assert seen == [1, None, 2, None]


class _SlowModel(Model):
    def generate(self, messages, stop_sequences=None, tools=None, **kw):
        time.sleep(0.2)
        return ChatMessage(content=call("add", a=1, b=1), token_usage=TokenUsage(1, 1))


def test_interrupt_stops_the_run():
    agent = ToolCallingAgent(tools=[add], model=_SlowModel("slow"), verbosity_level=0,
                             max_steps=100)
    threading.Timer(0.5, agent.interrupt).start()
    started = time.time()
    with pytest.raises(AgentInterrupted):
        agent.run("forever")
    assert time.time() - started < 2


class _FailingModel(Model):
    def __init__(self, error):
        super().__init__("failing")
        self.error = error

    def generate(self, messages, stop_sequences=None, tools=None, **kw):
        raise self.error


def test_errors_the_model_cannot_fix_end_the_run_with_a_clear_message():
    agent = ToolCallingAgent(tools=[], model=_FailingModel(ModelAuthError("Invalid API key")),
                             verbosity_level=0)
    with pytest.raises(ModelAuthError, match="Invalid API key"):
        agent.run("x")
    events = list(agent.run("x", stream=True))
    assert isinstance(events[-1], RunEnd) and events[-1].status == "error"
    assert "ModelAuthError: Invalid API key" in events[-1].error
    assert not any(isinstance(e, FinalAnswer) for e in events)


def test_secrets_never_reach_run_errors(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-value-1234567890")
    agent = ToolCallingAgent(tools=[], verbosity_level=0, model=_FailingModel(
        ModelAPIError("server said: key sk-test-secret-value-1234567890 is rate limited")))
    end = list(agent.run("x", stream=True))[-1]
    assert "sk-test-secret-value" not in end.error and "[REDACTED]" in end.error


def test_managed_agents_are_called_like_tools():
    web_model = ScriptedModel([call("final_answer", answer="Clem Delangue")])
    web_agent = ToolCallingAgent(tools=[], model=web_model, verbosity_level=0)
    managed = ManagedAgent(agent=web_agent, name="web_search",
                           description="Runs web searches for you.")
    direct_model = ScriptedModel([call("final_answer", answer="42")])
    direct = ToolCallingAgent(tools=[], model=direct_model, verbosity_level=0,
                              name="calculator", description="Computes things.")
    manager_model = ScriptedModel([
        call("web_search", task="Who is the CEO of Hugging Face?"),
        call("calculator", task="6*7"),
        call("final_answer", answer="Clem Delangue"),
    ])
    manager = ToolCallingAgent(tools=[], model=manager_model, verbosity_level=0,
                               managed_agents=[managed, direct])
    assert manager.run("Who is the CEO of Hugging Face?") == "Clem Delangue"
    assert "web_search(task: str) -> str: Runs web searches" in manager_model.calls[0][0]["content"]
    first = manager.logs[1]["observations"]
    assert "final answer from your managed agent 'web_search'" in first and "Clem" in first
    assert "Who is the CEO" in web_model.calls[0][-1]["content"]
    assert "42" in manager.logs[2]["observations"]


def test_duplicate_tool_names_are_refused():
    from agent_core import ToolDefinitionError
    with pytest.raises(ToolDefinitionError, match="named 'add'"):
        ToolCallingAgent(tools=[add, add], model=ScriptedModel([]))


def test_write_memory_to_messages_shows_system_task_steps():
    agent, _ = agent_with([call("add", a=2, b=3), call("final_answer", answer="5")])
    agent.run("What is 2 + 3?")
    messages = agent.write_memory_to_messages()
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert "New task:\nWhat is 2 + 3?" in messages[1]["content"]
    assert "Observation:\n5" in messages[3]["content"]


def test_base_toolbox_python_interpreter_runs_in_the_agents_executor_tier():
    agent = ToolCallingAgent(tools=[], model=ScriptedModel([]), add_base_tools=True,
                             executor_type="sandbox", verbosity_level=0)
    assert set(agent.tools) >= {"web_search", "visit_webpage", "transcriber",
                                "python_interpreter", "final_answer"}
    assert agent.tools["python_interpreter"].executor_type == "sandbox"
    from agent_core import CodeAgent
    code_agent = CodeAgent(tools=[], model=ScriptedModel([]), add_base_tools=True)
    assert "python_interpreter" not in code_agent.tools


def test_image_final_answers_become_agent_images():
    from PIL import Image

    from agent_core import AgentImage

    @tool
    def draw(size: int) -> Image.Image:
        """Draws a red square.

        Args:
            size: side in pixels.
        """
        return Image.new("RGB", (size, size), "red")

    agent = ToolCallingAgent(tools=[draw], model=ScriptedModel([
        call("draw", size=8),
        ChatMessage(content=None, tool_calls=[ModelToolCall("final_answer", {"answer": None})]),
    ]), verbosity_level=0)
    agent.model.replies[1] = call("final_answer", answer="img")
    answer = agent.run("draw", additional_args={"img": Image.new("RGB", (4, 4), "blue")})
    assert isinstance(answer, AgentImage) and answer.to_raw().size == (4, 4)


def test_code_agent_additional_args_reach_the_code_and_persist_across_follow_ups():
    from agent_core import CodeAgent

    model = ScriptedModel([
        "Code:\n```py\ntotal = sum(numbers)\nnumbers.append(99)\nfinal_answer(total)\n```",
        "Code:\n```py\nfinal_answer((len(numbers), factor * total))\n```",
    ])
    agent = CodeAgent(tools=[], model=model, verbosity_level=0)
    assert agent.run("sum them", additional_args={"numbers": [1, 2, 3]}) == 6
    # the follow-up adds a variable; the code's own changes to `numbers` survive
    assert agent.run("scale", reset=False, additional_args={"factor": 10}) == (4, 60)
    assert "factor (int): 10" in model.calls[1][-1]["content"]


def test_console_output_never_shows_secret_values(monkeypatch):
    import io

    from rich.console import Console

    from agent_core import CodeAgent
    from agent_core.console import ConsolePrinter

    secret = "hf_consoleSecretToken1234567890abcd"
    monkeypatch.setenv("HF_TOKEN", secret)
    buffer = io.StringIO()
    agent = CodeAgent(tools=[], model=ScriptedModel([
        f"Code:\n```py\nprint('{secret}')\nfinal_answer('{secret}')\n```"]))
    agent._console = ConsolePrinter(console=Console(file=buffer, width=200), model_label="m")
    agent.run(f"Echo {secret}")
    out = buffer.getvalue()
    assert "New run" in out and "Execution logs:" in out and "Final answer" in out
    assert secret not in out and "[REDACTED]" in out
