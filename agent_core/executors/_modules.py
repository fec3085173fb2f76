"""Imports for model code: the allowlist, and module proxies that vet every member.

Model code never holds a real module object. ``import random`` gives a proxy whose
members are fetched from the real module once, vetted, and cached on the proxy (so
attribute access stays native-speed): a member that is a module is given only if
that module is authorized too (``random._os``, ``collections._sys``, ``typing.sys``
are refused), members that come from process/file/introspection modules are refused,
and the risky members of the stdlib are replaced by the safe ones in ``_safe_stdlib``.
"""

from __future__ import annotations

import builtins
import importlib
import io
import sys
import types
from typing import Any, Iterable

from ..exceptions import InterpreterError
from ._policy import is_authorized
from ._safe_stdlib import DENIED, ONLY, build_overrides, library_overrides

__all__ = ["ModulePolicy"]

# Members whose defining module is one of these are refused when reached through
# another module (e.g. a function re-exported from ``os``).
_DANGEROUS_ROOTS = frozenset({
    "os", "posix", "nt", "sys", "subprocess", "_posixsubprocess", "shutil", "socket",
    "_socket", "importlib", "ctypes", "_ctypes", "pickle", "_pickle", "marshal", "signal",
    "_signal", "_thread", "threading", "multiprocessing", "pty", "code", "codeop", "gc",
    "inspect", "pathlib", "tempfile", "glob", "fileinput", "runpy", "pdb", "zipimport",
    "resource", "mmap", "select", "selectors", "asyncio",
})
_DANGEROUS_BUILTINS = frozenset(id(getattr(builtins, n)) for n in (
    "open", "exec", "eval", "compile", "__import__", "input", "breakpoint", "globals",
    "locals", "vars", "getattr", "setattr", "delattr", "help", "exit", "quit") if hasattr(builtins, n))
_DANGEROUS_IO = frozenset(id(f) for f in (io.open, io.open_code, io.FileIO, io.TextIOWrapper,
                                           io.BufferedReader, io.BufferedWriter,
                                           io.BufferedRandom))
_DUNDERS_FOR_IMPORT = frozenset({"__all__", "__version__"})


