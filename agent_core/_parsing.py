"""Reading actions out of model text: code blocks and JSON tool calls."""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from .exceptions import AgentParsingError
from .models.base import ToolCall, parse_arguments

__all__ = ["extract_code", "parse_tool_calls", "normalise_code"]

# ```py / ```python / ``` fences; the closing fence may be cut off by a stop sequence.
_FENCE = re.compile(r"```(?:py|python|python3)?[ \t]*\n(.*?)(?:\n?```|$)", re.DOTALL)

CODE_FORMAT_HELP = (
    "Your reply had no code block. Reply in this format:\n"
    "Thought: <your reasoning>\nCode:\n```py\n<your python code>\n```<end_code>\n"
    "Call final_answer(<value>) in the code when you have the answer.")


def extract_code(text: str | None) -> str:
    """Return the Python code of a model reply (all fenced blocks, joined).

    Raises:
        AgentParsingError: the reply has no code block; the message shows the format.
    """
    text = (text or "").replace("<end_code>", "")
    blocks = [b.strip("\n") for b in _FENCE.findall(text) if b.strip()]
    blocks = [b for b in blocks if _looks_like_python(b)]
    if not blocks:
        raise AgentParsingError(CODE_FORMAT_HELP)
    return "\n\n".join(blocks)


def _looks_like_python(block: str) -> bool:
    try:
        ast.parse(block)
        return True
    except SyntaxError:
        # Still code (the executor reports the syntax error to the model) unless it
        # is clearly prose.
        return bool(re.search(r"[=()\[\]]|^\s*(import|def|for|if|print)\b", block, re.M))


def normalise_code(code: str) -> str:
    """A canonical form of code to notice the same action repeated."""
    try:
        return ast.dump(ast.parse(code))
    except SyntaxError:
        return re.sub(r"\s+", " ", code).strip()


_NAME_KEYS = ("name", "tool", "tool_name", "action", "function")
_ARG_KEYS = ("arguments", "args", "parameters", "action_input", "input", "tool_input")


def parse_tool_calls(text: str | None) -> list[ToolCall]:
    """Find tool calls written as JSON in model text (small models do this).

    Accepts ``{"name": ..., "arguments": {...}}`` and common variants, a list of them,
    ``<tool_call>...</tool_call>`` wrappers, and code fences.

    Raises:
        AgentParsingError: no tool call could be read; the message shows the format.
    """
    calls = [_to_call(obj) for obj in _json_objects(text or "")]
    calls = [c for c in calls if c is not None]
    if not calls:
        raise AgentParsingError(
            "Could not find a tool call in your reply. Reply with one JSON object like "
            '{"name": "<tool name>", "arguments": {"<arg>": <value>}} and nothing else.')
    return calls


def _to_call(obj: Any) -> ToolCall | None:
    if not isinstance(obj, dict):
        return None
    if "function" in obj and isinstance(obj["function"], dict):
        obj = obj["function"]
    name = next((obj[k] for k in _NAME_KEYS if isinstance(obj.get(k), str)), None)
    if not name:
        return None
    args = next((obj[k] for k in _ARG_KEYS if k in obj), {})
    return ToolCall(name=name, arguments=parse_arguments(args))


def _json_objects(text: str) -> list[Any]:
    """Every top-level JSON object (or list of objects) found in text, in order."""
    decoder = json.JSONDecoder()
    found: list[Any] = []
    i = 0
    while i < len(text):
        start = min((p for p in (text.find("{", i), text.find("[", i)) if p >= 0), default=-1)
        if start < 0:
            break
        try:
            obj, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            obj, end = _python_literal(text, start)
        if obj is None:
            i = start + 1
            continue
        found.extend(obj if isinstance(obj, list) else [obj])
        i = end
    return found


def _python_literal(text: str, start: int) -> tuple[Any, int]:
    """Models sometimes write Python dicts (single quotes, True/None): accept those."""
    depth = 0
    for j in range(start, len(text)):
        ch = text[j]
        if ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                try:
                    return ast.literal_eval(text[start:j + 1]), j + 1
                except (ValueError, SyntaxError, MemoryError, RecursionError):
                    return None, start + 1
    return None, start + 1
