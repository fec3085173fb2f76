"""Wrap a running Gradio app (a Space, or any URL) as a tool, through gradio_client.

The tool's inputs come from the app's API description (``view_api``): one input per
parameter of the chosen endpoint, typed from its component (Image -> ``image``, Audio
-> ``audio``, Number -> ``number``...). Image and audio inputs accept a PIL image, an
agent type or a path; image and audio results come back as ``AgentImage`` /
``AgentAudio`` (or a PIL image / a path when agent_core has no agent types).
"""

from __future__ import annotations

import importlib
import os
import re
import tempfile
from typing import TYPE_CHECKING, Any

from agent_core._secrets import redact
from agent_core.exceptions import MissingDependencyError
from agent_core.tools.base import Tool

from ._hub import hub_errors, make_api
from .exceptions import SpaceToolError

if TYPE_CHECKING:
    from huggingface_hub import HfApi

__all__ = ["tool_from_space"]

_COMPONENT_TYPES = {"Image": "image", "ImageEditor": "image", "Audio": "audio",
                    "Number": "number", "Slider": "number", "Checkbox": "boolean",
                    "JSON": "object", "Dataframe": "object"}
_PYTHON_TYPES = {"str": "string", "float": "number", "int": "integer", "bool": "boolean",
                 "Dict(str, Any)": "object", "List[Any]": "array"}


def tool_from_space(space_id: str, name: str, description: str, api_name: str | None = None,
                    token: str | None = None, api: "HfApi | None" = None) -> Tool:
    """A tool that calls the Gradio app ``space_id`` (``owner/name`` or a URL).

    Args:
        space_id: a Space id (its ``host`` is read from the Hub through ``api``) or the
            URL of a running Gradio app.
        name: the tool's name (``-`` and spaces become ``_``).
        description: what the tool does, for the model.
        api_name: the endpoint (e.g. ``"/predict"``); defaults to the app's first one.
        token: Hub token for private Spaces (sent to the app too).
        api: the ``HfApi`` used to look the Space up.

    Raises:
        SpaceToolError: the Space is not running, or has no such endpoint.
        ToolRepoNotFoundError: no such Space.

    Example:
        >>> gen = tool_from_space("black-forest-labs/FLUX.1-schnell", "image_generator",
        ...                       "Generate an image from a prompt")  # doctest: +SKIP
    """
    try:
        from gradio_client import Client
    except ImportError:
        raise MissingDependencyError("Tool.from_space", "gradio_client") from None
    url = _app_url(space_id, token, api)
    try:
        client = Client(url, token=token, verbose=False, analytics_enabled=False)
        info = client.view_api(return_format="dict", print_info=False)
    except Exception as err:
        raise SpaceToolError(redact(f"Cannot connect to the Gradio app of {space_id!r} at {url}: "
                                    f"{err}", [token] if token else [])) from None
    endpoint, spec = _pick_endpoint(info, api_name, space_id)
    return _make_tool(client, space_id, endpoint, spec, name, description)


def _app_url(space_id: str, token: str | None, api: "HfApi | None") -> str:
    if re.match(r"https?://", space_id):
        return space_id
    api = make_api(api, token)
    with hub_errors(api, space_id, token=token):
        info = api.space_info(space_id, token=token)
    stage = info.runtime.stage if info.runtime else None
    if not info.host or (stage and stage != "RUNNING"):
        raise SpaceToolError(f"Space {space_id!r} is not running (stage {stage or 'unknown'}); "
                             "start it on the Hub, or pass the URL of a running Gradio app")
    return info.host


def _pick_endpoint(info: dict, api_name: str | None, space_id: str) -> tuple[str, dict]:
    endpoints = info.get("named_endpoints") or {}
    if not endpoints:
        raise SpaceToolError(f"The Gradio app of {space_id!r} exposes no named API endpoint")
    if api_name is None:
        return next(iter(endpoints.items()))
    key = api_name if api_name.startswith("/") else "/" + api_name
    if key not in endpoints:
        raise SpaceToolError(f"The Gradio app of {space_id!r} has no endpoint {key!r}; it has "
                             f"{sorted(endpoints)}")
    return key, endpoints[key]


