"""The sandbox executor: model code in a confined, long-lived worker subprocess."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from typing import Any, Callable, Iterable

from .._secrets import redact, scrubbed_env
from ..exceptions import InterpreterError
from . import _codec
from ._channel import Channel, ChannelClosed, ChannelTimeout, MessageTooLarge
from ._oslayers import LAYERS, default_read_paths, readable_by_others
from ._policy import normalise_imports
from .base import CodeOutput, Executor
from .local import DEFAULT_MAX_PRINT_OUTPUTS_LENGTH

__all__ = ["SandboxExecutor"]

logger = logging.getLogger(__name__)

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_BOOT = ("import sys; sys.path.insert(0, sys.argv[2]); "
         "from agent_core.executors._worker import main; main()")
_GRACE_S = 2.0  # the worker's own soft stop comes first; the kill is the backstop
_START_TIMEOUT_S = 20.0
_INTERRUPT_KILL_S = 1.5
_STATE_LOST = ("The sandbox worker was restarted: all variables, imports and functions "
               "from previous steps were lost; re-create what you need.")


class SandboxExecutor(Executor):
    """Runs model code in a worker subprocess behind OS isolation layers.

    The worker runs the same restricted language layer as
    :class:`~agent_core.executors.local.LocalPythonExecutor`, after confining itself
    with whatever the kernel allows, each layer detected and reported (``describe()``
    and a log line at start-up): a scrubbed environment (no secrets); a new network
    namespace; privileges dropped; rlimits on address space, CPU time, file size,
    open files and processes; Landlock (filesystem: the scratch dir read-write, the
    Python install read-only; TCP bind/connect denied; signals scoped); seccomp
    (no sockets, processes, exec, ptrace or mounts). Where Landlock confines files,
    the code also gets ``open``. Tools run in the host: the worker calls them over a
    narrow pipe protocol, and values come back as tagged JSON (never pickle).

    A step that exceeds ``timeout`` is first stopped inside the worker (state kept);
    if that fails within a grace period (a long C call), the worker is killed and
    restarted, and the error tells the model that its state was lost.

    Args:
        additional_authorized_imports: modules allowed on top of the defaults.
        scratch_dir: the worker's working directory (created if None, and then
            removed by ``close()``).
        timeout: wall-clock seconds per step (tool calls excluded), or None.
        memory_mb: address-space limit of the worker.
        max_print_outputs_length: cap on captured ``print`` output per step.
        env_allow: host environment variables passed to the worker (secret-looking
            names are never passed).
        file_mb: the largest file the code may write.
        disk_mb: total size the scratch dir may reach; past it, its files are deleted.
        extra_read_paths: more read-only paths (e.g. an uploads directory).
        layers: the OS layers to try, among ``"network_namespace"`` (needs user
            namespaces when not root), ``"privileges"``, ``"rlimits"``, ``"landlock"``
            and ``"seccomp"`` (default: all). The environment is always scrubbed.

    Example:
        >>> ex = SandboxExecutor(additional_authorized_imports=["numpy"])
        >>> ex.send_tools({"final_answer": lambda answer: answer})
        >>> ex("import numpy as np\\nint(np.arange(5).sum())").output
        10
        >>> ex.close()
    """

    def __init__(self, additional_authorized_imports: Iterable[str] = (),
                 scratch_dir: str | None = None, timeout: float | None = 30,
                 memory_mb: int = 1024, max_print_outputs_length: int | None = None,
                 env_allow: Iterable[str] = (), *, file_mb: int = 100, disk_mb: int = 1024,
                 extra_read_paths: Iterable[str] = (), layers: Iterable[str] = LAYERS):
        self.authorized_imports = list(normalise_imports(additional_authorized_imports))
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.file_mb = file_mb
        self.disk_mb = disk_mb
        self.max_print_outputs_length = max_print_outputs_length or DEFAULT_MAX_PRINT_OUTPUTS_LENGTH
        self.env_allow = tuple(env_allow)
        self.extra_read_paths = [os.path.abspath(p) for p in extra_read_paths]
        self.requested_layers = tuple(layers)
        unknown = set(self.requested_layers) - set(LAYERS)
        if unknown:
            raise ValueError(f"Unknown sandbox layers {sorted(unknown)}; choose among {LAYERS}")
        self._owns_scratch = scratch_dir is None
        self.scratch_dir = os.path.abspath(scratch_dir or tempfile.mkdtemp(prefix="agent-sandbox-"))
        os.makedirs(self.scratch_dir, exist_ok=True)
        self._tools: dict[str, Callable[..., Any]] = {}
        self._variables: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._channel: Channel | None = None
        self._stderr = tempfile.TemporaryFile()
        self._interrupted = False
        self._step = 0  # number of the running step, 0 when idle
        self._steps = 0
        self._final: Any = None
        self.layers: dict[str, Any] = {}
        self.start_seconds: float | None = None
        self._box: dict[str, Any] = {"proc": None}
        self._finalizer: weakref.finalize | None = None
        self._finalizer = weakref.finalize(self, _cleanup, self._box, self.scratch_dir,
                                           self._owns_scratch)
        self._start_worker()

    # --- the interface -------------------------------------------------------------

    def send_tools(self, tools: dict[str, Callable[..., Any]]) -> None:
        """Tools stay in the host; the worker gets their names and calls back."""
        for name in tools:
            if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
                raise ValueError(f"Tool name {name!r} must be a public Python identifier")
        self._tools = dict(tools)
        self._tools.setdefault("final_answer", lambda answer: answer)
        with self._lock:
            self._ensure_worker()
            self._request({"op": "tools", "names": sorted(self._tools)})

    def send_variables(self, variables: dict[str, Any]) -> None:
        """Send variables to the worker (kept here too, to re-send after a restart)."""
        self._variables.update(variables)
        with self._lock:
            self._ensure_worker()
            self._send_variables(variables)

    def __call__(self, code: str) -> CodeOutput:
        """Run one step in the worker.

        Raises:
            InterpreterError: refused or failing code, time limit, interrupt, or a
                worker crash (then the message says the state was lost).
        """
        with self._lock:
            self._ensure_worker()
            self._interrupted = False
            self._final = None
            self._steps += 1
            self._step = self._steps
            try:
                reply = self._run_step(code)
            finally:
                self._step = 0
                self._check_disk()
        logs = reply.get("logs", "")
        if not reply.get("ok"):
            raise _error(reply.get("error", "The code failed."), logs)
        if reply.get("final"):
            return CodeOutput(output=self._final, logs=logs, is_final_answer=True)
        try:
            output = _codec.decode(reply.get("output"))
        except Exception as err:  # noqa: BLE001 - a malformed value from the worker
            raise _error(f"The step's output could not be decoded: {err}", logs) from None
        return CodeOutput(output=output, logs=logs)

    def interrupt(self) -> None:
        """Stop the running step: a signal first, then a kill if it does not stop."""
        proc, step = self._proc, self._step
        if proc is None or not step:
            return
        self._interrupted = True
        try:
            os.kill(proc.pid, signal.SIGUSR1)
        except OSError:
            return
        timer = threading.Timer(_INTERRUPT_KILL_S, self._kill_if_running, args=(proc, step))
        timer.daemon = True
        timer.start()

    def reset(self) -> None:
        """Forget the worker's state (variables, imports, definitions); tools stay."""
        self._variables = {}
        with self._lock:
            if self._alive():
                self._request({"op": "reset"})

    def close(self) -> None:
        """Kill the worker and remove the scratch dir (if this executor created it)."""
        self._kill()
        self._finalizer()
        try:
            self._stderr.close()
        except OSError:
            pass

    def describe(self) -> dict[str, Any]:
        return {"tier": type(self).__name__, "layers": self.layers,
                "missing_layers": _missing_layers(self.layers),
                "worker_start_s": self.start_seconds, "scratch_dir": self.scratch_dir,
                "timeout_s": self.timeout, "memory_mb": self.memory_mb,
                "authorized_imports": list(self.authorized_imports)}

    # --- the worker ----------------------------------------------------------------

    def _alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _ensure_worker(self) -> None:
        if self._finalizer is not None and not self._finalizer.alive:
            raise RuntimeError("This SandboxExecutor is closed; create a new one.")
        if not self._alive():
            self._start_worker()
            if self._tools:
                self._request({"op": "tools", "names": sorted(self._tools)})
            if self._variables:
                self._send_variables(self._variables)

    def _start_worker(self) -> None:
        self._kill()
        started = time.perf_counter()
        to_worker_r, to_worker_w = os.pipe()
        from_worker_r, from_worker_w = os.pipe()
        config = self._worker_config((to_worker_r, from_worker_w))
        env = {**scrubbed_env(self.env_allow), "HOME": self.scratch_dir,
               "TMPDIR": self.scratch_dir, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1", "MPLCONFIGDIR": self.scratch_dir}
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-I", "-B", "-c", _BOOT, json.dumps(config),
                 os.path.dirname(_PACKAGE_DIR)],
                env=env, cwd=self.scratch_dir, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=self._stderr,
                pass_fds=(to_worker_r, from_worker_w), close_fds=True, start_new_session=True)
        finally:
            os.close(to_worker_r)
            os.close(from_worker_w)
        self._channel = Channel(from_worker_r, to_worker_w, max_bytes=64 << 20)
        self._box.update(proc=self._proc, channel=self._channel)
        try:
            ready = self._channel.recv(time.monotonic() + _START_TIMEOUT_S)
        except (ChannelClosed, ChannelTimeout) as err:
            self._kill()
            raise RuntimeError(f"The sandbox worker failed to start: {err}; "
                               f"stderr: {self._stderr_tail()}") from None
        self.start_seconds = time.perf_counter() - started
        self.layers = ready.get("layers", {})
        self._report_layers()

    def _worker_config(self, fds: tuple[int, int]) -> dict[str, Any]:
        drop_uid = None
        if os.geteuid() == 0 and all(readable_by_others(p) for p in (sys.prefix, _PACKAGE_DIR)):
            drop_uid = 65534  # nobody; it must own the scratch dir
            os.chown(self.scratch_dir, drop_uid, drop_uid)
        return {
            "fds": list(fds), "scratch": self.scratch_dir, "timeout": self.timeout,
            "max_print": self.max_print_outputs_length,
            "authorized_imports": self.authorized_imports, "memory_mb": self.memory_mb,
            "file_mb": self.file_mb, "drop_uid": drop_uid, "layers": list(self.requested_layers),
            "read_paths": default_read_paths(_PACKAGE_DIR) + self.extra_read_paths,
        }

    def _report_layers(self) -> None:
        missing = _missing_layers(self.layers)
        logger.info("Sandbox worker started in %.0f ms; layers: %s", 1000 * self.start_seconds,
                    {k: (v.get("ok") if isinstance(v, dict) and "ok" in v else v)
                     for k, v in self.layers.items()})
        if missing:
            logger.warning("Sandbox worker runs without: %s", "; ".join(missing))

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                proc.kill()
        if proc is not None:
            proc.wait()

    def _kill_if_running(self, proc: subprocess.Popen, step: int) -> None:
        # Only kills: the thread running the step sees the pipe close and cleans up.
        if self._proc is proc and self._step == step and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass

    def _stderr_tail(self) -> str:
        try:
            self._stderr.seek(0, os.SEEK_END)
            size = self._stderr.tell()
            self._stderr.seek(max(0, size - 600))
            return redact(self._stderr.read().decode(errors="replace").strip())
        except (OSError, ValueError):
            return ""

    # --- protocol ------------------------------------------------------------------

    def _request(self, message: dict[str, Any]) -> dict[str, Any]:
        assert self._channel is not None
        try:
            self._channel.send(message)
            reply = self._channel.recv(time.monotonic() + _START_TIMEOUT_S)
        except (ChannelClosed, ChannelTimeout, MessageTooLarge) as err:
            reason = self._death_reason(err) if not isinstance(err, ChannelTimeout) \
                else "it did not answer"
            self._kill()
            raise InterpreterError(f"The sandbox worker failed: {reason}. {_STATE_LOST}") \
                from None
        if reply.get("op") == "error":
            raise InterpreterError(reply.get("error", "the sandbox worker refused the request"))
        return reply

    def _send_variables(self, variables: dict[str, Any]) -> None:
        self._request({"op": "vars", "vars": _codec.encode(dict(variables), allow_pickle=True)})

    def _run_step(self, code: str) -> dict[str, Any]:
        assert self._channel is not None
        channel = self._channel
        limit = None if self.timeout is None else self.timeout + _GRACE_S
        deadline = None if limit is None else time.monotonic() + limit
        try:
            channel.send({"op": "run", "code": code})
            while True:
                message = channel.recv(deadline)
                if message.get("op") != "call":
                    return message
                started = time.monotonic()
                channel.send(self._call_tool(message))
                if deadline is not None:
                    deadline += time.monotonic() - started  # tool time does not count
        except ChannelTimeout:
            self._kill()
            raise _error(f"Code execution exceeded the time limit of {self.timeout} seconds "
                         f"and the sandbox worker had to be killed. {_STATE_LOST}", "") from None
        except (ChannelClosed, MessageTooLarge) as err:
            reason = "it was interrupted" if self._interrupted else self._death_reason(err)
            self._kill()
            raise _error(f"The code was stopped: {reason}. {_STATE_LOST}", "") from None

    def _call_tool(self, message: dict[str, Any]) -> dict[str, Any]:
        name = message.get("name")
        tool = self._tools.get(name)
        if tool is None:
            return {"op": "raise", "error": f"Unknown tool {name!r}"}
        try:
            args = _codec.decode(message.get("args") or [])
            kwargs = _codec.decode(message.get("kwargs") or {})
            value = tool(*args, **kwargs)
        except Exception as err:  # noqa: BLE001 - the model sees the tool's error
            return {"op": "raise", "error": f"Tool {name!r} failed: {type(err).__name__}: {err}"}
        if name == "final_answer":
            self._final = value  # kept here: the host object itself is the answer
            return {"op": "return", "value": None}
        return {"op": "return", "value": _codec.encode(value, allow_pickle=True)}

    def _death_reason(self, err: Exception) -> str:
        if isinstance(err, MessageTooLarge):
            return "its output was too large"
        proc = self._proc
        try:
            code = proc.wait(timeout=2) if proc is not None else None
        except subprocess.TimeoutExpired:
            return "the sandbox worker stopped answering"
        reasons = {-signal.SIGXCPU: "it exceeded its CPU time limit",
                   -signal.SIGKILL: "the worker was killed (likely out of memory)",
                   -signal.SIGSEGV: "the worker crashed (segmentation fault)"}
        return reasons.get(code, f"the sandbox worker exited (code {code})")

    def _check_disk(self) -> None:
        used = 0
        for root, _dirs, files in os.walk(self.scratch_dir):
            for name in files:
                try:
                    used += os.lstat(os.path.join(root, name)).st_size
                except OSError:
                    continue
        if used > self.disk_mb << 20:
            _empty_dir(self.scratch_dir)
            raise InterpreterError(f"The code wrote more than {self.disk_mb} MB to the "
                                   "scratch directory; its files were deleted.")


