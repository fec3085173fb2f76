"""Tools: what an agent can call. Define one with ``@tool`` or by subclassing ``Tool``.

Example:
    >>> from agent_core import tool
    >>> @tool
    ... def add(a: int, b: int) -> int:
    ...     '''Adds two integers.
    ...
    ...     Args:
    ...         a: the first number.
    ...         b: the second number.
    ...     '''
    ...     return a + b
    >>> add(a=2, b=3)
    5
"""

from __future__ import annotations

import inspect
import textwrap
import threading
from typing import Any, Callable

from ..exceptions import AgentToolCallError, ToolDefinitionError
from ._schema import AUTHORIZED_TYPES, python_type_name, schema_from_function

__all__ = ["Tool", "tool", "validate_tool_class"]

_REQUIRED_ATTRS = ("name", "description", "inputs", "output_type")


def validate_tool_class(cls: type) -> None:
    """Check a Tool subclass's attributes and that forward() matches inputs.

    Raises:
        ToolDefinitionError: naming the attribute or argument at fault.
    """
    where = f"Tool class {cls.__name__!r}"
    for attr in _REQUIRED_ATTRS:
        if not hasattr(cls, attr):
            raise ToolDefinitionError(f"{where} is missing the class attribute {attr!r}")
    if not isinstance(cls.name, str) or not cls.name.isidentifier():
        raise ToolDefinitionError(f"{where}: name {cls.name!r} must be a valid Python identifier")
    if not isinstance(cls.description, str) or not cls.description.strip():
        raise ToolDefinitionError(f"{where}: description must be a non-empty string")
    if not isinstance(cls.inputs, dict):
        raise ToolDefinitionError(f"{where}: inputs must be a dict of name -> {{type, description}}")
    for arg, spec in cls.inputs.items():
        if not isinstance(spec, dict) or "type" not in spec or "description" not in spec:
            raise ToolDefinitionError(
                f"{where}: input {arg!r} must be a dict with 'type' and 'description'")
        kinds = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
        for kind in kinds:
            if kind not in AUTHORIZED_TYPES:
                raise ToolDefinitionError(
                    f"{where}: input {arg!r} has unsupported type {kind!r}; "
                    f"use one of {list(AUTHORIZED_TYPES)}")
    if cls.output_type not in AUTHORIZED_TYPES:
        raise ToolDefinitionError(f"{where}: unsupported output_type {cls.output_type!r}; "
                                  f"use one of {list(AUTHORIZED_TYPES)}")
    _check_forward(cls, where)


def _check_forward(cls: type, where: str) -> None:
    forward = getattr(cls, "forward", None)
    if forward is None or forward is Tool.forward:
        raise ToolDefinitionError(f"{where} must implement forward()")
    if getattr(cls, "skip_forward_signature_validation", False):
        return
    params = list(inspect.signature(forward).parameters.values())[1:]  # drop self
    if any(p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL) for p in params):
        return
    names = [p.name for p in params]
    if set(names) != set(cls.inputs):
        raise ToolDefinitionError(
            f"{where}: forward() takes {names} but inputs declares {list(cls.inputs)}; "
            "they must match")


