"""What model-written code may touch: the constants and the import rule shared by all tiers.

Kept in one place so that the static checks (``_compiler``), the runtime guards
(``_guards``) and the module proxies (``_modules``) cannot drift apart.
"""

from __future__ import annotations

from typing import Iterable

__all__ = [
    "DEFAULT_AUTHORIZED_IMPORTS", "READABLE_DUNDERS", "MAGIC_METHODS", "CLASS_BODY_DUNDERS",
    "FORBIDDEN_ATTRS", "NAMEDTUPLE_ATTRS", "FORMAT_ATTRS", "CODE_FILENAME", "INTERNAL",
    "is_authorized", "normalise_imports",
]

# The stdlib modules the anchor allows, plus side-effect-free ones small models reach
# for (DESIGN.md: refusing `string` or `json` sinks them). Nothing here gives
# filesystem, network or process access; the few risky members of these modules
# (time.sleep, operator.attrgetter, string.Formatter, ...) are replaced by safe
# versions in ``_safe_stdlib``.
DEFAULT_AUTHORIZED_IMPORTS: tuple[str, ...] = (
    # the anchor's list
    "collections", "datetime", "itertools", "math", "queue", "random", "re", "stat",
    "statistics", "time", "unicodedata",
    # text and data
    "string", "textwrap", "json", "csv", "html", "difflib", "pprint", "base64", "binascii",
    "hashlib", "zlib", "struct", "array", "io", "unicodedata", "keyword",
    # numbers
    "fractions", "decimal", "numbers", "cmath", "secrets",
    # functional and containers
    "functools", "operator", "copy", "heapq", "bisect", "graphlib",
    # types and classes
    "enum", "dataclasses", "typing", "abc",
    # dates
    "calendar", "uuid",
)

# Dunder attributes that may be read on any object: plain strings that lead nowhere.
# ``__class__`` is not among them: no dunder walk starts anywhere, by any route
# (``type(x)`` gives the type to code that needs it).
READABLE_DUNDERS = frozenset({"__name__", "__qualname__", "__doc__", "__module__",
                              "__version__"})

# Special methods a model's class may define, and reach through ``super()`` on its
# own objects (``super().__init__(...)``). Left out on purpose: __del__ (would run at
# garbage collection, outside any time limit), __getattribute__, __reduce__ family,
# __init_subclass__, __subclasshook__, __instancecheck__/__subclasscheck__, __set_name__.
MAGIC_METHODS = frozenset({
    "__init__", "__new__", "__repr__", "__str__", "__format__", "__bytes__", "__hash__",
    "__bool__", "__len__", "__length_hint__", "__iter__", "__next__", "__reversed__",
    "__contains__", "__getitem__", "__setitem__", "__delitem__", "__missing__",
    "__call__", "__enter__", "__exit__", "__aenter__", "__aexit__", "__aiter__",
    "__anext__", "__await__", "__post_init__", "__getattr__", "__setattr__",
    "__delattr__", "__get__", "__set__", "__delete__", "__index__", "__int__",
    "__float__", "__complex__", "__round__", "__trunc__", "__floor__", "__ceil__",
    "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__",
    "__neg__", "__pos__", "__abs__", "__invert__", "__copy__", "__deepcopy__",
    *(f"__{p}{op}__" for op in ("add", "sub", "mul", "matmul", "truediv", "floordiv",
                                "mod", "divmod", "pow", "lshift", "rshift", "and",
                                "xor", "or") for p in ("", "r", "i")),
})

# Names a class body may bind besides its special methods.
CLASS_BODY_DUNDERS = frozenset({"__slots__", "__hash__"}) | MAGIC_METHODS

# Public attributes that lead to frames, code objects, globals or builtins. Refused
# wherever an attribute name can be given (syntax, getattr, format fields,
# attrgetter, match patterns).
FORBIDDEN_ATTRS = frozenset({
    "f_back", "f_builtins", "f_code", "f_globals", "f_locals", "f_lasti", "f_lineno",
    "f_trace", "f_trace_lines", "f_trace_opcodes",
    "gi_frame", "gi_code", "gi_running", "gi_yieldfrom", "gi_suspended",
    "cr_frame", "cr_code", "cr_await", "cr_origin", "cr_running", "cr_suspended",
    "ag_frame", "ag_code", "ag_await", "ag_running",
    "tb_frame", "tb_next", "tb_lasti", "tb_lineno",
    "co_code", "co_consts", "co_names", "co_varnames", "co_cellvars", "co_freevars",
    "co_filename", "co_lnotab", "co_linetable", "co_exceptiontable", "co_qualname",
    "func_globals", "func_code", "func_closure", "im_func", "im_self", "im_class",
    # numpy's ndarray.ctypes leads to ctypes types, whose from_address reads any memory
    "ctypes", "from_address", "from_buffer",
})

# Private attributes of named tuples that are part of their public API.
NAMEDTUPLE_ATTRS = frozenset({"_asdict", "_replace", "_fields", "_make", "_field_defaults"})

# str.format/format_map walk attribute paths given in the format string.
FORMAT_ATTRS = frozenset({"format", "format_map"})

# Filename of compiled model code: how functions the model defined are recognised.
CODE_FILENAME = "<agent-code>"


class INTERNAL:
    """Names of the guard hooks in the code's globals; model code cannot spell them.

    Dunder-shaped so that the compiler does not mangle them inside class bodies.
    """

    getattr = "__ac_ga__"
    write = "__ac_wr__"
    except_filter = "__ac_ef__"
    context = "__ac_cm__"
    async_context = "__ac_acm__"
    user_class = "__ac_cls__"
    output = "__ac_out__"
    class_mark = "__ac_mark__"  # set in every class body the code writes...
    class_token = "__ac_token__"  # ...to this object, which proves where a class came from


# Submodules that open a door to C-level memory or process control even inside an
# authorized package; importing them takes an explicit entry in the list.
_RISKY_SUBMODULE_PARTS = frozenset({"ctypeslib", "f2py", "distutils", "testing", "_pytest",
                                    "setuptools", "compat", "subprocess", "os", "sys"})


def normalise_imports(names: Iterable[str]) -> tuple[str, ...]:
    """The authorized import list with defaults added, sorted and de-duplicated."""
    return tuple(sorted({*DEFAULT_AUTHORIZED_IMPORTS, *(n.strip() for n in names if n.strip())}))


def is_authorized(module: str, authorized: Iterable[str]) -> bool:
    """Whether model code may import ``module`` (or reach it as an attribute).

    ``"*"`` allows everything; ``"pkg"`` and ``"pkg.*"`` allow the package and its
    public submodules, except private (``_x``) and risky ones (``numpy.ctypeslib``,
    ``*.testing``), which must be listed by their full name.
    """
    allowed = set(authorized)
    if "*" in allowed or module in allowed or f"{module}.*" in allowed:
        return True
    parts = module.split(".")
    for i in range(len(parts) - 1, 0, -1):
        prefix = ".".join(parts[:i])
        if prefix in allowed or f"{prefix}.*" in allowed:
            rest = parts[i:]
            return not any(p.startswith("_") or p in _RISKY_SUBMODULE_PARTS for p in rest)
    return False