def _error(message: str, logs: str) -> InterpreterError:
    err = InterpreterError(message)
    err.logs = logs  # type: ignore[attr-defined]
    return err


def _missing_layers(layers: dict[str, Any]) -> list[str]:
    missing = []
    for key, label in (("network_namespace", "network namespace"), ("landlock", "Landlock"),
                       ("seccomp", "seccomp")):
        layer = layers.get(key, {})
        if not layer.get("ok"):
            missing.append(f"{label} ({layer.get('detail', 'not reported')})")
    landlock = layers.get("landlock", {})
    if landlock.get("ok") and not landlock.get("network_tcp_denied"):
        missing.append("Landlock network rules (kernel ABI < 4)")
    privileges = layers.get("privileges", {})
    if privileges and privileges.get("uid") == 0 and not privileges.get("capabilities_dropped"):
        missing.append("privilege drop (still root with capabilities)")
    for name, value in layers.get("rlimits", {}).items():
        if isinstance(value, str) and value.startswith("failed"):
            missing.append(f"rlimit {name} ({value})")
    return missing


def _empty_dir(path: str) -> None:
    for entry in os.scandir(path):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            try:
                os.unlink(entry.path)
            except OSError:
                pass


def _cleanup(box: dict[str, Any], scratch: str, owns_scratch: bool) -> None:
    """Finalizer: kill a forgotten worker, close its pipes, remove its scratch dir."""
    channel = box.get("channel")
    if channel is not None:
        channel.close()
    proc = box.get("proc")
    if proc is not None and proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        proc.wait()
    if owns_scratch:
        shutil.rmtree(scratch, ignore_errors=True)
