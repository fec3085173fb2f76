"""The sandbox worker: a subprocess that confines itself, then runs steps on request.

Started by :class:`~agent_core.executors.sandbox.SandboxExecutor` as
``python -I -B -c <boot> <config-json> <package-root>``. It applies the OS layers
(``_oslayers``) before running anything, reports them, then serves messages over
two inherited pipes: ``run``/``tools``/``vars``/``reset`` from the host; ``call``
(a tool call, answered by ``return``/``raise``) and ``result`` towards the host.
Model code runs under the same restricted layer as the local tier.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import Any, Callable

from ..exceptions import InterpreterError
from . import _codec
from ._channel import Channel, ChannelClosed
from ._oslayers import apply_layers, set_step_cpu_limit
from .local import LocalPythonExecutor

__all__ = ["main", "ToolCallError"]

_MAX_OUTPUT_BYTES = 32 << 20


class ToolCallError(Exception):
    """A tool failed in the host; raised in model code, which may catch it."""


class _StdoutToLogs:
    """``sys.stdout`` of the worker: library prints (``df.info()``) land in the step's logs."""

    def __init__(self, executor: LocalPythonExecutor):
        self._executor = executor

    def write(self, text: str) -> int:
        return self._executor._guards.logs.write(text)

    def flush(self) -> None:
        """Nothing buffered."""

    def isatty(self) -> bool:
        return False


class Worker:
    """Serves the host's requests with one :class:`LocalPythonExecutor`."""

    def __init__(self, channel: Channel, config: dict[str, Any], layers: dict[str, Any]):
        self.channel = channel
        self.config = config
        self.layers = layers
        # ``open`` only where Landlock confines it to the scratch dir and read-only libs.
        extra = {"open": open} if layers.get("landlock", {}).get("ok") else {}
        self.executor = LocalPythonExecutor(
            config["authorized_imports"], max_print_outputs_length=config["max_print"],
            timeout=config["timeout"], extra_builtins=extra)
        sys.stdout = _StdoutToLogs(self.executor)  # type: ignore[assignment]

    def serve(self) -> None:
        self.channel.send({"op": "ready", "pid": os.getpid(), "layers": self.layers,
                           "open_builtin": "open" in self.executor._builtins})
        handlers: dict[str, Callable[[dict], dict | None]] = {
            "run": self._run, "tools": self._tools, "vars": self._vars, "reset": self._reset,
        }
        while True:
            try:
                message = self.channel.recv()
            except ChannelClosed:
                return
            op = message.get("op")
            if op == "exit":
                return
            handler = handlers.get(op)
            try:
                reply = handler(message) if handler else \
                    {"op": "error", "error": f"unknown request {op!r}"}
            except Exception as err:  # noqa: BLE001 - reported, and the worker lives on
                reply = {"op": "error", "error": f"{type(err).__name__}: {err}"}
            self.channel.send(reply or {"op": "ok"})

    def _tools(self, message: dict) -> None:
        self.executor.send_tools({name: self._stub(name) for name in message["names"]})

    def _vars(self, message: dict) -> dict | None:
        try:
            self.executor.send_variables(_codec.decode(message["vars"], allow_pickle=True))
        except Exception as err:  # noqa: BLE001 - reported to the host
            return {"op": "error", "error": f"{type(err).__name__}: {err}"}
        return None

    def _reset(self, message: dict) -> None:
        self.executor.reset()

    def _run(self, message: dict) -> dict:
        set_step_cpu_limit(self.config["timeout"] or 3600)
        try:
            out = self.executor(message["code"])
        except InterpreterError as err:
            return {"op": "result", "ok": False, "error": str(err),
                    "logs": getattr(err, "logs", "")}
        output = None if out.is_final_answer else self._encode_output(out.output)
        return {"op": "result", "ok": True, "final": out.is_final_answer, "logs": out.logs,
                "output": output}

    @staticmethod
    def _encode_output(value: Any) -> Any:
        try:
            encoded = _codec.encode(value)
            if len(json.dumps(encoded)) <= _MAX_OUTPUT_BYTES:
                return encoded
        except Exception:  # noqa: BLE001 - fall back to the repr
            pass
        return _codec.encode(_codec.RemoteRepr(repr(value)[:10_000] + "...[truncated]"))

    def _stub(self, name: str) -> Callable[..., Any]:
        channel = self.channel

        def call_tool(*args: Any, **kwargs: Any) -> Any:
            channel.send({"op": "call", "name": name, "args": _codec.encode(list(args)),
                          "kwargs": _codec.encode(kwargs)})
            reply = channel.recv()
            if reply.get("op") == "return":
                return _codec.decode(reply.get("value"), allow_pickle=True)
            raise ToolCallError(reply.get("error", f"tool {name} failed"))
        call_tool.__name__ = name
        return call_tool


def main() -> None:
    """Entry point of the worker process."""
    # No PR_SET_PDEATHSIG: it fires when the host *thread* that started the worker
    # exits, which in a web server is any time. The worker exits when its pipes close.
    config = json.loads(sys.argv[1])
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # over-size writes fail with EFBIG instead
    read_fd, write_fd = config["fds"]
    layers = apply_layers(config)
    worker = Worker(Channel(read_fd, write_fd), config, layers)
    signal.signal(signal.SIGUSR1, lambda *_: worker.executor.interrupt())
    worker.serve()
