"""Figures for hub_tools against the local Hub-protocol server (not a timed test).

Prints the median time of: rendering a tool's Space files, a push that commits, a push
of unchanged files (no commit), a cold trusted load (download) and a cached load.

    python bench/bench_hub_tools.py [--rounds 10]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_DISABLE_XET", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def _median_ms(fn, rounds: int) -> float:
    times = []
    for i in range(rounds):
        start = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=10)
    rounds = parser.parse_args().rounds

    from huggingface_hub import HfApi
    from huggingface_hub.utils import logging as hf_logging

    from hub_tools import load_tool, push_tool, space_files
    from tests.hub_server import HubServer
    from tests.hub_tools import sample_tools

    hf_logging.set_verbosity_error()
    logging.getLogger("hub_tools").setLevel(logging.ERROR)
    with HubServer() as hub, tempfile.TemporaryDirectory() as tmp:
        api = HfApi(endpoint=hub.url, token=hub.token)
        figures = {
            "render Space files": _median_ms(
                lambda i: space_files(sample_tools.add, "b/x"), rounds),
            "push (new commit)": _median_ms(
                lambda i: push_tool(sample_tools.add, f"{hub.user}/t{i}", api=api), rounds),
            "push (unchanged)": _median_ms(
                lambda i: push_tool(sample_tools.add, f"{hub.user}/t{i}", api=api), rounds),
            "load (cold cache)": _median_ms(
                lambda i: load_tool(f"{hub.user}/t{i}", True, api=api, lock_file=False,
                                    cache_dir=f"{tmp}/cold{i}"), rounds),
            "load (cached, pinned)": _median_ms(
                lambda i: load_tool(f"{hub.user}/t{i}", True, api=api,
                                    lock_file=f"{tmp}/lock.json", cache_dir=f"{tmp}/cold{i}"),
                rounds),
        }
    for name, ms in figures.items():
        print(f"{name:24s} {ms:8.1f} ms (median of {rounds})")


if __name__ == "__main__":
    main()
