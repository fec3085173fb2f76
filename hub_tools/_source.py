"""Write a tool as a self-contained ``tool.py``: its code plus exactly what that code uses.

For a ``Tool`` subclass the class source is kept as written (comments included); its
schema attributes (``name``, ``description``, ``inputs``, ``output_type``) are written as
literals of their values. For an ``@tool`` function, tool.py holds the function as
written plus a small ``Tool`` subclass whose ``forward`` calls it, so both agent_core and
smolagents can load it.

Every global name the code uses is resolved in the tool's module and written into
tool.py: modules and objects of installed packages or the standard library become
imports, literal constants are copied, plain helper functions of the author's own
project are inlined (recursively). Anything else is refused with the reason: a closure
over a local variable, a non-literal class attribute, an object of the author's project
that cannot be written as source...
"""

from __future__ import annotations

import ast
import builtins
import copy
import importlib
import importlib.metadata
import importlib.util
import inspect
import math
import pprint
import re
import symtable
import sys
import textwrap
import typing
from dataclasses import dataclass
from typing import Any, Callable

from agent_core.tools.base import Tool, tool_source

from .exceptions import ToolNotSelfContainedError

__all__ = ["ToolSource", "tool_to_source", "requirements_for", "TOOL_IMPORT"]

SCHEMA_ATTRS = ("name", "description", "inputs", "output_type")
TOOL_IMPORT = (
    "try:\n"
    "    from smolagents import Tool\n"
    "except ImportError:  # no smolagents here: agent_core's Tool has the same interface\n"
    "    from agent_core import Tool\n"
)
_FRAMEWORKS = ("agent_core", "smolagents")


@dataclass(frozen=True)
class ToolSource:
    """A rendered tool.py.

    Attributes:
        code: the text of tool.py.
        class_name: the Tool subclass it defines.
        requirements: pip distribution names its imports need (e.g. ``pillow``).
    """

    code: str
    class_name: str
    requirements: tuple[str, ...]


def tool_to_source(tool: Tool) -> ToolSource:
    """Render ``tool`` (an ``@tool`` function or a ``Tool`` subclass instance) as tool.py.

    Raises:
        ToolNotSelfContainedError: with the reason, when tool.py could not stand alone.

    Example:
        >>> print(tool_to_source(my_tool).code)  # doctest: +SKIP
    """
    cls = type(tool)
    name = getattr(tool, "name", cls.__name__)
    refusal = getattr(cls, "_hub_not_pushable", None)
    if refusal:
        raise ToolNotSelfContainedError(name, refusal)
    builder = _Builder(name)
    fn = getattr(cls, "_source_function", None)
    if fn is not None:
        class_name = builder.add_function_tool(tool, fn)
    else:
        class_name = builder.add_class_tool(cls)
    code = builder.render()
    _check_standalone(code, name)
    return ToolSource(code, class_name, tuple(requirements_for(code)))


# --- the builder -----------------------------------------------------------------


