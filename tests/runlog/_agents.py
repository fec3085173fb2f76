"""Agents with scripted models that make real event streams (also used by subprocesses)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from agent_core import ScriptedModel, ToolCallingAgent, tool


def call(name: str, **arguments) -> str:
    """A tool call as a small model writes it: JSON text."""
    return json.dumps({"name": name, "arguments": arguments})


@tool
def add(a: int, b: int) -> int:
    """Adds two integers.

    Args:
        a: the first integer.
        b: the second integer.
    """
    return a + b


@tool
def wait_for(step: int, signal_file: str) -> str:
    """Returns at once, except at step 3: creates signal_file and sleeps (to be killed).

    Args:
        step: the step number.
        signal_file: the file that tells the test the run is at step 3.
    """
    if step == 3:
        Path(signal_file).write_text(str(os.getpid()))
        time.sleep(120)
    return f"step {step} done"


def adding_agent(callbacks, answer="5", n_adds: int = 1, **kwargs) -> ToolCallingAgent:
    """An agent that calls ``add`` ``n_adds`` times, then answers ``answer``."""
    replies = [call("add", a=i, b=2) for i in range(n_adds)] + [call("final_answer",
                                                                     answer=answer)]
    return ToolCallingAgent(tools=[add], model=ScriptedModel(replies), verbosity_level=0,
                            event_callbacks=list(callbacks), **kwargs)
