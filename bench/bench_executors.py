"""Benchmark of the executors on typical agent snippets.

Prints, for each snippet, the best-of-N wall time on plain ``exec()``, on
LocalPythonExecutor and on SandboxExecutor, and the ratios to plain ``exec``; then
the sandbox worker's start time and its warm per-call overhead.

Targets (issue 3): local <= 3x plain exec on loop-heavy code; sandbox warm per-call
overhead <= 20 ms; worker start <= 300 ms. The machines are shared and have 2 cores:
best-of-N is reported to damp noise from other processes.

Run: ``python bench/bench_executors.py [--repeat N]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from agent_core.executors.local import LocalPythonExecutor  # noqa: E402
from agent_core.executors.sandbox import SandboxExecutor  # noqa: E402

SNIPPETS = {
    "loop 10**6": "total = 0\nfor i in range(10**6):\n    total += i",
    "list comprehension": "squares = [i * i for i in range(10**6)]",
    "string building": ("parts = []\nfor i in range(200_000):\n    parts.append(str(i))\n"
                        "text = ','.join(parts)"),
    "word counting": ("words = ('the quick brown fox jumps over the lazy dog ' * 40_000).split()\n"
                      "counts = {}\nfor w in words:\n    counts[w] = counts.get(w, 0) + 1"),
    "recursive fib(25)": "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\nfib(25)",
    "sorting": ("import random\nrandom.seed(0)\ndata = [random.random() for _ in range(200_000)]\n"
                "data.sort()\ntop = sorted(data, reverse=True)[:3]"),
    "numpy": ("import numpy as np\na = np.random.default_rng(0).random((400, 400))\n"
              "b = float((a @ a).sum())"),
    "pandas groupby": ("import numpy as np\nimport pandas as pd\n"
                       "df = pd.DataFrame({'g': np.arange(200_000) % 100, 'v': np.arange(200_000)})\n"
                       "means = df.groupby('g')['v'].mean()"),
}
LOOP_HEAVY = ("loop 10**6", "string building", "word counting", "recursive fib(25)")


def best_of(run, repeat: int) -> float:
    run()  # warm-up: imports, caches
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def bench_snippets(repeat: int) -> None:
    local = LocalPythonExecutor(["numpy", "pandas"], timeout=None)
    sandbox = SandboxExecutor(["numpy", "pandas"], timeout=None, memory_mb=2048)
    print(f"{'snippet':22s} {'exec':>9s} {'local':>9s} {'sandbox':>9s} {'local/x':>8s} "
          f"{'sandbox/x':>9s}")
    worst_loop_ratio = 0.0
    try:
        for name, code in SNIPPETS.items():
            compiled = compile(code, "<bench>", "exec")
            plain = best_of(lambda: exec(compiled, {}), repeat)  # noqa: S102
            in_local = best_of(lambda: local(code), repeat)
            in_sandbox = best_of(lambda: sandbox(code), repeat)
            if name in LOOP_HEAVY:
                worst_loop_ratio = max(worst_loop_ratio, in_local / plain)
            print(f"{name:22s} {plain * 1e3:7.1f}ms {in_local * 1e3:7.1f}ms "
                  f"{in_sandbox * 1e3:7.1f}ms {in_local / plain:7.2f}x {in_sandbox / plain:8.2f}x")
    finally:
        sandbox.close()
    print(f"\nworst local/exec ratio on loop-heavy snippets: {worst_loop_ratio:.2f}x (target <= 3x)")


def bench_sandbox_overheads(starts: int, calls: int) -> None:
    start_times = []
    for _ in range(starts):
        ex = SandboxExecutor()
        start_times.append(ex.start_seconds)
        ex.close()
    ex = SandboxExecutor()
    try:
        ex.send_tools({"final_answer": lambda answer: answer})
        for _ in range(10):
            ex("1")
        call_times = []
        for _ in range(calls):
            started = time.perf_counter()
            ex("x = 1")
            call_times.append(time.perf_counter() - started)
        layers = ex.describe()
    finally:
        ex.close()
    print(f"sandbox worker start: median {statistics.median(start_times) * 1e3:.0f} ms, "
          f"min {min(start_times) * 1e3:.0f} ms over {starts} starts (target <= 300 ms)")
    print(f"sandbox warm per-call overhead: median {statistics.median(call_times) * 1e3:.2f} ms, "
          f"p95 {sorted(call_times)[int(0.95 * len(call_times))] * 1e3:.2f} ms "
          f"over {calls} calls (target <= 20 ms)")
    print(f"sandbox layers missing here: {layers['missing_layers'] or 'none'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per snippet (best is kept)")
    parser.add_argument("--starts", type=int, default=10, help="worker starts to time")
    parser.add_argument("--calls", type=int, default=200, help="warm calls to time")
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs\n")
    bench_snippets(args.repeat)
    print()
    bench_sandbox_overheads(args.starts, args.calls)


if __name__ == "__main__":
    main()
