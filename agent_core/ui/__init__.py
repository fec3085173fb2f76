"""User interfaces of agents: the Gradio chat app and the pure message builders.

``import agent_core.ui`` does not import Gradio; building an app does.

Example:
    >>> from agent_core.ui import GradioUI
    >>> GradioUI(agent).launch()  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["GradioUI", "ChatRenderer", "AppConfig", "create_app", "UploadPolicy",
           "SessionManager", "clone_agent"]

_EXPORTS = {
    "GradioUI": ".gradio_ui", "ChatRenderer": ".messages", "AppConfig": ".app_factory",
    "create_app": ".app_factory", "UploadPolicy": ".uploads", "SessionManager": ".session",
    "clone_agent": ".session",
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
