"""Run logging overhead per step, with and without the CommitScheduler pushing.

Two measures, each local-only and with a scheduler pushing to a Hub-protocol server
on 127.0.0.1 every 3 s (so commits happen during the measure):

1. callback: the logger's callback fed a recorded event stream (20 steps with
   streamed tokens, tool calls and outputs, ~1 kB of model output and observations
   per step) -> µs per step spent in logging, everything included (journal write,
   redaction, run record, fsync at run end).
2. agent: a 20-step ToolCallingAgent run with a ScriptedModel, with and without the
   callback -> the difference per step (fastest runs compared: on a shared machine
   medians of whole runs are noisy).

Target: <= 1 ms (1000 µs) per step.

Run: python bench/bench_runlog.py
"""

from __future__ import annotations

import dataclasses
import json
import logging
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent_core import ScriptedModel, ToolCallingAgent, tool  # noqa: E402
from hub_tools.runlog import RunLogger  # noqa: E402

STEPS = 20
TOKEN = "hf_benchToken0123456789abcdefghij"


@tool
def lookup(query: str) -> str:
    """Looks something up.

    Args:
        query: what to look up.
    """
    return f"Result for {query}: " + "lorem ipsum dolor sit amet " * 30


def replies() -> list[str]:
    thought = "I should look this up carefully, considering the context. " * 8
    calls = [thought + json.dumps({"name": "lookup", "arguments": {"query": f"item {i}"}})
             for i in range(STEPS - 1)]
    return calls + [json.dumps({"name": "final_answer", "arguments": {"answer": "done"}})]


def make_agent(callbacks) -> ToolCallingAgent:
    return ToolCallingAgent(tools=[lookup], model=ScriptedModel(replies(), chunk_size=16),
                            max_steps=STEPS, verbosity_level=0, stream_outputs=True,
                            event_callbacks=list(callbacks))


def record_events() -> list:
    events: list = []
    make_agent([events.append]).run("benchmark task")
    return events


def fresh(events: list) -> list:
    run_id = uuid.uuid4().hex
    return [dataclasses.replace(e, run_id=run_id) if hasattr(e, "run_id") else e
            for e in events]


def bench_callback(run_logger: RunLogger, events: list, runs: int = 60) -> float:
    """Median µs per step spent in the callback over whole runs."""
    per_step = []
    for _ in range(runs):
        cb, stream = run_logger.callback("bench-session"), fresh(events)
        started = time.perf_counter()
        for event in stream:
            cb(event)
        per_step.append((time.perf_counter() - started) / STEPS * 1e6)
    return statistics.median(per_step)


def _agent_run_us(callbacks) -> float:
    agent = make_agent(callbacks)
    started = time.perf_counter()
    agent.run("benchmark task")
    return (time.perf_counter() - started) / STEPS * 1e6


def bench_agent(run_logger: RunLogger, runs: int = 40) -> tuple[float, float]:
    """Fastest µs per step of whole agent runs with logging, and its difference with the
    fastest without (alternated runs; the minimum is the figure least disturbed by other
    work on the machine)."""
    with_log, without = [], []
    for _ in range(runs):
        without.append(_agent_run_us([]))
        with_log.append(_agent_run_us([run_logger.callback("bench-session")]))
    return min(with_log), min(with_log) - min(without)


def measure(label: str, run_logger: RunLogger, events: list) -> None:
    cb_us = bench_callback(run_logger, events)
    agent_us, extra = bench_agent(run_logger)
    print(f"{label:<31} callback {cb_us:6.1f} µs/step | agent run {agent_us:6.1f} µs/step, "
          f"{extra:+6.1f} vs no logging")


def main() -> None:
    logging.getLogger("huggingface_hub").setLevel(logging.CRITICAL)
    events = record_events()
    assert sum(type(e).__name__ == "ActionStep" for e in events) == STEPS
    n_deltas = sum(type(e).__name__ == "TokenDelta" for e in events)
    print(f"{STEPS} steps, {len(events)} events ({n_deltas} token deltas) per run; "
          "target <= 1000 µs/step")
    baseline = min(_agent_run_us([]) for _ in range(25))
    print(f"{'no logging':<31} {'':>24} | agent run {baseline:6.1f} µs/step")
    with tempfile.TemporaryDirectory() as tmp:
        with RunLogger(runs_dir=Path(tmp) / "local", dataset="") as local:
            measure("local JSONL", local, events)
        try:
            from huggingface_hub import HfApi

            from tests.hub_server import HubServer
        except ImportError as err:
            print(f"with scheduler: skipped ({err})")
            return
        with HubServer(users={TOKEN: "bench"}) as hub:
            api = HfApi(endpoint=hub.url, token=TOKEN)
            with RunLogger(runs_dir=Path(tmp) / "pushed", dataset="bench/runs", hf_api=api,
                           every_minutes=0.05) as pushed:
                measure("local JSONL + CommitScheduler", pushed, events)
            commits = hub.commit_count("bench/runs", repo_type="dataset")
            print(f"  ({commits} commits pushed to the test Hub during the measure)")


if __name__ == "__main__":
    main()
