"""Runtime guards called by rewritten model code, and the builtins it gets.

One :class:`Guards` per executor: it knows which classes and functions the model's
code made (those it may write to and whose private attributes it may use) and which
objects came from the host (tools, injected variables: never written to).
"""

from __future__ import annotations

import _string  # the C parser behind str.format, to check field paths before formatting
import builtins
import types
from typing import Any, Callable

from ..exceptions import InterpreterError
from ._control import StopSignal
from ._policy import (CODE_FILENAME, FORBIDDEN_ATTRS, FORMAT_ATTRS, INTERNAL, MAGIC_METHODS,
                      NAMEDTUPLE_ATTRS, READABLE_DUNDERS)

__all__ = ["Guards", "LogBuffer", "SAFE_BUILTIN_NAMES", "check_format_string"]

SAFE_BUILTIN_NAMES = frozenset({
    "abs", "aiter", "all", "anext", "any", "ascii", "bin", "bool", "bytearray", "bytes",
    "callable", "chr", "classmethod", "complex", "dict", "dir", "divmod", "enumerate",
    "filter", "float", "format", "frozenset", "hash", "hex", "id", "int", "isinstance",
    "issubclass", "iter", "len", "list", "map", "max", "min", "next", "object", "oct",
    "ord", "pow", "property", "range", "repr", "reversed", "round", "set", "slice",
    "sorted", "staticmethod", "str", "sum", "super", "tuple", "type", "zip",
    "NotImplemented", "Ellipsis", "__build_class__",
})
# Builtins that are missing on purpose; a clearer error names them.
REFUSED_BUILTINS = frozenset({
    "open", "exec", "eval", "compile", "input", "globals", "locals", "vars",
    "breakpoint", "help", "exit", "quit", "memoryview", "__import__", "__loader__",
    "__spec__", "copyright", "credits", "license",
})

_TYPE_DICT = type.__dict__["__dict__"]
_object_getattribute = object.__getattribute__
_NO_WRITE_TYPES = (types.ModuleType, types.BuiltinFunctionType, types.MethodType,
                   types.BuiltinMethodType, super, types.MethodWrapperType,
                   types.WrapperDescriptorType, types.MethodDescriptorType)


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def check_format_string(fmt: str, _depth: int = 0) -> None:
    """Refuse str.format field paths that reach private or frame attributes.

    Raises:
        InterpreterError: naming the refused attribute.
    """
    if _depth > 3:
        return
    for _literal, field, spec, _conv in _string.formatter_parser(fmt):
        if field is None:
            continue
        _first, rest = _string.formatter_field_name_split(field)
        for is_attr, key in rest:
            if is_attr and (key.startswith("_") or key in FORBIDDEN_ATTRS):
                raise InterpreterError(
                    f"Format field '{field}' is not allowed: attribute '{key}' cannot be "
                    "read through str.format.")
        if spec:
            check_format_string(spec, _depth + 1)


def safe_format(fmt: str, /, *args: Any, **kwargs: Any) -> str:
    """``str.format`` with its field paths checked first."""
    check_format_string(str.__str__(fmt))
    return str.format(fmt, *args, **kwargs)


def safe_format_map(fmt: str, mapping: Any, /) -> str:
    """``str.format_map`` with its field paths checked first."""
    check_format_string(str.__str__(fmt))
    return str.format_map(fmt, mapping)


class LogBuffer:
    """Captured ``print`` output, capped: past the cap, characters are only counted."""

    def __init__(self, cap: int):
        self.cap = cap
        self.parts: list[str] = []
        self.size = 0
        self.dropped = 0

    def write(self, text: str) -> int:
        text = str(text)
        room = self.cap - self.size
        if room > 0:
            kept = text[:room]
            self.parts.append(kept)
            self.size += len(kept)
            self.dropped += len(text) - len(kept)
        else:
            self.dropped += len(text)
        return len(text)

    def flush(self) -> None:
        """File-like no-op."""

    def getvalue(self) -> str:
        text = "".join(self.parts)
        if self.dropped:
            text += (f"\n[... output truncated: {self.dropped} more characters were printed; "
                     f"the first {self.cap} are shown ...]")
        return text