class _Builder:
    """Collects imports, constants, helpers and the tool code of one tool.py."""

    def __init__(self, tool_name: str):
        self.tool_name = tool_name
        self.imports: dict[str, str] = {}
        self.constants: list[str] = []
        self.helpers: list[str] = []
        self.main: list[str] = []
        self.defined: set[str] = {"Tool"}
        self.bound: dict[str, Any] = {}

    def refuse(self, reason: str) -> ToolNotSelfContainedError:
        return ToolNotSelfContainedError(self.tool_name, reason)

    def render(self) -> str:
        head = (f'"""Tool {self.tool_name!r}, published with hub_tools (agent_core).\n\n'
                "Load it with agent_core.load_tool(repo_id, trust_remote_code=True) or "
                "smolagents.load_tool(...).\n\"\"\"\n")
        parts = [head, TOOL_IMPORT]
        imports = sorted(set(self.imports.values()), key=lambda l: (l.startswith("from"), l))
        if imports:
            parts.append("\n".join(imports) + "\n")
        if self.constants:
            parts.append("\n".join(self.constants) + "\n")
        code = [p.rstrip("\n") for p in (*self.helpers, *self.main)]
        return "\n\n".join(p.rstrip("\n") for p in parts) + "\n\n\n" + "\n\n\n".join(code) + "\n"

    # -- @tool functions --
    def add_function_tool(self, tool: Tool, fn: Callable[..., Any]) -> str:
        self._check_closure(fn, f"the function {fn.__name__}()")
        try:
            src = tool_source(fn)
        except (OSError, TypeError):
            raise self.refuse(f"the source of {fn.__name__}() is not available (defined in an "
                              "interactive session?)") from None
        node = ast.parse(src).body[0]
        if not isinstance(node, ast.FunctionDef):
            raise self.refuse(f"{fn.__name__}() must be a plain (not async) function")
        class_name = type(tool).__name__
        self.defined.update({fn.__name__, class_name})
        self.resolve(_free_names(src), fn.__globals__, f"{fn.__name__}()")
        self.main.append(src)
        self.main.append(_function_tool_class(tool, class_name, node))
        return class_name

    # -- Tool subclasses --
    def add_class_tool(self, cls: type) -> str:
        bad = [b for b in cls.__bases__ if not _is_tool_base(b)]
        if bad or not cls.__bases__:
            raise self.refuse(
                f"class {cls.__name__} subclasses {', '.join(b.__name__ for b in bad)}; tool.py "
                "can only hold a direct subclass of Tool (copy what you need from the base class)")
        for attr, value in vars(cls).items():
            func = getattr(value, "__func__", value)
            for f in (getattr(func, "fget", None), getattr(func, "fset", None), func):
                if inspect.isfunction(f):
                    self._check_closure(f, f"method {cls.__name__}.{attr}()")
        try:
            src = textwrap.dedent(inspect.getsource(cls))
        except (OSError, TypeError):
            raise self.refuse(f"the source of class {cls.__name__} is not available (defined in "
                              "an interactive session?)") from None
        src = _rewrite_class(src, cls, self.refuse)
        self.defined.add(cls.__name__)
        module = sys.modules.get(cls.__module__)
        funcs = [getattr(v, "__func__", v) for v in vars(cls).values()]
        scope = next((f.__globals__ for f in funcs if inspect.isfunction(f)), None) \
            or (vars(module) if module else {})
        self.resolve(_free_names(src), scope, f"class {cls.__name__}")
        self.main.append(src)
        return cls.__name__

    # -- names --
    def resolve(self, names: set[str], scope: dict[str, Any], where: str) -> None:
        """Make every name in ``names`` defined in tool.py, or refuse."""
        for name in sorted(names - self.defined):
            if name not in scope:
                if hasattr(builtins, name):
                    continue
                raise self.refuse(f"{where} uses the name {name!r}, which is not defined in its "
                                  "module")
            value = scope[name]
            if name in self.bound:
                if self.bound[name] is value or (_is_literal(value) and self.bound[name] == value):
                    continue
                raise self.refuse(f"the name {name!r} means different things in the modules "
                                  "the tool's code comes from; rename one")
            self.bound[name] = value
            if getattr(builtins, name, _MISSING) is value:
                continue
            self._define(name, value, where)

    def _define(self, name: str, value: Any, where: str) -> None:
        line = self._import_line(name, value, where)
        if line:
            self.imports[name] = line
        elif _is_literal(value):
            self.constants.append(f"{name} = {_literal(value)}")
        elif inspect.isfunction(value) and not _importable_module(value.__module__):
            self._inline_function(name, value)
        else:
            kind = type(value).__name__
            origin = getattr(value, "__module__", None) or getattr(type(value), "__module__", "?")
            raise self.refuse(
                f"{where} uses {name!r} (a {kind} from module {origin!r}), which cannot be "
                "written into tool.py: only imports from installed packages, literal constants "
                "and plain functions can be; create it inside the tool (e.g. in setup())")

    def _import_line(self, name: str, value: Any, where: str) -> str | None:
        if inspect.ismodule(value):
            mod = value.__name__
            if not _importable_module(mod):
                raise self.refuse(f"{where} uses module {mod!r} of your own project, which will "
                                  "not exist where the tool is loaded")
            if name == mod:
                return f"import {mod}"
            if mod.endswith("." + name):
                return f"from {mod.rsplit('.', 1)[0]} import {name}"
            return f"import {mod} as {name}"
        if getattr(typing, name, _MISSING) is value:
            return f"from typing import {name}"
        module = getattr(value, "__module__", None)
        qual = getattr(value, "__qualname__", None) or getattr(value, "__name__", None)
        if not isinstance(module, str) or not isinstance(qual, str) or "." in qual \
                or not _importable_module(module):
            return None
        try:
            found = getattr(importlib.import_module(module), qual, _MISSING)
        except Exception:
            return None
        if found is not value:
            return None
        return f"from {module} import {qual}" + (f" as {name}" if name != qual else "")

    def _inline_function(self, name: str, fn: Callable[..., Any]) -> None:
        self._check_closure(fn, f"the helper {fn.__name__}()")
        try:
            src = textwrap.dedent(inspect.getsource(fn))
        except (OSError, TypeError):
            raise self.refuse(f"the source of helper {fn.__name__}() is not available") from None
        self.defined.update({name, fn.__name__})
        self.resolve(_free_names(src), fn.__globals__, f"the helper {fn.__name__}()")
        self.helpers.append(src if name == fn.__name__ else f"{src}\n\n{name} = {fn.__name__}")

    def _check_closure(self, fn: Callable[..., Any], where: str) -> None:
        free = [v for v in fn.__code__.co_freevars if v != "__class__"]
        if free:
            raise self.refuse(
                f"{where} closes over {', '.join(repr(v) for v in free)} from the function that "
                "defines it; tool.py must be self-contained: define them inside the tool or as "
                "module-level constants")


