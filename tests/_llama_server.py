"""Start and stop a real OpenAI-compatible server: ``python -m llama_cpp.server``.

Reusable by any test (needs ``pip install 'llama-cpp-python[server]'``)::

    from tests._llama_server import LlamaServer
    with LlamaServer(gguf_path, model_alias="qwen") as server:
        OpenAIServerModel("qwen", api_base=server.api_base, api_key="x")

The server listens on 127.0.0.1 on a free port, loads the weights into memory (no
mmap, all cores) and is stopped (its process group killed) on exit.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

__all__ = ["LlamaServer", "free_port"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LlamaServer:
    """``python -m llama_cpp.server`` serving one GGUF on 127.0.0.1.

    Args:
        model_path: the GGUF file.
        model_alias: the model name clients ask for.
        n_ctx: context window.
        api_key: if set, the server requires ``Authorization: Bearer <api_key>``.
        startup_timeout: seconds to wait for the server to answer.
        extra_args: more ``llama_cpp.server`` command-line arguments.

    Attributes:
        port, base_url (``http://127.0.0.1:<port>``), api_base (``.../v1``).
    """

    def __init__(self, model_path: str | os.PathLike, model_alias: str = "local-model",
                 n_ctx: int = 4096, api_key: str | None = None,
                 startup_timeout: float = 120.0, extra_args: list[str] | None = None):
        self.model_path = str(model_path)
        self.model_alias = model_alias
        self.n_ctx = n_ctx
        self.api_key = api_key
        self.startup_timeout = startup_timeout
        self.extra_args = list(extra_args or [])
        self.port = 0
        self.process: subprocess.Popen | None = None
        self._log = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/v1"

    def command(self) -> list[str]:
        threads = str(os.cpu_count() or 1)
        cmd = [sys.executable, "-m", "llama_cpp.server", "--model", self.model_path,
               "--model_alias", self.model_alias, "--host", "127.0.0.1",
               "--port", str(self.port), "--n_ctx", str(self.n_ctx), "--use_mmap", "False",
               "--n_threads", threads, "--n_threads_batch", threads, "--verbose", "False"]
        if self.api_key:
            cmd += ["--api_key", self.api_key]
        return cmd + self.extra_args

    def start(self) -> "LlamaServer":
        """Start the server and wait until ``/v1/models`` answers."""
        self.port = free_port()
        self._log = tempfile.NamedTemporaryFile("w+", prefix="llama_server_", suffix=".log",
                                                delete=False)
        self.process = subprocess.Popen(self.command(), stdout=self._log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        start_new_session=True)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with {self.process.returncode}:\n"
                                   + self.log_tail())
            if self._ready():
                return self
            time.sleep(0.25)
        self.stop()
        raise TimeoutError(f"llama_cpp.server did not answer in {self.startup_timeout} s:\n"
                           + self.log_tail())

    def _ready(self) -> bool:
        request = urllib.request.Request(f"{self.api_base}/models")
        if self.api_key:
            request.add_header("Authorization", f"Bearer {self.api_key}")
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the server's output (for failure messages)."""
        if self._log is None:
            return ""
        return Path(self._log.name).read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        """Stop the server (SIGTERM to its process group, SIGKILL after 10 s)."""
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            except ProcessLookupError:
                pass
        if self._log is not None:
            self._log.close()
            Path(self._log.name).unlink(missing_ok=True)
            self._log = None

    def __enter__(self) -> "LlamaServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
