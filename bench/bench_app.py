"""N simulated visitors of the Space app, all at once, each running a 5-step task.

The app runs as ``python app.py`` in its own process (sandbox executor by default,
run logging on, as a public Space would), the model is a scripted OpenAI-compatible
server on 127.0.0.1 streaming SSE, and each visitor is a real ``gradio_client.Client``
(its own browser session) that submits the task at the same moment as the others.

Measured per visitor, from the submit:
- first step: the first chat update holding an agent step (the pending "Step 1"
  message streamed before the model's first token);
- first token: the first update holding model text;
- final answer: the update holding "Final answer".
Reported: p50 / p95 over the visitors, and memory per session = growth of the app's
resident memory (its process plus the sandbox workers) divided by N.

Target on the 2-core machines: N = 20 with p95 time to first step <= 1 s.

Run: python bench/bench_app.py [--n 1 5 20] [--executor sandbox|local]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests._scripted_openai_server import Reply, ScriptedOpenAIServer, code_reply  # noqa: E402

STEPS = 5
SCRIPT = [Reply(code_reply(f"total_{i} = sum(range({i} * 1000))\nprint(total_{i})",
                           f"Step {i}: I add up the numbers below {i * 1000}."),
                chunk_delay_s=0.002) for i in range(1, STEPS)] + \
    [Reply(code_reply("final_answer(total_4)", "All steps are done."), chunk_delay_s=0.002)]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve_model(port: int, stop) -> None:
    server = ScriptedOpenAIServer(scripts={"bench": SCRIPT}, port=port).start()
    stop.wait()
    server.stop()


def start_model_server() -> tuple[object, object, str]:
    """The scripted model in its own process: it must not compete with the visitors'
    clients for this process's GIL (a real model server runs elsewhere too)."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    stop, port = ctx.Event(), free_port()
    proc = ctx.Process(target=_serve_model, args=(port, stop), daemon=True)
    proc.start()
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/models", timeout=1).read()
            return proc, stop, url
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the scripted model server did not start")


def start_app(model_url: str, executor: str, tmp: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "AGENT_MODEL": f"openai:scripted@{model_url}",
           "AGENT_EXECUTOR": executor, "GRADIO_SERVER_NAME": "127.0.0.1",
           "GRADIO_SERVER_PORT": str(port), "RUNS_DIR": str(tmp / "runs"),
           "AGENT_DATA_DIR": str(tmp / "sessions"), "GRADIO_ANALYTICS_ENABLED": "False",
           "AGENT_MAX_STEPS": str(STEPS + 1)}
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "config", timeout=2).read()
            return proc, url
        except OSError:
            if proc.poll() is not None:
                raise SystemExit("app.py exited during start-up")
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("app.py did not start")


def _children(pid: int) -> list[int]:
    kids = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids += [int(k) for k in (task / "children").read_text().split()]
        except OSError:
            pass
    return kids


def rss_mb(pid: int) -> float:
    """Resident memory of the process and all its descendants (sandbox workers), in MB."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in status.splitlines()
                       if line.startswith("VmRSS:")), 0)
        todo += _children(current)
    return total / 1024


def _texts(chat: list) -> list[tuple[str, str | None]]:
    out = []
    for message in chat or []:
        title = (message.get("metadata") or {}).get("title")
        for part in message.get("content") or []:
            out.append((part.get("text") or "", title))
    return out


def visitor(url: str, task: str, barrier: threading.Barrier, result: dict) -> None:
    """One visitor: its own Client (browser session), submitting when all are ready.

    Outputs are polled every 10 ms rather than iterated: ``Job.__next__`` spins on a
    1 ms sleep, and 20 spinning visitors would take the CPU from the app they measure.
    """
    from gradio_client import Client

    # Plain HTTP on 127.0.0.1: without ssl_verify=False every httpx client the
    # gradio_client makes loads the CA bundle (~40 ms of CPU each, at submit time).
    client = Client(url, verbose=False, ssl_verify=False)
    barrier.wait()
    started = time.monotonic()
    job = client.submit({"text": task, "files": []}, api_name="/chat")
    seen = 0
    while True:
        outputs, done = job.outputs(), job.done()
        now = time.monotonic() - started
        for chat in outputs[seen:]:  # the /chat endpoint streams the chat (a message list)
            texts = _texts(chat)
            if "first_step" not in result and any(t and t.startswith("Step ") for _, t in texts):
                result["first_step"] = now
            if "first_token" not in result and any(t.startswith("Thought") for t, _ in texts):
                result["first_token"] = now
            if "final" not in result and any(t.startswith("**Final answer") for t, _ in texts):
                result["final"] = now
                result["ok"] = any(t == f"**Final answer:** {sum(range(4000))}" for t, _ in texts)
        seen = len(outputs)
        if done or now > 120:
            return
        time.sleep(0.01)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def run_round(url: str, n: int, pid: int, label: str) -> dict:
    before = rss_mb(pid)
    barrier = threading.Barrier(n)
    results = [{} for _ in range(n)]
    threads = [threading.Thread(target=visitor, args=(url, f"bench {label} visitor {i}",
                                                      barrier, results[i]), daemon=True)
               for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    time.sleep(0.5)
    after = rss_mb(pid)
    firsts = [r["first_step"] for r in results if "first_step" in r]
    tokens = [r["first_token"] for r in results if "first_token" in r]
    finals = [r["final"] for r in results if "final" in r]
    return {"n": n, "ok": sum(bool(r.get("ok")) for r in results),
            "first_p50": pct(firsts, 0.5), "first_p95": pct(firsts, 0.95),
            "token_p50": pct(tokens, 0.5), "token_p95": pct(tokens, 0.95),
            "final_p50": pct(finals, 0.5), "final_p95": pct(finals, 0.95),
            "mb_per_session": (after - before) / n, "rss_mb": after}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[1, 5, 20])
    parser.add_argument("--executor", default="sandbox", choices=["sandbox", "local"])
    args = parser.parse_args()
    model_proc, model_stop, model_url = start_model_server()
    tmp = Path(tempfile.mkdtemp(prefix="bench-app-"))
    proc, url = start_app(model_url, args.executor, tmp)
    try:
        run_round(url, 1, proc.pid, "warmup")  # imports, first connections
        rows = [run_round(url, n, proc.pid, f"n{n}") for n in args.n]
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        model_stop.set()
        model_proc.join(timeout=10)
    print(f"\nSpace app, {STEPS}-step scripted task, executor={args.executor}, "
          f"{os.cpu_count()} cores (seconds from submit)")
    print(f"{'N':>3} {'ok':>4} {'first step p50/p95':>20} {'first token p50/p95':>21} "
          f"{'final answer p50/p95':>22} {'MB/session':>11}")
    for r in rows:
        print(f"{r['n']:>3} {r['ok']:>4} {r['first_p50']:>9.3f} / {r['first_p95']:<8.3f} "
              f"{r['token_p50']:>9.3f} / {r['token_p95']:<9.3f} {r['final_p50']:>9.3f} / "
              f"{r['final_p95']:<10.3f} {r['mb_per_session']:>10.1f}")
    target = next((r for r in rows if r["n"] == 20), None)
    if target is not None:
        verdict = "meets" if target["first_p95"] <= 1.0 else "MISSES"
        print(f"N=20 p95 time to first step {target['first_p95']:.3f} s: {verdict} the "
              "<= 1 s target")


if __name__ == "__main__":
    main()
