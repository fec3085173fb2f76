"""Static checks and rewriting of model code before it is compiled to CPython bytecode.

The code runs as ordinary compiled Python (fast); safety comes from refusing some
constructs outright and routing the few risky ones through runtime guards
(RestrictedPython's approach, written from scratch):

- names starting with ``__`` are refused (the guards live there), except ``__name__``;
- dunder attributes are refused except harmless strings (``__name__``...) and special
  methods reached through ``super()``; private ``_x`` attributes and ``format`` go
  through the ``getattr`` guard; frame/code attributes are refused;
- attribute writes go through the ``write`` guard (no writes to modules, classes or
  tools the code did not create);
- ``except`` clauses cannot catch the executor's stop signal (final answer, time
  limit, interrupt), ``with`` blocks cannot swallow it, and ``finally`` blocks cannot
  cancel it with ``return``/``break``/``continue``;
- tool names cannot be rebound; imports are checked against the allowlist.
"""

from __future__ import annotations

import ast
from typing import Callable, Iterable

from ..exceptions import InterpreterError
from ._policy import (CLASS_BODY_DUNDERS, CODE_FILENAME, FORBIDDEN_ATTRS, FORMAT_ATTRS,
                      INTERNAL, MAGIC_METHODS, READABLE_DUNDERS)

__all__ = ["compile_restricted"]


def compile_restricted(code: str, tool_names: Iterable[str],
                       check_import: Callable[[str], None]):
    """Validate and rewrite ``code``, then compile it.

    Args:
        code: the model's Python source.
        tool_names: names that the code may call but never rebind.
        check_import: raises :class:`InterpreterError` for a refused module name.

    Returns:
        A code object to ``exec`` in globals holding the guard hooks.

    Raises:
        InterpreterError: a syntax error or a refused construct, with its line.
    """
    try:
        tree = ast.parse(code, filename=CODE_FILENAME, mode="exec")
    except SyntaxError as err:
        line = (err.text or "").rstrip()
        raise InterpreterError(
            f"SyntaxError at line {err.lineno}: {err.msg}" + (f"\n    {line}" if line else "")
        ) from None
    except (ValueError, RecursionError, MemoryError) as err:  # null bytes, absurd nesting
        raise InterpreterError(f"The code could not be parsed: {type(err).__name__}: {err}") \
            from None
    try:
        tree = _Rewriter(frozenset(tool_names), check_import).visit(tree)
        _capture_last_expression(tree)
        ast.fix_missing_locations(tree)
        return compile(tree, CODE_FILENAME, "exec", dont_inherit=True)
    except (RecursionError, MemoryError) as err:
        raise InterpreterError(f"The code is too deeply nested: {type(err).__name__}") from None
    except SyntaxError as err:  # compile-time checks (e.g. 'return' outside function)
        raise InterpreterError(f"SyntaxError at line {err.lineno}: {err.msg}") from None


def _capture_last_expression(tree: ast.Module) -> None:
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = tree.body[-1]
        tree.body[-1] = ast.copy_location(
            ast.Assign(targets=[ast.Name(INTERNAL.output, ast.Store())], value=last.value), last)


def _hook(name: str, node: ast.AST, *args: ast.expr) -> ast.Call:
    call = ast.Call(func=ast.Name(name, ast.Load()), args=list(args), keywords=[])
    return ast.copy_location(call, node)


def _refuse(node: ast.AST, message: str) -> InterpreterError:
    line = getattr(node, "lineno", None)
    return InterpreterError(f"Line {line}: {message}" if line else message)


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


