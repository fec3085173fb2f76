"""Executors run model-written code: in-process (local), in an OS sandbox, or on E2B.

All three share :class:`~agent_core.executors.base.Executor`; they are imported
lazily so that ``import agent_core.executors`` stays cheap.
"""

from __future__ import annotations

from .._lazy import lazy_getattr

__all__ = ["CodeOutput", "Executor", "LocalPythonExecutor", "SandboxExecutor", "E2BExecutor",
           "DEFAULT_AUTHORIZED_IMPORTS"]

_EXPORTS = {
    "CodeOutput": ".base", "Executor": ".base", "LocalPythonExecutor": ".local",
    "DEFAULT_AUTHORIZED_IMPORTS": ".local", "SandboxExecutor": ".sandbox",
    "E2BExecutor": ".e2b",
}


__getattr__ = lazy_getattr(__name__, _EXPORTS, globals())


def __dir__() -> list[str]:
    return __all__
