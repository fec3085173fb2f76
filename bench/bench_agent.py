"""Framework overhead per step, and `import agent_core` time.

Prints ms/step of the agent loop with ScriptedModel and 10 tools over a 20-step run
(targets: <= 2 ms/step), for ToolCallingAgent and CodeAgent (local executor), and the
seconds `python -c "import agent_core"` takes (target <= 0.3 s).

Run: python bench/bench_agent.py
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent_core import CodeAgent, ScriptedModel, ToolCallingAgent, tool  # noqa: E402

STEPS = 20


def make_tools(n: int = 10):
    tools = []
    for i in range(n):
        def fn(x: int) -> int:
            """Adds a constant.

            Args:
                x: the number.
            """
            return x + 1
        fn.__name__ = f"tool_{i}"
        tools.append(tool(fn))
    return tools


def tool_calling_replies():
    calls = [json.dumps({"name": f"tool_{i % 10}", "arguments": {"x": i}}) for i in range(STEPS - 1)]
    return calls + [json.dumps({"name": "final_answer", "arguments": {"answer": "done"}})]


def code_replies():
    steps = [f"Thought: step {i}\nCode:\n```py\ny = tool_{i % 10}(x={i})\nprint(y)\n```"
             for i in range(STEPS - 1)]
    return steps + ["Thought: done\nCode:\n```py\nfinal_answer(y)\n```"]


def measure(make_agent, replies, runs: int = 15) -> float:
    times = []
    for _ in range(runs):
        agent = make_agent(ScriptedModel(replies))
        started = time.perf_counter()
        agent.run("benchmark task")
        elapsed = time.perf_counter() - started
        assert len(agent.memory.action_steps()) == STEPS
        times.append(elapsed / STEPS * 1000)
    return statistics.median(times)


def import_time(runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import agent_core"], check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    tools = make_tools()
    tc = measure(lambda m: ToolCallingAgent(tools=tools, model=m, verbosity_level=0,
                                            max_steps=STEPS), tool_calling_replies())
    print(f"ToolCallingAgent: {tc:.3f} ms/step (ScriptedModel, 10 tools, {STEPS} steps; "
          "target <= 2 ms)")
    try:
        code = measure(lambda m: CodeAgent(tools=tools, model=m, verbosity_level=0,
                                           max_steps=STEPS), code_replies())
        print(f"CodeAgent (local executor): {code:.3f} ms/step (target <= 2 ms)")
    except ImportError as err:
        print(f"CodeAgent: skipped ({err})")
    print(f"python -c 'import agent_core': {import_time():.3f} s (target <= 0.3 s; "
          "includes interpreter start-up)")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    print(f"  (bare interpreter start-up: {time.perf_counter() - started:.3f} s)")


if __name__ == "__main__":
    main()