class Guards:
    """The runtime hooks of one executor (see ``_compiler`` for where they are called)."""

    def __init__(self) -> None:
        self.user_class_ids: set[int] = set()
        self._user_classes: list[type] = []  # keeps ids valid
        self.host_objects: dict[int, Any] = {}
        self.module_objects: dict[int, Any] = {}
        self.logs = LogBuffer(50_000)
        self._token = object()

    # --- ownership -----------------------------------------------------------

    def register_class(self, cls: Any) -> Any:
        """Decorator on every class statement: count the class as the code's own.

        Only if its own namespace carries the mark that the statement's body set: a
        metaclass or decorator returning some other class (``random.Random``) gets
        nothing.
        """
        if isinstance(cls, type) and id(cls) not in self.user_class_ids:
            namespace = _TYPE_DICT.__get__(cls)  # not cls.__dict__: a metaclass could fake it
            if namespace.get(INTERNAL.class_mark) is self._token:
                self.user_class_ids.add(id(cls))
                self._user_classes.append(cls)
        return cls

    def add_host_object(self, obj: Any) -> None:
        """Never written to by the code: tools, injected variables."""
        self.host_objects[id(obj)] = obj

    def add_module_object(self, obj: Any) -> None:
        """A member of a module (``decimal.DefaultContext``): shared with the host."""
        self.module_objects[id(obj)] = obj

    def is_user_object(self, obj: Any) -> bool:
        ids = self.user_class_ids
        return id(type(obj)) in ids or (isinstance(obj, type) and id(obj) in ids)

    def _own_private(self, obj: Any, name: str) -> bool:
        """A private attribute set on the code's own object or defined by its own class.

        Not one inherited from a library base class: subclassing must not open a
        library's internals.
        """
        ids = self.user_class_ids
        if isinstance(obj, type):
            classes = obj.__mro__ if id(obj) in ids else ()
        elif id(type(obj)) in ids:
            try:
                if name in _object_getattribute(obj, "__dict__"):
                    return True
            except AttributeError:  # __slots__ classes have no instance dict
                pass
            classes = type(obj).__mro__
        else:
            return False
        return any(id(k) in ids and name in _TYPE_DICT.__get__(k) for k in classes)

    def is_own(self, obj: Any) -> bool:
        """A class, instance or function that the model's code created."""
        if isinstance(obj, (staticmethod, classmethod)):
            obj = obj.__func__
        if isinstance(obj, types.FunctionType):
            return obj.__code__.co_filename == CODE_FILENAME
        return self.is_user_object(obj)

    # --- attribute reads -----------------------------------------------------

    def getattr(self, obj: Any, name: str, *default: Any) -> Any:
        """Guarded ``getattr``: the hook for ``_x``/``format`` attributes and the builtin."""
        if type(name) is not str:
            raise TypeError("attribute name must be a plain str")
        if name[:1] == "_":
            # Fast path: a private attribute the code set on its own object.
            if name[1:2] != "_" and id(type(obj)) in self.user_class_ids:
                try:  # not getattr(obj, "__dict__"): the class's __getattr__ could fake it
                    if name in _object_getattribute(obj, "__dict__"):
                        return getattr(obj, name, *default)
                except AttributeError:
                    pass
            self._check_private(obj, name)
        elif name in FORBIDDEN_ATTRS:
            raise InterpreterError(f"Access to attribute '{name}' is not allowed "
                                   "(frames, code objects and globals are off limits).")
        elif name in FORMAT_ATTRS:
            if isinstance(obj, str):
                return _bound_format(obj, name)
            if isinstance(obj, type) and issubclass(obj, str):
                return safe_format if name == "format" else safe_format_map
        return getattr(obj, name, *default)

    def _check_private(self, obj: Any, name: str) -> None:
        if _is_dunder(name):
            if name in READABLE_DUNDERS:
                return
            if name in MAGIC_METHODS:
                if type(obj) is super:
                    owner = obj.__self_class__
                    if owner is not None and self.is_user_object(owner):
                        return
                elif self.is_user_object(obj):
                    return
            raise InterpreterError(f"Access to attribute '{name}' is not allowed.")
        if name in NAMEDTUPLE_ATTRS and (isinstance(obj, tuple) or (
                isinstance(obj, type) and issubclass(obj, tuple))):
            return
        if self._own_private(obj, name):
            return
        if isinstance(obj, types.ModuleType):
            raise InterpreterError(f"Access to private attribute '{name}' of module "
                                   f"{obj.__name__} is not allowed.")
        raise InterpreterError(
            f"Access to private attribute '{name}' of a {type(obj).__name__} object is not "
            "allowed; only objects of classes your code defined expose private attributes.")

    def hasattr(self, obj: Any, name: str) -> bool:
        if type(name) is not str:
            raise TypeError("attribute name must be a plain str")
        return hasattr(obj, name)  # returns a bool only: nothing leaks

    # --- attribute writes ----------------------------------------------------

    def write(self, obj: Any, name: str) -> Any:
        """The hook in front of ``obj.name = ...``/``del obj.name``: returns ``obj`` if allowed."""
        if id(type(obj)) in self.user_class_ids:
            return obj
        if name[:1] == "_" and not self.is_user_object(obj):
            raise InterpreterError(f"Setting private attribute '{name}' on a "
                                   f"{type(obj).__name__} object is not allowed.")
        if isinstance(obj, type):
            if id(obj) not in self.user_class_ids:
                raise InterpreterError(f"Cannot set attributes on class {obj.__name__}: "
                                       "your code did not define it.")
        elif isinstance(obj, types.FunctionType):
            if obj.__code__.co_filename != CODE_FILENAME:
                raise InterpreterError("Cannot set attributes on a function your code did "
                                       "not define.")
        elif isinstance(obj, _NO_WRITE_TYPES):
            raise InterpreterError(f"Cannot set attributes on a {type(obj).__name__} object.")
        if id(obj) in self.host_objects or id(obj) in self.module_objects:
            raise InterpreterError(f"Cannot set attribute '{name}' on this {type(obj).__name__} "
                                   "object: your code did not create it (it is a tool, an "
                                   "input or part of a module).")
        return obj

    def setattr(self, obj: Any, name: str, value: Any) -> None:
        self._check_write_name(name)
        setattr(self.write(obj, name), name, value)

    def delattr(self, obj: Any, name: str) -> None:
        self._check_write_name(name)
        delattr(self.write(obj, name), name)

    @staticmethod
    def _check_write_name(name: Any) -> None:
        if type(name) is not str:
            raise TypeError("attribute name must be a plain str")
        if _is_dunder(name) or name in FORBIDDEN_ATTRS:
            raise InterpreterError(f"Assigning or deleting attribute '{name}' is not allowed.")

    # --- exceptions and context managers ---------------------------------------

    @staticmethod
    def except_filter(spec: Any) -> Any:
        """What an ``except`` clause may catch: never the executor's stop signal."""
        if spec is None or spec is BaseException:
            return Exception
        if type(spec) is tuple:
            return tuple(Guards.except_filter(s) for s in spec)
        return spec

    @staticmethod
    def context(manager: Any) -> Any:
        return _GuardedContext(manager)

    @staticmethod
    def async_context(manager: Any) -> Any:
        return _GuardedAsyncContext(manager)

    # --- globals ---------------------------------------------------------------

    def hooks(self) -> dict[str, Any]:
        """The names the rewritten code calls."""
        return {INTERNAL.getattr: self.getattr, INTERNAL.write: self.write,
                INTERNAL.except_filter: self.except_filter, INTERNAL.context: self.context,
                INTERNAL.async_context: self.async_context,
                INTERNAL.user_class: self.register_class, INTERNAL.class_token: self._token}

    def builtins(self, importer: Callable[..., Any],
                 extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """The ``__builtins__`` of model code: safe builtins plus guarded versions."""
        safe = {name: getattr(builtins, name) for name in SAFE_BUILTIN_NAMES}
        safe.update({name: obj for name, obj in vars(builtins).items()
                     if isinstance(obj, type) and issubclass(obj, BaseException)})
        safe.update(getattr=self.getattr, hasattr=self.hasattr, setattr=self.setattr,
                    delattr=self.delattr, print=self.print, __import__=importer)
        safe.update(extra or {})
        return safe

    def print(self, *args: Any, sep: str | None = " ", end: str | None = "\n",
              file: Any = None, flush: bool = False) -> None:
        builtins.print(*args, sep=sep, end=end, file=self.logs if file is None else file)


def _bound_format(text: str, name: str) -> Callable[..., str]:
    if name == "format":
        def format(*args: Any, **kwargs: Any) -> str:  # noqa: A001 - mirrors str.format
            return safe_format(text, *args, **kwargs)
        return format

    def format_map(mapping: Any) -> str:
        return safe_format_map(text, mapping)
    return format_map


def _is_stop(exc_type: Any) -> bool:
    return isinstance(exc_type, type) and issubclass(exc_type, StopSignal)


class _GuardedContext:
    """Wraps a context manager so its ``__exit__`` cannot swallow the stop signal."""

    __slots__ = ("_manager", "_exit")

    def __init__(self, manager: Any):
        kind = type(manager)
        try:
            self._exit = kind.__exit__
            kind.__enter__
        except AttributeError:
            raise TypeError(f"'{kind.__name__}' object does not support the context "
                            "manager protocol") from None
        self._manager = manager

    def __enter__(self) -> Any:
        return type(self._manager).__enter__(self._manager)

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> Any:
        suppress = self._exit(self._manager, exc_type, exc, tb)
        return False if _is_stop(exc_type) else suppress


class _GuardedAsyncContext:
    """Async twin of :class:`_GuardedContext`."""

    __slots__ = ("_manager",)

    def __init__(self, manager: Any):
        self._manager = manager

    async def __aenter__(self) -> Any:
        return await type(self._manager).__aenter__(self._manager)

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> Any:
        suppress = await type(self._manager).__aexit__(self._manager, exc_type, exc, tb)
        return False if _is_stop(exc_type) else suppress
