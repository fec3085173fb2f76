"""Helpers of the hub_tools tests: subprocess environments, ports, waiting for servers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.hub_server import HubServer

REPO_ROOT = Path(__file__).resolve().parents[2]
TOKEN = "hf_hubtoolsTestToken0123456789abcd"
BOB_TOKEN = "hf_bobTestToken0123456789abcdefgh"
USER = "alice"


def subprocess_env(hub: HubServer, home: Path) -> dict[str, str]:
    """Environment of a child process talking to ``hub`` as alice."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env.update(hub.env())
    env.update({"HF_TOKEN": TOKEN, "HF_HOME": str(home), "GRADIO_ANALYTICS_ENABLED": "False",
                "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")])})
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, proc: subprocess.Popen | None = None, timeout: float = 90) -> None:
    """Wait until ``url`` answers (or the process dies, or time runs out)."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            raise RuntimeError(f"process exited with {proc.returncode}: {out[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


def run_python(code: str, env: dict[str, str], cwd: Path, timeout: float = 120):
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)
