"""Stopping model code that runs in the current thread: time limit, interrupt, final answer.

A watchdog thread raises :class:`StopSignal` asynchronously in the thread running
the code (``PyThreadState_SetAsyncExc``), which interrupts any pure-Python loop at
the next bytecode boundary, with no per-line tracing cost. The signal derives from
``BaseException`` and the compiler rewrites ``except``/``with`` so that model code
cannot swallow it; if it is swallowed anyway, the watchdog raises it again every
100 ms until the step ends. Long single C calls (``sum(range(10**12))``) cannot be
interrupted in-process: the sandbox tier kills its worker for those.
"""

from __future__ import annotations

import ctypes
import threading
import time
from contextlib import contextmanager
from typing import Iterator

__all__ = ["StopSignal", "StepControl"]


class StopSignal(BaseException):
    """Raised inside model code to stop it; the reason is kept by :class:`StepControl`."""


_raise_async = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.py_object)(
    ("PyThreadState_SetAsyncExc", ctypes.pythonapi))
_clear_async = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p)(
    ("PyThreadState_SetAsyncExc", ctypes.pythonapi))

_REFIRE_S = 0.1
_FINAL_GRACE_S = 0.2  # final_answer raises synchronously; fire only if that was swallowed


class StepControl:
    """The stop state of one running step, and the watchdog that enforces it.

    Args:
        timeout: wall-clock seconds the step may run (tool calls excluded), or None.
    """

    def __init__(self, timeout: float | None):
        self.tid = threading.get_ident()
        self.reason: str | None = None  # "timeout" | "interrupt" | "final"
        self.deadline = time.monotonic() + timeout if timeout else None
        self._fire_at: float | None = None
        self._paused = 0
        self._paused_at = 0.0
        self._active = True
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="agent-code-watchdog",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, reason: str) -> None:
        """Ask the running code to stop (from any thread); the first reason wins."""
        with self._lock:
            if self.reason is None:
                self.reason = reason
                delay = _FINAL_GRACE_S if reason == "final" else 0.0
                self._fire_at = time.monotonic() + delay
        self._wake.set()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Tool calls run in the host: their time does not count, and no signal fires."""
        with self._lock:
            self._paused += 1
            if self._paused == 1:
                self._paused_at = time.monotonic()
        try:
            yield
        finally:
            with self._lock:
                self._paused -= 1
                if self._paused == 0 and self.deadline is not None:
                    self.deadline += time.monotonic() - self._paused_at
            self._wake.set()

    def disarm(self) -> None:
        """End of step: stop the watchdog and drop any signal not yet delivered.

        Retries if a late signal lands while disarming, so none leaks into host code.
        """
        for _ in range(100):
            try:
                with self._lock:
                    self._active = False
                self._wake.set()
                if self._thread.is_alive() and self._thread is not threading.current_thread():
                    self._thread.join()
                _clear_async(self.tid, None)
                return
            except StopSignal:
                continue

    def _watch(self) -> None:
        while True:
            with self._lock:
                if not self._active:
                    return
                delay = self._tick(time.monotonic())
            self._wake.wait(delay)
            self._wake.clear()

    def _tick(self, now: float) -> float:
        """Fire if due (lock held); return how long to sleep."""
        if self._paused:
            return 1.0
        if self.reason is None and self.deadline is not None and now >= self.deadline:
            self.reason, self._fire_at = "timeout", now
        if self.reason is not None:
            if now >= self._fire_at:
                _raise_async(self.tid, StopSignal)
                self._fire_at = now + _REFIRE_S
            return max(0.005, self._fire_at - now)
        if self.deadline is not None:
            return max(0.005, min(self.deadline - now, 1.0))
        return 1.0
