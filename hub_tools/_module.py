"""Execute a trusted tool.py as a module and find the tool it defines.

tool.py files written for smolagents import ``Tool`` from ``smolagents``. They run here
with an import hook local to that module (its own ``__builtins__``): ``smolagents`` and
its submodules resolve to a small shim whose ``Tool`` and ``tool`` are agent_core's, so
the class is an agent_core tool. Names agent_core does not have are taken from the real
smolagents package when it is installed. Nothing global is patched.
"""

from __future__ import annotations

import builtins
import importlib
import re
import sys
import types
from typing import Any

from agent_core.tools.base import Tool, tool

from .exceptions import AmbiguousToolClassError, ToolClassNotFoundError, ToolCodeError

__all__ = ["exec_tool_module", "find_tool", "smolagents_shim"]


def smolagents_shim() -> types.ModuleType:
    """A module standing in for ``smolagents``: agent_core's Tool/tool, and the rest of
    smolagents (agent types...) from agent_core or, failing that, the real package."""
    shim = types.ModuleType("smolagents", "agent_core standing in for smolagents in tool.py")
    shim.Tool, shim.tool = Tool, tool  # type: ignore[attr-defined]
    shim.__path__ = []  # type: ignore[attr-defined]  # a package: `smolagents.tools` resolves

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        import agent_core

        for source in ("agent_core", "agent_core.agent_types"):
            try:
                module = agent_core if source == "agent_core" else importlib.import_module(source)
                return getattr(module, name)
            except (AttributeError, ImportError):
                continue
        try:
            return getattr(importlib.import_module("smolagents"), name)
        except (ImportError, AttributeError):
            raise AttributeError(f"tool.py needs smolagents.{name}, which agent_core does not "
                                 "provide (pip install smolagents)") from None

    shim.__getattr__ = __getattr__  # type: ignore[attr-defined]
    return shim


def _builtins_with_shim(shim: types.ModuleType) -> dict[str, Any]:
    real_import = builtins.__import__

    def import_(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (),
                level: int = 0) -> Any:
        if level == 0 and (name == "smolagents" or name.startswith("smolagents.")):
            return shim
        return real_import(name, globals, locals, fromlist, level)

    namespace = dict(vars(builtins))
    namespace["__import__"] = import_
    return namespace


def module_name_for(repo_id: str, commit_sha: str) -> str:
    safe = re.sub(r"\W", "_", repo_id)
    return f"hub_tools_remote.{safe}_{commit_sha[:12]}"


def exec_tool_module(code: bytes, filename: str, repo_id: str, commit_sha: str) -> types.ModuleType:
    """Run tool.py (already trusted and verified) in a fresh module.

    The module is registered in ``sys.modules`` under a name made of the repo and
    commit, so ``inspect.getsource`` (and a later re-push) can find its classes.

    Raises:
        ToolCodeError: tool.py raised while executing.
    """
    name = module_name_for(repo_id, commit_sha)
    module = types.ModuleType(name)
    module.__file__ = filename
    module.__dict__["__builtins__"] = _builtins_with_shim(smolagents_shim())
    try:
        compiled = compile(code, filename, "exec")
        sys.modules[name] = module
        exec(compiled, module.__dict__)
    except Exception as err:
        sys.modules.pop(name, None)
        raise ToolCodeError(repo_id, commit_sha, err) from err
    return module


def find_tool(module: types.ModuleType, repo_id: str, commit_sha: str,
              kwargs: dict[str, Any] | None = None) -> Tool:
    """The one tool defined in ``module`` (not imported into it), instantiated.

    A module defining a ``Tool`` subclass gives an instance of it (a base class that
    another class in the module extends does not count). A module defining no class
    but one ``@tool`` function gives that tool.

    Raises:
        ToolClassNotFoundError / AmbiguousToolClassError: none, or more than one.
        ToolCodeError: the class's constructor raised.
    """
    classes = [obj for obj in vars(module).values()
               if isinstance(obj, type) and issubclass(obj, Tool) and obj is not Tool
               and obj.__module__ == module.__name__]
    leaves = [c for c in classes if not any(o is not c and issubclass(o, c) for o in classes)]
    if len(leaves) > 1:
        raise AmbiguousToolClassError(repo_id, commit_sha, sorted(c.__name__ for c in leaves))
    if leaves:
        try:
            return leaves[0](**(kwargs or {}))
        except Exception as err:
            raise ToolCodeError(repo_id, commit_sha, err) from err
    instances = [obj for obj in vars(module).values()
                 if isinstance(obj, Tool) and getattr(getattr(obj, "__wrapped__", None),
                                                      "__module__", None) == module.__name__]
    if len(instances) > 1:
        raise AmbiguousToolClassError(repo_id, commit_sha, sorted(t.name for t in instances))
    if instances:
        return instances[0]
    raise ToolClassNotFoundError(repo_id, commit_sha)