_MISSING = object()


def _is_tool_base(base: type) -> bool:
    return base is Tool or (base.__name__ == "Tool" and base.__module__.split(".")[0] in _FRAMEWORKS)


def _function_tool_class(tool: Tool, class_name: str, fn_node: ast.FunctionDef) -> str:
    """A Tool subclass whose forward() has the function's signature and calls it."""
    forward = copy.deepcopy(fn_node)
    forward.name, forward.decorator_list = "forward", []
    args = forward.args
    (args.posonlyargs if args.posonlyargs else args.args).insert(0, ast.arg("self"))
    call = ast.Call(
        func=ast.Name(fn_node.name, ast.Load()),
        args=[ast.Name(a.arg, ast.Load()) for a in fn_node.args.posonlyargs + fn_node.args.args],
        keywords=[ast.keyword(a.arg, ast.Name(a.arg, ast.Load())) for a in fn_node.args.kwonlyargs])
    forward.body = [ast.Return(call)]
    lines = [f"class {class_name}(Tool):"]
    for attr in SCHEMA_ATTRS:
        lines.append(_attr_line(attr, getattr(tool, attr), "    "))
    if getattr(tool, "output_schema", None) is not None:
        lines.append(_attr_line("output_schema", tool.output_schema, "    "))
    lines.append("")
    lines.append(textwrap.indent(ast.unparse(ast.fix_missing_locations(forward)), "    "))
    return "\n".join(lines) + "\n"


def _attr_line(name: str, value: Any, indent: str) -> str:
    text = _literal(value)
    first, *rest = text.splitlines()
    pad = indent + " " * (len(name) + 3)
    return "\n".join([f"{indent}{name} = {first}", *(pad + line for line in rest)])


def _rewrite_class(src: str, cls: type, refuse: Callable[[str], Exception]) -> str:
    """The class source with base ``Tool`` and literal schema attributes; refuses
    non-literal class attributes and statements other than assignments and defs."""
    node = ast.parse(src).body[0]
    if not isinstance(node, ast.ClassDef):
        raise refuse(f"the source of {cls.__name__} is not a class statement")
    if node.keywords:
        raise refuse(f"class {cls.__name__} uses a metaclass or class keywords")
    lines = src.splitlines()
    replace: dict[int, tuple[int, str]] = {}  # first line -> (last line, new text)
    seen: set[str] = set()
    indent = " " * node.body[0].col_offset
    for stmt in node.body:
        target = _assign_target(stmt)
        if target is None:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Pass)) \
                    or (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)):
                continue
            raise refuse(f"class {cls.__name__} runs a {type(stmt).__name__} statement in its "
                         "body; tool.py can only carry literal attributes and methods there")
        seen.add(target)
        value = getattr(stmt, "value", None)
        if target in (*SCHEMA_ATTRS, "output_schema"):
            if not _is_literal(getattr(cls, target, None)):
                raise refuse(f"class attribute {target!r} of {cls.__name__} is not a literal value")
            replace[stmt.lineno] = (stmt.end_lineno, _attr_line(target, getattr(cls, target), indent))
        elif value is not None and not _is_literal_node(value):
            raise refuse(
                f"class attribute {target!r} = {ast.unparse(value)} of {cls.__name__} is not a "
                "literal; tool.py can only carry literal class attributes (strings, numbers, "
                "lists, dicts...): build it in __init__() or setup() instead")
    header_end = node.body[0].lineno - 1
    if header_end < node.lineno:  # one-line class: fall back to the AST's rendering
        return _rewrite_class_ast(node, cls)
    out = lines[: node.lineno - 1] + [f"class {cls.__name__}(Tool):"]
    missing = [a for a in SCHEMA_ATTRS if a not in seen]
    body_start = header_end
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        out += lines[first.lineno - 1: first.end_lineno]
        body_start = first.end_lineno
    out += [_attr_line(a, getattr(cls, a), indent) for a in missing]
    i = body_start
    while i < len(lines):
        if i + 1 in replace:
            last, text = replace[i + 1]
            out.append(text)
            i = last
        else:
            out.append(lines[i])
            i += 1
    return "\n".join(out) + "\n"


