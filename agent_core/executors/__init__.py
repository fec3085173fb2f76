"""Executors run model-written code: in-process (local), in an OS sandbox, or on E2B.

All three share :class:`~agent_core.executors.base.Executor`; they are imported
lazily so that ``import agent_core.executors`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["CodeOutput", "Executor", "LocalPythonExecutor", "SandboxExecutor", "E2BExecutor",
           "DEFAULT_AUTHORIZED_IMPORTS"]

_EXPORTS = {
    "CodeOutput": ".base", "Executor": ".base", "LocalPythonExecutor": ".local",
    "DEFAULT_AUTHORIZED_IMPORTS": ".local", "SandboxExecutor": ".sandbox",
    "E2BExecutor": ".e2b",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
