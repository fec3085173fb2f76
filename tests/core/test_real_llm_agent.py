"""Real agent runs on the real embedded model (Qwen2.5-Coder-1.5B GGUF, llama.cpp in-process).

The model is real and small, so the checks are tolerant: the run finishes, the code
really ran, and the answer is an integer. Deterministic behaviour of the loop is
tested with ScriptedModel elsewhere.
"""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.llm


@pytest.fixture(scope="module")
def embedded_model():
    pytest.importorskip("llama_cpp")
    from agent_core import LlamaCppModel

    return LlamaCppModel(max_tokens=400, temperature=0.0)


def _as_int(value) -> int:
    """The integer in an answer; small models sometimes answer in a sentence."""
    numbers = re.findall(r"-?\d+", str(value).replace(",", ""))
    assert numbers, f"no integer in the answer {value!r}"
    return int(numbers[-1])


def test_code_agent_solves_arithmetic_with_the_embedded_model(embedded_model):
    from agent_core import CodeAgent, RunEnd

    agent = CodeAgent(tools=[], model=embedded_model, max_steps=4, verbosity_level=0,
                      stream_outputs=True)
    events = list(agent.run("What is 17 * 23 + 5? Compute it with Python.", stream=True))
    end = events[-1]
    assert isinstance(end, RunEnd) and end.status in ("success", "max_steps"), end.error
    actions = [log for log in agent.logs if log["type"] == "action"]
    assert any(a["code"] for a in actions), "the model wrote no code"
    assert any(a["observations"] and a["error"] is None for a in actions), "no code ran"
    assert any(type(e).__name__ == "TokenDelta" for e in events), "tokens were not streamed"
    assert isinstance(_as_int(end.output), int)
    assert actions[0]["input_tokens"] > 100 and actions[0]["output_tokens"] > 0


def test_tool_calling_agent_calls_a_tool_with_the_embedded_model(embedded_model):
    from agent_core import ToolCallingAgent, tool

    calls = []

    @tool
    def multiply(a: int, b: int) -> int:
        """Multiplies two integers.

        Args:
            a: the first integer.
            b: the second integer.
        """
        calls.append((a, b))
        return a * b

    agent = ToolCallingAgent(tools=[multiply], model=embedded_model, max_steps=4,
                             verbosity_level=0)
    end = list(agent.run("Use the multiply tool to compute 12 times 34.", stream=True))[-1]
    assert end.status in ("success", "max_steps"), end.error
    assert calls, "the model never called the tool"
    assert isinstance(_as_int(end.output), int)