def _rewrite_class_ast(node: ast.ClassDef, cls: type) -> str:
    node.bases = [ast.Name("Tool", ast.Load())]
    return ast.unparse(node) + "\n"


def _assign_target(stmt: ast.stmt) -> str | None:
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 \
            and isinstance(stmt.targets[0], ast.Name):
        return stmt.targets[0].id
    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
        return stmt.target.id
    if isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
        return "<complex assignment>"
    return None


# --- literals and names ------------------------------------------------------------


def _is_literal(value: Any, depth: int = 0) -> bool:
    """Whether ``repr(value)`` is a Python literal that evaluates back to ``value``."""
    if depth > 30:
        return False
    kind = type(value)
    if value is None or kind in (bool, int, str, bytes):
        return True
    if kind is float:
        return math.isfinite(value)
    if kind in (list, tuple, set):
        return all(_is_literal(v, depth + 1) for v in value)
    if kind is dict:
        return all(_is_literal(k, depth + 1) and _is_literal(v, depth + 1)
                   for k, v in value.items())
    return False


def _literal(value: Any) -> str:
    return pprint.pformat(value, width=88, sort_dicts=False)


def _is_literal_node(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _free_names(src: str) -> set[str]:
    """Global names the code reads but does not define at its top level."""
    top = symtable.symtable(src, "tool.py", "exec")
    defined = {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported()}
    names: set[str] = set()
    stack = [top]
    while stack:
        table = stack.pop()
        for sym in table.get_symbols():
            if sym.is_global() and (sym.is_referenced() or sym.is_declared_global()):
                names.add(sym.get_name())
        stack.extend(table.get_children())
    return names - defined


def _importable_module(module: str) -> bool:
    """Whether ``module`` can be imported wherever the tool is loaded: the standard
    library, an installed distribution, or the agent frameworks themselves."""
    top = module.split(".")[0]
    if top in sys.stdlib_module_names or top in _FRAMEWORKS or top == "__future__":
        return True
    if top == "__main__":
        return False
    mod = sys.modules.get(top)
    paths: list[str] = []
    if mod is not None:
        paths = [getattr(mod, "__file__", None) or "", *list(getattr(mod, "__path__", []) or [])]
    else:
        spec = importlib.util.find_spec(top)
        if spec is None:
            return False
        paths = [spec.origin or "", *list(spec.submodule_search_locations or [])]
    return any(("site-packages" in p or "dist-packages" in p) for p in paths if p)


def requirements_for(code: str) -> list[str]:
    """Pip distribution names for the imports of ``code`` (``PIL`` -> ``pillow``), plus
    ``smolagents`` (the Tool base class where agent_core is not installed)."""
    tops: set[str] = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            tops.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            tops.add(node.module.split(".")[0])
    tops -= {*_FRAMEWORKS, "__future__", *sys.stdlib_module_names}
    dists = {"smolagents"}
    if tops:
        mapping = importlib.metadata.packages_distributions()
        for top in tops:
            names = mapping.get(top) or [top]
            dists.add(re.sub(r"[-_.]+", "-", names[0]).lower())
    return sorted(dists)


def _check_standalone(code: str, tool_name: str) -> None:
    """The rendered tool.py must compile and define every global name it uses."""
    try:
        compile(code, "tool.py", "exec")
    except SyntaxError as err:
        raise ToolNotSelfContainedError(tool_name, f"the rendered tool.py does not compile: {err}")
    missing = {n for n in _free_names(code) if not hasattr(builtins, n)}
    if missing:
        raise ToolNotSelfContainedError(
            tool_name, f"tool.py would use undefined names {sorted(missing)}")
