"""Building executors by tier name (used by CodeAgent and the app)."""

from __future__ import annotations

import importlib
from typing import Any

from .base import Executor

__all__ = ["create_executor", "default_authorized_imports", "EXECUTOR_TYPES"]

EXECUTOR_TYPES = {
    "local": (".local", "LocalPythonExecutor"),
    "sandbox": (".sandbox", "SandboxExecutor"),
    "e2b": (".e2b", "E2BExecutor"),
}


def create_executor(executor_type: str, **kwargs: Any) -> Executor:
    """Create the executor of a tier: ``"local"``, ``"sandbox"`` or ``"e2b"``."""
    if executor_type not in EXECUTOR_TYPES:
        raise ValueError(f"Unknown executor type {executor_type!r}; "
                         f"choose one of {sorted(EXECUTOR_TYPES)}")
    module, name = EXECUTOR_TYPES[executor_type]
    cls = getattr(importlib.import_module(module, __package__), name)
    return cls(**kwargs)


def default_authorized_imports() -> list[str]:
    """The modules model code may import without being told otherwise."""
    local = importlib.import_module(".local", __package__)
    return sorted(getattr(local, "DEFAULT_AUTHORIZED_IMPORTS"))
