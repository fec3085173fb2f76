"""Safe replacements for the few risky members of authorized stdlib modules.

Each entry closes a documented route: attribute paths that bypass the getattr guard
(``string.Formatter``, ``operator.attrgetter``/``methodcaller``), calls that block
where the stop signal cannot reach (``time.sleep``, blocking ``queue`` methods),
decorators that write to classes or functions the code did not create
(``dataclasses.dataclass``, ``functools.update_wrapper``...), and functions that
``eval`` strings without the guards (``typing.get_type_hints``,
``functools.singledispatch``) or write to the host's ``__main__`` (``enum.global_enum``).
"""

from __future__ import annotations

import _string
import dataclasses
import functools
import operator
import pprint
import queue
import string
import time
import typing
from typing import Any, Callable

from ..exceptions import InterpreterError

__all__ = ["build_overrides", "library_overrides", "DENIED", "ONLY"]

# Members refused outright, by module.
DENIED: dict[str, frozenset[str]] = {
    "typing": frozenset({"get_type_hints", "ForwardRef", "no_type_check",
                         "no_type_check_decorator"}),
    "functools": frozenset({"singledispatch", "singledispatchmethod"}),
    "enum": frozenset({"global_enum", "global_enum_repr", "global_flag_repr", "global_str"}),
    "uuid": frozenset({"getnode", "uuid1"}),
    "calendar": frozenset({"prcal", "prmonth"}),
    "pandas": frozenset({"read_pickle"}),
}
# Modules of which only some members are exposed.
ONLY: dict[str, frozenset[str]] = {
    "io": frozenset({"StringIO", "BytesIO", "SEEK_SET", "SEEK_CUR", "SEEK_END",
                     "UnsupportedOperation"}),
}

_SLICE_S = 0.05


def build_overrides(guards: Any) -> dict[str, dict[str, Any]]:
    """Replacements by module name, bound to one executor's guards."""
    return {
        "string": {"Formatter": _formatter_class(guards)},
        "operator": {"attrgetter": _attrgetter(guards), "methodcaller": _methodcaller(guards)},
        "time": {"sleep": sleep},
        "queue": _queues(),
        "functools": _functools(guards),
        "dataclasses": {"dataclass": _dataclass(guards)},
        "typing": {"final": _own_only(guards, typing.final, "typing.final"),
                   "runtime_checkable": _own_only(guards, typing.runtime_checkable,
                                                  "typing.runtime_checkable")},
        "pprint": _pprint(guards),
    }


def sleep(seconds: float) -> None:
    """``time.sleep`` in short slices, so that a time limit or interrupt stops it."""
    end = time.monotonic() + float(seconds)
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, _SLICE_S))


def _attrgetter(guards: Any) -> Callable[..., Any]:
    def attrgetter(attr: str, *attrs: str) -> Callable[[Any], Any]:
        paths = []
        for name in (attr, *attrs):
            if type(name) is not str:
                raise TypeError("attribute name must be a string")
            paths.append(name.split("."))

        def get(obj: Any) -> Any:
            values = []
            for path in paths:
                value = obj
                for part in path:
                    value = guards.getattr(value, part)
                values.append(value)
            return values[0] if len(values) == 1 else tuple(values)
        return get
    attrgetter.__doc__ = operator.attrgetter.__doc__
    return attrgetter