class Tool:
    """Base class of tools.

    Subclasses set ``name``, ``description``, ``inputs`` (``{arg: {"type", "description",
    "nullable"?}}``), ``output_type`` and implement ``forward``. Heavy set-up goes in
    ``setup()``, run once before the first call. The definition is checked when the
    class is created: a mismatch raises :class:`ToolDefinitionError` at once.
    """

    name: str
    description: str
    inputs: dict[str, dict[str, Any]]
    output_type: str
    skip_forward_signature_validation = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Validate concrete tools at definition time; abstract bases without a
        # full definition are checked when instantiated instead.
        if all(attr in vars(cls) or hasattr(cls, attr) for attr in _REQUIRED_ATTRS):
            validate_tool_class(cls)

    def __init__(self, *args: Any, **kwargs: Any):
        validate_tool_class(type(self))
        self.is_initialized = False
        self._setup_lock = threading.Lock()

    def setup(self) -> None:
        """Heavy initialisation (load a model...); called once before the first use."""

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def _ensure_setup(self) -> None:
        if getattr(self, "is_initialized", False):
            return
        lock = getattr(self, "_setup_lock", None) or threading.Lock()
        with lock:
            if not getattr(self, "is_initialized", False):
                self.setup()
                self.is_initialized = True

    def __call__(self, *args: Any, sanitize_inputs_outputs: bool = False, **kwargs: Any) -> Any:
        # A single dict positional argument holding the inputs is accepted as kwargs,
        # as models often produce {"arg": value} blobs.
        if len(args) == 1 and not kwargs and isinstance(args[0], dict) and args[0] \
                and set(args[0]) <= set(self.inputs) and len(self.inputs) != 1:
            args, kwargs = (), dict(args[0])
        self._ensure_setup()
        return self.forward(*args, **kwargs)

    def validate_arguments(self, arguments: Any) -> dict[str, Any]:
        """Check model-supplied arguments against ``inputs``; return them as kwargs.

        Raises:
            AgentToolCallError: unknown or missing arguments, with the expected schema.
        """
        if not isinstance(arguments, dict):
            if len(self.inputs) == 1:
                return {next(iter(self.inputs)): arguments}
            raise AgentToolCallError(
                f"Tool {self.name!r} expects arguments as a JSON object with keys "
                f"{list(self.inputs)}, got {arguments!r}")
        unknown = set(arguments) - set(self.inputs)
        missing = [k for k, v in self.inputs.items()
                   if k not in arguments and not v.get("nullable")]
        if unknown or missing:
            parts = []
            if unknown:
                parts.append(f"unknown argument(s) {sorted(unknown)}")
            if missing:
                parts.append(f"missing argument(s) {missing}")
            raise AgentToolCallError(
                f"Bad arguments for tool {self.name!r}: {', '.join(parts)}. "
                f"It takes: {self.signature()}")
        return arguments

    # --- descriptions ------------------------------------------------------

    def signature(self) -> str:
        args = ", ".join(f"{k}: {python_type_name(_first(v['type']))}"
                         for k, v in self.inputs.items())
        return f"{self.name}({args}) -> {python_type_name(self.output_type)}"

    def to_code_prompt(self) -> str:
        """How the tool is shown to a CodeAgent: a Python signature and docstring."""
        desc = textwrap.indent(self.description.strip(), "    ").lstrip()
        lines = [f"def {self.signature()}:", f'    """{desc}']
        if self.inputs:
            lines.append("    Args:")
            for k, v in self.inputs.items():
                opt = " (optional)" if v.get("nullable") else ""
                lines.append(f"        {k}: {v['description']}{opt}")
        lines.append('    """')
        return "\n".join(lines)

    def to_tool_calling_prompt(self) -> str:
        """How the tool is shown to a ToolCallingAgent."""
        args = {k: {"type": v["type"], "description": v["description"]}
                for k, v in self.inputs.items()}
        return f"- {self.name}: {self.description.strip()}\n    Takes inputs: {args}\n" \
               f"    Returns an output of type: {self.output_type}"

    def to_json_schema(self) -> dict[str, Any]:
        """``{name, description, parameters}`` for native (OpenAI-style) tool calling."""
        props: dict[str, Any] = {}
        required = []
        for k, v in self.inputs.items():
            props[k] = {"description": v["description"], **_json_schema_type(v["type"])}
            if not v.get("nullable"):
                required.append(k)
        return {"name": self.name, "description": self.description,
                "parameters": {"type": "object", "properties": props, "required": required}}

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "inputs": self.inputs,
                "output_type": self.output_type}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.signature()}>"

    # --- the Hub (implemented in hub_tools, imported lazily) ---------------

    def push_to_hub(self, repo_id: str, token: str | None = None, private: bool = False,
                    commit_message: str | None = None, **kwargs: Any) -> Any:
        """Publish this tool as a Space repo (see ``hub_tools.push_tool``)."""
        from hub_tools import push_tool

        return push_tool(self, repo_id, token=token, private=private,
                         commit_message=commit_message, **kwargs)

    @classmethod
    def from_space(cls, space_id: str, name: str, description: str,
                   api_name: str | None = None, token: str | None = None) -> "Tool":
        """Wrap a running Gradio app as a tool (see ``hub_tools.tool_from_space``)."""
        from hub_tools import tool_from_space

        return tool_from_space(space_id, name, description, api_name=api_name, token=token)


def _first(t: Any) -> str:
    return t[0] if isinstance(t, list) else t


_JSON_SCHEMA = {"string": {"type": "string"}, "boolean": {"type": "boolean"},
                "integer": {"type": "integer"}, "number": {"type": "number"},
                "array": {"type": "array"}, "object": {"type": "object"},
                "image": {"type": "string", "description_suffix": "an image path"},
                "audio": {"type": "string", "description_suffix": "an audio path"},
                "null": {"type": "null"}, "any": {}}


def _json_schema_type(kind: Any) -> dict[str, Any]:
    if isinstance(kind, list):
        return {"type": [(_JSON_SCHEMA.get(k) or {}).get("type", "string") for k in kind]}
    out = dict(_JSON_SCHEMA.get(kind, {}))
    out.pop("description_suffix", None)
    return out


class _FunctionTool(Tool):
    """Base of tools made by ``@tool``: forward is the decorated function."""

    skip_forward_signature_validation = True


def tool(fn: Callable[..., Any]) -> Tool:
    """Turn a typed function with a Google-style docstring into a :class:`Tool`.

    The function's name becomes the tool name, the docstring's text its description,
    the ``Args:`` section and type hints its inputs, the return hint its output type.

    Raises:
        ToolDefinitionError: at decoration time, naming what is wrong.
    """
    schema = schema_from_function(fn)

    def forward(self: Tool, *args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    forward.__signature__ = inspect.signature(fn)  # type: ignore[attr-defined]
    attrs = {**schema, "forward": forward, "__doc__": fn.__doc__,
             "__module__": fn.__module__, "_source_function": fn}
    cls = type(f"{_camel(schema['name'])}Tool", (_FunctionTool,), attrs)
    instance = cls()
    instance.__wrapped__ = fn  # type: ignore[attr-defined]
    return instance


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_")) or "Function"


def tool_source(fn: Callable[..., Any]) -> str:
    """Dedented source of a function, without decorators."""
    src = textwrap.dedent(inspect.getsource(fn))
    lines = src.splitlines()
    while lines and lines[0].lstrip().startswith("@"):
        lines.pop(0)
    return "\n".join(lines) + "\n"