class _Rewriter(ast.NodeTransformer):
    """Checks every node and rewrites the risky ones into guard calls."""

    def __init__(self, tool_names: frozenset[str], check_import: Callable[[str], None]):
        self.tool_names = tool_names
        self.check_import = check_import
        self.scopes: list[str] = ["module"]  # "module" | "class" | "function"
        self.class_names: list[str] = []

    # --- names ---------------------------------------------------------------

    def _check_binding(self, name: str, node: ast.AST, what: str = "assign to") -> None:
        if name in self.tool_names:
            raise _refuse(node, f"Cannot {what} '{name}': it is a tool, and tools cannot be "
                                "overwritten. Use another name.")
        if name.startswith("__"):
            if self.scopes[-1] == "class" and name in CLASS_BODY_DUNDERS:
                return
            raise _refuse(node, f"Names starting with '__' are not allowed ('{name}').")

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self._check_binding(node.id, node, "delete" if isinstance(node.ctx, ast.Del)
                                else "assign to")
        elif node.id.startswith("__") and node.id != "__name__" and not (
                self.scopes[-1] == "class" and node.id in CLASS_BODY_DUNDERS):
            raise _refuse(node, f"Names starting with '__' are not allowed ('{node.id}').")
        return node

    def visit_arg(self, node: ast.arg) -> ast.AST:
        self._check_binding(node.arg, node, "use as an argument name")
        self.generic_visit(node)
        return node

    def visit_Global(self, node: ast.Global) -> ast.AST:
        for name in node.names:
            self._check_binding(name, node, "declare global")
        return node

    def visit_Nonlocal(self, node: ast.Nonlocal) -> ast.AST:
        for name in node.names:
            self._check_binding(name, node, "declare nonlocal")
        return node

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> ast.AST:
        if node.name:
            self._check_binding(node.name, node)
        self.generic_visit(node)
        # Maps BaseException (and a bare except) to Exception so that the stop signal
        # of the executor passes through.
        node.type = _hook(INTERNAL.except_filter, node,
                          node.type if node.type is not None else ast.Constant(None))
        return node

    def visit_MatchAs(self, node: ast.MatchAs) -> ast.AST:
        if node.name:
            self._check_binding(node.name, node)
        self.generic_visit(node)
        return node

    def visit_MatchStar(self, node: ast.MatchStar) -> ast.AST:
        if node.name:
            self._check_binding(node.name, node)
        return node

    def visit_MatchMapping(self, node: ast.MatchMapping) -> ast.AST:
        if node.rest:
            self._check_binding(node.rest, node)
        self.generic_visit(node)
        return node

    def visit_MatchClass(self, node: ast.MatchClass) -> ast.AST:
        for attr in node.kwd_attrs:  # class patterns read these attributes unguarded
            if attr.startswith("_") or attr in FORBIDDEN_ATTRS:
                raise _refuse(node, f"Matching on attribute '{attr}' is not allowed.")
        self.generic_visit(node)
        return node

    # --- attributes ----------------------------------------------------------

    def _mangle(self, attr: str) -> str:
        # Private names are mangled by the compiler in Attribute nodes; the guard gets
        # the name as a string, so mangle it the same way.
        if attr.startswith("__") and not attr.endswith("__") and self.class_names:
            owner = self.class_names[-1].lstrip("_")
            if owner:
                return f"_{owner}{attr}"
        return attr

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        attr = node.attr
        if attr in FORBIDDEN_ATTRS:
            raise _refuse(node, f"Access to attribute '{attr}' is not allowed "
                                "(frames, code objects and globals are off limits).")
        if isinstance(node.ctx, ast.Load):
            if _is_dunder(attr):
                if attr in READABLE_DUNDERS:
                    return node
                if attr not in MAGIC_METHODS:
                    raise _refuse(node, f"Access to attribute '{attr}' is not allowed.")
            elif not (attr.startswith("_") or attr in FORMAT_ATTRS):
                return node
            return _hook(INTERNAL.getattr, node, node.value, ast.Constant(self._mangle(attr)))
        if _is_dunder(attr):
            raise _refuse(node, f"Assigning or deleting attribute '{attr}' is not allowed.")
        node.value = _hook(INTERNAL.write, node, node.value, ast.Constant(self._mangle(attr)))
        return node

    # --- definitions ---------------------------------------------------------

    def _visit_function(self, node: ast.AST) -> ast.AST:
        name = node.name
        if name in self.tool_names:
            raise _refuse(node, f"Cannot define a function named '{name}': it is a tool, "
                                "and tools cannot be overwritten. Use another name.")
        if name.startswith("__"):
            in_class = self.scopes[-1] == "class"
            private = not name.endswith("__")
            if not in_class or not (private or name in MAGIC_METHODS):
                raise _refuse(node, f"Defining '{name}' is not allowed here.")
        node.decorator_list = [self.visit(d) for d in node.decorator_list]
        node.args = self.visit(node.args)
        if node.returns is not None:
            node.returns = self.visit(node.returns)
        self.scopes.append("function")
        node.body = [self.visit(stmt) for stmt in node.body]
        self.scopes.pop()
        return node

    visit_FunctionDef = visit_AsyncFunctionDef = _visit_function

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        node.args = self.visit(node.args)
        self.scopes.append("function")
        node.body = self.visit(node.body)
        self.scopes.pop()
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        self._check_binding(node.name, node, "define a class named")
        node.bases = [self.visit(b) for b in node.bases]
        node.keywords = [self.visit(k) for k in node.keywords]
        node.decorator_list = [self.visit(d) for d in node.decorator_list]
        self.scopes.append("class")
        self.class_names.append(node.name)
        node.body = [self.visit(stmt) for stmt in node.body]
        self.class_names.pop()
        self.scopes.pop()
        # The mark lets the registration below tell a class this statement created from
        # any class a metaclass or decorator might return instead (a library class must
        # never count as the code's own). After the docstring, which must stay first.
        mark = ast.Assign(targets=[ast.Name(INTERNAL.class_mark, ast.Store())],
                          value=ast.Name(INTERNAL.class_token, ast.Load()))
        first = node.body[0] if node.body else None
        has_doc = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
            and isinstance(first.value.value, str)
        node.body.insert(1 if has_doc else 0, ast.copy_location(mark, node))
        # Registers the class as made by the code, which lets it use its own private
        # attributes and be written to: innermost so that the model's decorators
        # (@dataclass) see it registered, outermost for a class they rebuild.
        node.decorator_list.insert(0, ast.Name(INTERNAL.user_class, ast.Load()))
        node.decorator_list.append(ast.Name(INTERNAL.user_class, ast.Load()))
        return node

    # --- control flow --------------------------------------------------------

    def _visit_try(self, node: ast.AST) -> ast.AST:
        for stmt in node.finalbody:
            _check_finally(stmt)
        self.generic_visit(node)
        return node

    visit_Try = visit_TryStar = _visit_try

    def visit_With(self, node: ast.AST) -> ast.AST:
        self.generic_visit(node)
        for item in node.items:
            item.context_expr = _hook(INTERNAL.context, item.context_expr, item.context_expr)
        return node

    def visit_AsyncWith(self, node: ast.AST) -> ast.AST:
        self.generic_visit(node)
        for item in node.items:
            item.context_expr = _hook(INTERNAL.async_context, item.context_expr,
                                      item.context_expr)
        return node

    # --- imports -------------------------------------------------------------

    def visit_Import(self, node: ast.Import) -> ast.AST:
        for alias in node.names:
            self._check_import(alias.name, node)
            bound = alias.asname or alias.name.split(".")[0]
            self._check_binding(bound, node, "import as")
        return node

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST:
        if node.level:
            raise _refuse(node, "Relative imports are not allowed.")
        self._check_import(node.module or "", node)
        for alias in node.names:
            if alias.name != "*":
                if alias.name.startswith("_"):
                    raise _refuse(node, f"Importing private name '{alias.name}' is not allowed.")
                self._check_binding(alias.asname or alias.name, node, "import as")
        return node

    def _check_import(self, module: str, node: ast.AST) -> None:
        try:
            self.check_import(module)
        except InterpreterError as err:
            raise _refuse(node, str(err)) from None


def _check_finally(stmt: ast.stmt) -> None:
    """Refuse return/break/continue that would cancel an exception inside ``finally``."""
    for node in _walk_same_scope(stmt, loop_depth=0):
        kind, depth = node
        if isinstance(kind, ast.Return) or depth == 0:
            raise _refuse(kind, f"'{type(kind).__name__.lower()}' inside a 'finally' block "
                                "is not allowed (it would silently cancel errors).")


def _walk_same_scope(node: ast.AST, loop_depth: int):
    """Yield (return/break/continue node, loop depth) in ``node``, not entering functions."""
    if isinstance(node, (ast.Return, ast.Break, ast.Continue)):
        yield node, loop_depth
        return
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
        return
    for field, value in ast.iter_fields(node):
        inner = loop_depth + 1 if isinstance(node, (ast.For, ast.AsyncFor, ast.While)) \
            and field == "body" else loop_depth
        children = value if isinstance(value, list) else [value]
        for child in children:
            if isinstance(child, ast.AST):
                yield from _walk_same_scope(child, inner)