def _methodcaller(guards: Any) -> Callable[..., Any]:
    def methodcaller(name: str, /, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        if type(name) is not str:
            raise TypeError("method name must be a string")

        def call(obj: Any) -> Any:
            return guards.getattr(obj, name)(*args, **kwargs)
        return call
    methodcaller.__doc__ = operator.methodcaller.__doc__
    return methodcaller


class _GuardedFormatter:
    """``string.Formatter`` whose field lookups go through the attribute guard.

    Written by composition (not a subclass of the real one) so that
    ``super(Formatter, f).get_field`` cannot reach the unguarded lookup. The guards
    come from the per-executor subclass made by :func:`_formatter_class`.
    """

    _ac_guards: Any = None

    def format(self, format_string: str, /, *args: Any, **kwargs: Any) -> str:
        return self.vformat(format_string, args, kwargs)

    def vformat(self, format_string: str, args: Any, kwargs: Any) -> str:
        used: set = set()
        result = self._render(format_string, args, kwargs, used, 2, [0])
        self.check_unused_args(used, args, kwargs)
        return result

    def _render(self, fmt: str, args: Any, kwargs: Any, used: set, depth: int,
                auto: list) -> str:
        """``string.Formatter._vformat``; ``auto`` holds the automatic field index."""
        if depth < 0:
            raise ValueError("Max string recursion exceeded")
        out = []
        for literal, field, spec, conv in self.parse(fmt):
            out.append(literal)
            if field is None:
                continue
            if field == "":
                if auto[0] is False:
                    raise ValueError("cannot switch from manual field specification to "
                                     "automatic field numbering")
                field, auto[0] = str(auto[0]), auto[0] + 1
            elif field.isdigit():
                if auto[0]:
                    raise ValueError("cannot switch from automatic field numbering to "
                                     "manual field specification")
                auto[0] = False
            obj, key = self.get_field(field, args, kwargs)
            used.add(key)
            obj = self.convert_field(obj, conv)
            spec = self._render(spec, args, kwargs, used, depth - 1, auto) if spec else ""
            out.append(self.format_field(obj, spec))
        return "".join(out)

    def parse(self, format_string: str) -> Any:
        return _string.formatter_parser(format_string)

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> tuple[Any, Any]:
        first, rest = _string.formatter_field_name_split(field_name)
        obj = self.get_value(first, args, kwargs)
        for is_attr, key in rest:
            obj = self._ac_guards.getattr(obj, key) if is_attr else obj[key]
        return obj, first

    def get_value(self, key: Any, args: Any, kwargs: Any) -> Any:
        return args[key] if isinstance(key, int) else kwargs[key]

    def check_unused_args(self, used_args: Any, args: Any, kwargs: Any) -> None:
        """Override to check for unused arguments, as in ``string.Formatter``."""

    def format_field(self, value: Any, format_spec: str) -> str:
        return format(value, format_spec)

    def convert_field(self, value: Any, conversion: Any) -> Any:
        return string.Formatter.convert_field(None, value, conversion)


def _formatter_class(guards: Any) -> type:
    return type("Formatter", (_GuardedFormatter,), {"_ac_guards": guards, "__module__": "string"})


def _queues() -> dict[str, type]:
    """Queue classes whose blocking calls wait in slices, so a stop signal gets through."""
    def sliced(cls: type) -> type:
        class Sliced(cls):  # type: ignore[misc, valid-type]
            def get(self, block: bool = True, timeout: float | None = None) -> Any:
                if not block or timeout is not None:
                    return super().get(block, timeout)
                while True:
                    try:
                        return super().get(True, _SLICE_S)
                    except queue.Empty:
                        continue

            if hasattr(cls, "join"):
                def join(self) -> None:
                    with self.all_tasks_done:
                        while self.unfinished_tasks:
                            self.all_tasks_done.wait(_SLICE_S)

            if cls is not queue.SimpleQueue:
                def put(self, item: Any, block: bool = True, timeout: float | None = None
                        ) -> None:
                    if not block or timeout is not None:
                        return super().put(item, block, timeout)
                    while True:
                        try:
                            return super().put(item, True, _SLICE_S)
                        except queue.Full:
                            continue

        Sliced.__name__ = Sliced.__qualname__ = cls.__name__
        Sliced.__module__ = "queue"
        return Sliced

    return {c.__name__: sliced(c) for c in (queue.Queue, queue.LifoQueue, queue.PriorityQueue,
                                             queue.SimpleQueue)}


def _own_only(guards: Any, real: Callable[..., Any], label: str) -> Callable[..., Any]:
    """A decorator that writes to its argument, allowed only on what the code created."""
    @functools.wraps(real)
    def decorator(obj: Any = None, /, **kwargs: Any) -> Any:
        if obj is None:
            return lambda target: decorator(target, **kwargs)
        if not guards.is_own(obj):
            raise InterpreterError(f"{label} can only be applied to classes and functions "
                                   "that your code defined.")
        return real(obj, **kwargs)
    return decorator


def _dataclass(guards: Any) -> Callable[..., Any]:
    return _own_only(guards, dataclasses.dataclass, "dataclasses.dataclass")


def _functools(guards: Any) -> dict[str, Any]:
    def update_wrapper(wrapper: Any, wrapped: Any, assigned: Any = functools.WRAPPER_ASSIGNMENTS,
                       updated: Any = functools.WRAPPER_UPDATES) -> Any:
        if not guards.is_own(wrapper):
            raise InterpreterError("functools.update_wrapper/wraps can only update functions "
                                   "that your code defined.")
        return functools.update_wrapper(wrapper, wrapped, assigned, updated)

    def wraps(wrapped: Any, assigned: Any = functools.WRAPPER_ASSIGNMENTS,
              updated: Any = functools.WRAPPER_UPDATES) -> Callable[[Any], Any]:
        return functools.partial(update_wrapper, wrapped=wrapped, assigned=assigned,
                                 updated=updated)

    return {"update_wrapper": update_wrapper, "wraps": wraps,
            "total_ordering": _own_only(guards, functools.total_ordering,
                                        "functools.total_ordering")}


def _pprint(guards: Any) -> dict[str, Any]:
    def pprint_(obj: Any, stream: Any = None, **kwargs: Any) -> None:
        pprint.pprint(obj, stream=guards.logs if stream is None else stream, **kwargs)

    def pp(obj: Any, *args: Any, sort_dicts: bool = False, **kwargs: Any) -> None:
        pprint_(obj, *args, sort_dicts=sort_dicts, **kwargs)

    return {"pprint": pprint_, "pp": pp}


def library_overrides(root: str) -> dict[int, Any]:
    """Replacements of members of authorized third-party packages, by object identity
    (they are reachable under several module paths). Only for already-imported ``root``.

    These close the few routes from a data library to arbitrary code or memory:
    unpickling (``numpy.load(allow_pickle=True)``) and out-of-bounds views
    (``as_strided``). The rest of a package's capabilities stays trusted.
    """
    import sys

    if root != "numpy" or "numpy" not in sys.modules:
        return {}
    import numpy as np
    from numpy.lib import format as npy_format
    from numpy.lib import stride_tricks

    def no_pickle(real: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(real)
        def wrapper(*args: Any, allow_pickle: bool = False, **kwargs: Any) -> Any:
            if allow_pickle:
                raise InterpreterError("allow_pickle=True is not allowed: unpickling can run "
                                       "arbitrary code.")
            return real(*args, allow_pickle=False, **kwargs)
        return wrapper

    def as_strided(*args: Any, **kwargs: Any) -> Any:
        raise InterpreterError("numpy.lib.stride_tricks.as_strided is not allowed (it can "
                               "read outside an array); use sliding_window_view instead.")

    return {id(np.load): no_pickle(np.load), id(npy_format.read_array): no_pickle(
        npy_format.read_array), id(stride_tricks.as_strided): as_strided}
