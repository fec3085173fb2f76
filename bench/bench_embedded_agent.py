"""Success rate and prompt tokens per solved task of a CodeAgent on the embedded model.

The measure DESIGN.md names for small local models: how many small tasks the agent
solves on Qwen2.5-Coder-1.5B (llama.cpp, CPU), and what each solved task costs in
prompt tokens and seconds.

Run: python bench/bench_embedded_agent.py [--variant 1.5b|0.5b] [--tasks N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TASKS = [
    ("What is 17 * 23 + 5?", "396"),
    ("Could you give me the 118th number in the Fibonacci sequence (F1 = F2 = 1)?",
     "2046711111473984623691759"),
    ("How many prime numbers are there below 100?", "25"),
    ("What is the sum of the digits of 2**100?", "115"),
    ("Reverse the string 'agent core' and give it back.", "eroc tnega"),
    ("How many days are there between 2024-01-01 and 2024-12-25?", "359"),
    ("What is the greatest common divisor of 1071 and 462?", "21"),
    ("Sort the words 'pear apple fig' alphabetically and join them with commas.",
     "apple,fig,pear"),
]


def solved(answer, expected: str) -> bool:
    text = str(answer).strip().lower().replace(" ", "") if answer is not None else ""
    return expected.replace(" ", "") in text


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variant", default="1.5b")
    parser.add_argument("--tasks", type=int, default=len(TASKS))
    args = parser.parse_args()
    from agent_core import CodeAgent, LlamaCppModel

    model = LlamaCppModel(variant=args.variant, temperature=0.0, max_tokens=400)
    wins, tokens_solved, seconds = 0, 0, 0.0
    for task, expected in TASKS[: args.tasks]:
        agent = CodeAgent(tools=[], model=model, max_steps=5, verbosity_level=0)
        started = time.time()
        end = list(agent.run(task, stream=True))[-1]
        elapsed = time.time() - started
        ok = end.status == "success" and solved(end.output, expected)
        wins += ok
        if ok:
            tokens_solved += end.input_tokens
            seconds += elapsed
        print(f"{'PASS' if ok else 'FAIL'} {elapsed:6.1f}s steps={end.steps} "
              f"in={end.input_tokens} out={end.output_tokens} answer={str(end.output)[:40]!r} "
              f"task={task[:50]!r}", flush=True)
    n = args.tasks
    print(f"success rate: {wins}/{n} = {wins / n:.0%} ({args.variant})")
    if wins:
        print(f"prompt tokens per solved task: {tokens_solved / wins:.0f}; "
              f"seconds per solved task: {seconds / wins:.1f}")


if __name__ == "__main__":
    main()