def _make_proxy(real: types.ModuleType, policy: "ModulePolicy") -> types.ModuleType:
    """An exact ``ModuleType`` whose PEP 562 ``__getattr__`` vets and caches members.

    An exact module type (not a subclass with a ``__getattr__`` method) keeps CPython's
    fast path for module attribute loads: cached members cost the same as on the real
    module. The real module is held only by the closures below, which model code
    cannot reach (their ``__closure__`` is a dunder).
    """
    proxy = types.ModuleType(real.__name__, getattr(real, "__doc__", None))
    cache = proxy.__dict__

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            if name in _DUNDERS_FOR_IMPORT and hasattr(real, name):
                return getattr(real, name)  # read by `from m import *`, and __version__
            raise AttributeError(name)
        if name.startswith("_"):
            raise AttributeError(name)
        value = policy.member(real, name)
        # Module-level objects (decimal.DefaultContext, pd.options...) belong to the
        # host: the code may use them but not set their attributes.
        policy._guards.add_module_object(value)
        cache[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(n for n in dir(real) if not n.startswith("_"))

    cache["__getattr__"] = __getattr__
    cache["__dir__"] = __dir__
    return proxy


class ModulePolicy:
    """The import allowlist of one executor and its module proxies.

    Args:
        authorized: module names (``pkg``, ``pkg.*``, ``*``) model code may import.
        guards: the executor's :class:`~agent_core.executors._guards.Guards`.
    """

    def __init__(self, authorized: Iterable[str], guards: Any):
        self.authorized = tuple(authorized)
        self._guards = guards
        self._overrides = build_overrides(guards)
        self._proxies: dict[str, tuple[types.ModuleType, types.ModuleType]] = {}
        self._proxy_ids: set[int] = set()
        self._by_identity: dict[str, dict[int, Any]] = {}

    def allows(self, name: str) -> bool:
        return is_authorized(name, self.authorized)

    def check_import(self, name: str) -> None:
        """Raise an actionable :class:`InterpreterError` if ``name`` is not authorized."""
        if not name or not self.allows(name):
            raise InterpreterError(
                f"Import of {name} is not allowed. Authorized imports are: "
                f"{sorted(self.authorized)}")

    def import_(self, name: str, globals: Any = None, locals: Any = None,
                fromlist: Any = (), level: int = 0) -> types.ModuleType:
        """The ``__import__`` of model code.

        C extensions importing their own internals while model code runs
        (``PyImport_Import``) reach this hook too, because it looks ``__import__`` up in
        the builtins of the running Python frame. They pass ``fromlist`` as a list;
        the ``import`` statement always passes None or a tuple, and model code cannot
        call ``__import__`` itself (the name is refused), so a list means a library
        import, which gets the real module as it expects.
        """
        if type(fromlist) is list and not level:
            return importlib.import_module(name)
        if level:
            raise InterpreterError("Relative imports are not allowed.")
        if type(name) is not str:
            raise TypeError("module name must be a string")
        self.check_import(name)
        try:
            module = importlib.import_module(name)
        except ImportError as err:
            raise InterpreterError(f"Import of {name} failed: {err}") from None
        if not fromlist:
            top = name.partition(".")[0]
            if not self.allows(top):
                raise InterpreterError(
                    f"Import of {top} is not allowed (use `from {name} import ...`). "
                    f"Authorized imports are: {sorted(self.authorized)}")
            return self.proxy(sys.modules[top])
        for item in fromlist:
            if item == "*" or type(item) is not str or hasattr(module, item):
                continue
            sub = f"{name}.{item}"
            if self.allows(sub):
                try:
                    importlib.import_module(sub)
                except ImportError:
                    pass
        return self.proxy(module)

    def proxy(self, module: types.ModuleType) -> types.ModuleType:
        """The (cached) proxy of a real module."""
        cached = self._proxies.get(module.__name__)
        if cached is None or cached[0] is not module:
            cached = (module, _make_proxy(module, self))
            self._proxies[module.__name__] = cached
            self._proxy_ids.add(id(cached[1]))
        return cached[1]

    def member(self, real: types.ModuleType, name: str) -> Any:
        """Fetch and vet ``real.name`` for model code."""
        modname = real.__name__
        override = self._overrides.get(modname, {}).get(name)
        if override is not None:
            return override
        if name in DENIED.get(modname, ()) or (modname in ONLY and name not in ONLY[modname]):
            raise InterpreterError(f"{modname}.{name} is not allowed in this environment.")
        try:
            value = getattr(real, name)
        except AttributeError:
            value = self._submodule(modname, name)
        if isinstance(value, types.ModuleType):
            if id(value) in self._proxy_ids:
                return value
            dotted = f"{modname}.{name}"
            # A true submodule (or an alias registered as one, like os.path) may be
            # authorized by its dotted name; any other module only by its own name.
            if self.allows(value.__name__) or (sys.modules.get(dotted) is value
                                               and self.allows(dotted)):
                return self.proxy(value)
            raise InterpreterError(
                f"Access to module {value.__name__} (as {modname}.{name}) is not allowed. "
                f"Authorized imports are: {sorted(self.authorized)}")
        root = modname.partition(".")[0]
        if root not in self._by_identity:
            self._by_identity[root] = library_overrides(root)
        replacement = self._by_identity[root].get(id(value))
        if replacement is not None:
            return replacement
        if self._screens(modname) and _is_dangerous(value):
            raise InterpreterError(f"{modname}.{name} is not allowed in this environment.")
        return value

    def _submodule(self, modname: str, name: str) -> Any:
        full = f"{modname}.{name}"
        if self.allows(full):
            try:
                return importlib.import_module(full)
            except ImportError:
                pass
        raise AttributeError(f"module '{modname}' has no attribute '{name}'")

    def _screens(self, modname: str) -> bool:
        # A module the developer authorized although it is dangerous (os, socket...) is
        # given whole: that choice was explicit.
        return modname.partition(".")[0] not in _DANGEROUS_ROOTS


def _is_dangerous(value: Any) -> bool:
    if id(value) in _DANGEROUS_BUILTINS or id(value) in _DANGEROUS_IO:
        return True
    if isinstance(value, io.IOBase):
        return True
    try:
        owner = getattr(value, "__module__", None)
    except Exception:  # noqa: BLE001 - odd objects: judged by type below
        owner = None
    if isinstance(owner, str) and owner.partition(".")[0] in _DANGEROUS_ROOTS:
        # Exception classes are harmless wherever they come from.
        return not (isinstance(value, type) and issubclass(value, BaseException))
    return False
