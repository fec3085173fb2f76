"""Tool schemas from type hints and Google-style docstrings (the one place they are made)."""

from __future__ import annotations

import inspect
import re
import types
import typing
from typing import Any, Callable

from ..exceptions import ToolDefinitionError

__all__ = [
    "AUTHORIZED_TYPES",
    "schema_from_function",
    "parse_docstring",
    "json_type",
    "python_type_name",
]

AUTHORIZED_TYPES = ("string", "boolean", "integer", "number", "image", "audio", "array",
                    "object", "any", "null")

_SIMPLE = {str: "string", bool: "boolean", int: "integer", float: "number", list: "array",
           tuple: "array", set: "array", dict: "object", type(None): "null", Any: "any",
           object: "any"}

_ARGS_HEADER = re.compile(r"^\s*(Args|Arguments|Parameters)\s*:\s*$", re.IGNORECASE)
_SECTION_HEADER = re.compile(
    r"^\s*(Returns?|Raises|Yields|Examples?|Notes?|Attributes)\s*:\s*$", re.IGNORECASE)
_ARG_LINE = re.compile(r"^(\s*)(\*{0,2}\w+)\s*(\([^)]*\))?\s*:\s*(.*)$")


def _type_to_json(annotation: Any, where: str) -> tuple[str, bool]:
    """Map a Python annotation to (json type, nullable)."""
    if isinstance(annotation, str):
        raise ToolDefinitionError(
            f"{where}: string annotation {annotation!r} cannot be resolved; "
            "use real types (or remove `from __future__ import annotations`)")
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        nullable = len(args) < len(typing.get_args(annotation))
        if len(args) == 1:
            return _type_to_json(args[0], where)[0], nullable
        kinds = {_type_to_json(a, where)[0] for a in args}
        return ("number" if kinds <= {"integer", "number"} else "any"), nullable
    if origin is typing.Literal:
        values = typing.get_args(annotation)
        return _type_to_json(type(values[0]), where)[0], False
    if origin is not None:
        annotation = origin
    if annotation in _SIMPLE:
        return _SIMPLE[annotation], False
    if annotation is inspect.Parameter.empty:
        raise ToolDefinitionError(f"{where} has no type hint; add one (e.g. `: str`)")
    module = getattr(annotation, "__module__", "")
    name = getattr(annotation, "__name__", "")
    if module.startswith("PIL") and name == "Image":
        return "image", False
    if name in ("AgentImage",):
        return "image", False
    if name in ("AgentAudio",):
        return "audio", False
    if name in ("AgentText",):
        return "string", False
    if module.startswith("numpy") or module.startswith("torch"):
        return "any", False
    raise ToolDefinitionError(
        f"{where} has unsupported type {annotation!r}; supported: str, int, float, bool, "
        "list, dict, PIL.Image.Image, Any, Optional[...]")


def json_type(annotation: Any, where: str = "argument") -> tuple[str, bool]:
    """Public wrapper of the annotation -> json type mapping."""
    return _type_to_json(annotation, where)


def parse_docstring(doc: str) -> tuple[str, dict[str, str], str | None]:
    """Split a Google-style docstring into (description, {arg: text}, returns text)."""
    lines = inspect.cleandoc(doc or "").splitlines()
    desc: list[str] = []
    args: dict[str, str] = {}
    returns: list[str] = []
    section = "desc"
    current: str | None = None
    arg_indent: int | None = None
    for line in lines:
        if _ARGS_HEADER.match(line):
            section, current, arg_indent = "args", None, None
            continue
        header = _SECTION_HEADER.match(line)
        if header:
            section = "returns" if header.group(1).lower().startswith("return") else "other"
            continue
        if section == "desc":
            desc.append(line)
        elif section == "args":
            m = _ARG_LINE.match(line)
            indent = len(line) - len(line.lstrip())
            if m and (arg_indent is None or indent <= arg_indent):
                arg_indent = indent
                current = m.group(2).lstrip("*")
                args[current] = m.group(4).strip()
            elif current and line.strip():
                args[current] = (args[current] + " " + line.strip()).strip()
        elif section == "returns" and line.strip():
            returns.append(line.strip())
    description = "\n".join(desc).strip()
    return description, args, (" ".join(returns) or None)


def schema_from_function(fn: Callable[..., Any]) -> dict[str, Any]:
    """Build {name, description, inputs, output_type} for a typed, documented function.

    Raises:
        ToolDefinitionError: naming the problem (no docstring, an argument missing
            from ``Args:``, a missing or unsupported type hint).
    """
    name = fn.__name__
    if not fn.__doc__ or not fn.__doc__.strip():
        raise ToolDefinitionError(f"Tool function {name!r} has no docstring; add a description "
                                  "and an 'Args:' section describing each argument")
    description, arg_docs, returns = parse_docstring(fn.__doc__)
    if not description:
        raise ToolDefinitionError(f"Tool function {name!r}: the docstring needs a description "
                                  "before its 'Args:' section")
    try:
        hints = typing.get_type_hints(fn)
    except Exception as err:  # unresolvable forward references
        raise ToolDefinitionError(f"Tool function {name!r}: cannot resolve type hints: {err}")
    sig = inspect.signature(fn)
    inputs: dict[str, dict[str, Any]] = {}
    for pname, param in sig.parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise ToolDefinitionError(
                f"Tool function {name!r}: *args/**kwargs are not supported; name each argument")
        where = f"Tool function {name!r}, argument {pname!r}"
        jtype, nullable = _type_to_json(hints.get(pname, param.annotation), where)
        if pname not in arg_docs:
            raise ToolDefinitionError(
                f"Tool function {name!r}: argument {pname!r} is not described in the "
                "docstring's 'Args:' section")
        entry: dict[str, Any] = {"type": jtype, "description": arg_docs[pname]}
        if nullable or param.default is not inspect.Parameter.empty:
            entry["nullable"] = True
        inputs[pname] = entry
    extra = set(arg_docs) - set(inputs)
    if extra:
        raise ToolDefinitionError(
            f"Tool function {name!r}: the docstring describes {sorted(extra)} which are not "
            "arguments of the function")
    if "return" not in hints and sig.return_annotation is inspect.Signature.empty:
        raise ToolDefinitionError(f"Tool function {name!r} has no return type hint; add one "
                                  "(e.g. `-> str`)")
    output_type, _ = _type_to_json(hints.get("return", sig.return_annotation),
                                   f"Tool function {name!r}, return value")
    if returns:
        description = f"{description}\nReturns: {returns}"
    return {"name": name, "description": description, "inputs": inputs,
            "output_type": output_type}


_PY_NAMES = {"string": "str", "boolean": "bool", "integer": "int", "number": "float",
             "image": "Image", "audio": "Audio", "array": "list", "object": "dict",
             "any": "Any", "null": "None"}


def python_type_name(json_type_name: str) -> str:
    return _PY_NAMES.get(json_type_name, "Any")