def _kind(param: dict) -> str:
    component = param.get("component", "")
    if component in _COMPONENT_TYPES:
        kind = _COMPONENT_TYPES[component]
        if kind == "number" and (param.get("python_type") or {}).get("type") == "int":
            return "integer"
        return kind
    return _PYTHON_TYPES.get((param.get("python_type") or {}).get("type", ""), "string")


def _identifier(text: str, fallback: str) -> str:
    name = re.sub(r"\W+", "_", text or "").strip("_")
    if not name or name[0].isdigit():
        name = fallback
    return name


def _make_tool(client: Any, space_id: str, endpoint: str, spec: dict, name: str,
               description: str) -> Tool:
    params = spec.get("parameters") or []
    inputs: dict[str, dict[str, Any]] = {}
    arg_names: dict[str, str] = {}  # tool input -> parameter name of the app
    for i, param in enumerate(params):
        key = _identifier(param.get("parameter_name") or param.get("label") or "", f"arg{i}")
        arg_names[key] = param.get("parameter_name") or key
        entry: dict[str, Any] = {"type": _kind(param),
                                 "description": param.get("label") or param.get("parameter_name")
                                 or key}
        if param.get("parameter_has_default"):
            entry["nullable"] = True
        inputs[key] = entry
    returns = spec.get("returns") or []
    output_type = _kind(returns[0]) if returns else "any"
    if output_type not in ("image", "audio"):
        output_type = "string" if output_type == "string" else "any"

    def forward(self: Tool, *args: Any, **kwargs: Any) -> Any:
        values = dict(zip(self.inputs, args), **kwargs)
        call = {arg_names[k]: _to_app(v, self.inputs[k]["type"]) for k, v in values.items()}
        result = self._client.predict(api_name=self._endpoint, **call)
        if isinstance(result, (list, tuple)) and len(returns) > 1:
            result = result[0]
        return _from_app(result, self.output_type)

    attrs = {"name": _identifier(name, "space_tool"), "description": description or
             f"Calls the Gradio app {space_id}", "inputs": inputs, "output_type": output_type,
             "forward": forward, "skip_forward_signature_validation": True,
             "_hub_not_pushable": "it wraps a running Gradio app (Tool.from_space); share the "
                                  "app's Space instead"}
    cls = type(f"{_identifier(name, 'Space').title().replace('_', '')}SpaceTool", (Tool,), attrs)
    tool = cls()
    tool._client, tool._endpoint, tool.space_id = client, endpoint, space_id
    return tool


def _to_app(value: Any, kind: str) -> Any:
    """An agent value as gradio_client sends it (files through ``handle_file``)."""
    if kind not in ("image", "audio") or value is None:
        return value
    from gradio_client import handle_file

    if hasattr(value, "to_string") and not isinstance(value, str):
        value = value.to_string()  # AgentImage / AgentAudio -> a file path
    elif hasattr(value, "save") and hasattr(value, "size"):  # a PIL image
        fd, path = tempfile.mkstemp(suffix=".png", prefix="space_tool_")
        os.close(fd)
        value.save(path)
        value = path
    return handle_file(str(value))


def _from_app(result: Any, output_type: str) -> Any:
    if isinstance(result, dict) and "path" in result:
        result = result.get("path") or result.get("url")
    if output_type not in ("image", "audio") or not isinstance(result, str):
        return result
    try:
        types = importlib.import_module("agent_core.agent_types")
        return types.AgentImage(result) if output_type == "image" else types.AgentAudio(result)
    except (ImportError, AttributeError):
        if output_type == "image":
            from PIL import Image

            return Image.open(result)
        return result
