"""The run log record: its schema, how events become records, and how records are encoded.

One JSON object per run. Every field always has the same JSON type (strings are
``""`` rather than ``null``, numbers are always numbers), and values of variable
shape (the tool list, the steps) are JSON-encoded strings, so that pyarrow reads any
mix of files with one schema: ``datasets.load_dataset("json", data_files=...)``
infers the schema of the first file and casts the others to it, which fails on a
file whose lists happen to be all empty.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from typing import Any

__all__ = ["SCHEMA_VERSION", "RECORD_FIELDS", "STEP_FIELDS", "iso_time", "step_from_action",
           "step_from_planning", "new_header", "build_record", "encode_line", "truncate",
           "media_placeholder"]

SCHEMA_VERSION = 1

# Field name -> (datasets dtype, description). The order is the order of the card.
RECORD_FIELDS: dict[str, tuple[str, str]] = {
    "run_id": ("string", "unique id of the run"),
    "session": ("string", "opaque hash of the browser session (never an IP)"),
    "started_at": ("string", "UTC start time, ISO 8601"),
    "finished_at": ("string", "UTC end time, ISO 8601"),
    "status": ("string", "success | error | max_steps | interrupted | incomplete"),
    "task": ("string", "the task given to the agent (secrets redacted)"),
    "model_id": ("string", "the model that drove the agent"),
    "agent_type": ("string", "CodeAgent, ToolCallingAgent..."),
    "agent_name": ("string", "the agent's name, if it has one"),
    "tools": ("string", "JSON list of the tool names the agent had"),
    "n_images": ("int64", "number of images given with the task"),
    "steps": ("string", "JSON list of steps (see below)"),
    "final_answer": ("string", "the answer as text, or the path of a file for images/audio"),
    "final_answer_type": ("string", "text | image | audio | none"),
    "error": ("string", "why the run ended in error or incomplete"),
    "totals": ("struct", "steps, input_tokens, output_tokens, duration_s"),
    "schema_version": ("int64", "version of this schema"),
}
TOTALS_FIELDS = {"steps": "int64", "input_tokens": "int64", "output_tokens": "int64",
                 "duration_s": "float64"}
# Keys of each object in the ``steps`` JSON list.
STEP_FIELDS: dict[str, str] = {
    "number": "step number (planning steps share the number of the next action step)",
    "type": "action | planning",
    "model_output": "what the model wrote (for planning steps: the plan)",
    "code": "the code run (CodeAgent)",
    "tool_calls": "list of {id, name, arguments} (ToolCallingAgent)",
    "observations": "what the agent saw after acting (truncated)",
    "error": "the error the model was shown, if any",
    "output": "the step's output, as text",
    "is_final_answer": "whether this step gave the final answer",
    "duration_s": "seconds",
    "input_tokens": "prompt tokens of the step",
    "output_tokens": "completion tokens of the step",
}

LIMITS = {"task": 20_000, "model_output": 20_000, "code": 20_000, "observations": 4_000,
          "error": 4_000, "output": 4_000, "arguments": 4_000, "final_answer": 20_000}


def iso_time(ts: float | None = None) -> str:
    """UTC ISO 8601 with milliseconds and ``Z``: sorts as text in time order."""
    ts = time.time() if ts is None else ts
    dt = datetime.fromtimestamp(ts, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def truncate(text: Any, limit: int) -> str:
    """``text`` as a string of at most about ``limit`` characters (``""`` for None)."""
    if text is None:
        return ""
    if not isinstance(text, str):
        text = str(text)
    if len(text) > limit:
        return text[:limit] + f"... [{len(text) - limit} more characters]"
    return text


def _json_default(obj: Any) -> Any:
    to_string = getattr(obj, "to_string", None)
    if callable(to_string):
        try:
            return to_string()
        except Exception:
            pass
    return repr(obj)


def media_placeholder(value: Any) -> str | None:
    """``"[image]"`` / ``"[audio]"`` for media values (whose text form is a temp path)."""
    module = type(value).__module__
    if module.startswith("PIL."):
        return "[image]"
    name = type(value).__name__
    if name in ("AgentImage", "AgentAudio"):
        return f"[{name[5:].lower()}: see final_answer]"
    return None


def _output_text(value: Any) -> str:
    if value is None:
        return ""
    placeholder = media_placeholder(value)
    if placeholder:
        return placeholder
    if isinstance(value, str):
        return truncate(value, LIMITS["output"])
    if isinstance(value, (dict, list, tuple)):
        try:
            return truncate(json.dumps(value, ensure_ascii=False, default=_json_default),
                            LIMITS["output"])
        except (TypeError, ValueError):
            pass
    try:
        return truncate(str(value), LIMITS["output"])
    except Exception:
        return truncate(repr(value), LIMITS["output"])


def _tool_call(call: Any) -> dict[str, str]:
    args = getattr(call, "arguments", None)
    if not isinstance(args, str):
        try:
            args = json.dumps(args, ensure_ascii=False, default=_json_default)
        except (TypeError, ValueError):
            args = repr(args)
    return {"id": str(getattr(call, "id", "") or ""), "name": str(getattr(call, "name", "")),
            "arguments": truncate(args, LIMITS["arguments"])}


def _usage(step: Any) -> tuple[int, int]:
    usage = getattr(step, "token_usage", None)
    if usage is None:
        return 0, 0
    return int(getattr(usage, "input_tokens", 0) or 0), int(getattr(usage, "output_tokens", 0) or 0)


def step_from_action(step: Any) -> dict[str, Any]:
    """The step object of a finished ``ActionStep`` (attributes read directly: cheap).

    Args:
        step: an ``agent_core.memory.ActionStep`` (or anything with its attributes).

    Returns:
        A dict with exactly the keys of :data:`STEP_FIELDS`, not yet redacted.
    """
    inp, out = _usage(step)
    try:
        duration = float(step.duration_s)
    except Exception:
        duration = 0.0
    return {
        "number": int(getattr(step, "step_number", 0) or 0),
        "type": "action",
        "model_output": truncate(getattr(step, "model_output", None), LIMITS["model_output"]),
        "code": truncate(getattr(step, "code", None), LIMITS["code"]),
        "tool_calls": [_tool_call(c) for c in (getattr(step, "tool_calls", None) or ())],
        "observations": truncate(getattr(step, "observations", None), LIMITS["observations"]),
        "error": truncate(getattr(step, "error", None), LIMITS["error"]),
        "output": _output_text(getattr(step, "output", None)),
        "is_final_answer": bool(getattr(step, "is_final_answer", False)),
        "duration_s": round(duration, 4),
        "input_tokens": inp,
        "output_tokens": out,
    }


def step_from_planning(step: Any) -> dict[str, Any]:
    """The step object of a ``PlanningStep`` (same keys as an action step)."""
    inp, out = _usage(step)
    return {
        "number": int(getattr(step, "step_number", 0) or 0), "type": "planning",
        "model_output": truncate(getattr(step, "plan", None), LIMITS["model_output"]),
        "code": "", "tool_calls": [], "observations": "", "error": "", "output": "",
        "is_final_answer": False,
        "duration_s": round(float(getattr(step, "duration_s", 0.0) or 0.0), 4),
        "input_tokens": inp, "output_tokens": out,
    }


def new_header(event: Any, session: str) -> dict[str, Any]:
    """The fields of a record known when the run starts (from a ``RunStart`` event)."""
    started = float(getattr(event, "started_at", 0.0) or time.time())
    return {
        "run_id": str(event.run_id),
        "session": session,
        "started_at": iso_time(started),
        "started_ts": started,
        "task": truncate(getattr(event, "task", ""), LIMITS["task"]),
        "model_id": str(getattr(event, "model_id", "") or ""),
        "agent_type": str(getattr(event, "agent_type", "") or ""),
        "agent_name": str(getattr(event, "agent_name", "") or ""),
        "tools": [str(t) for t in (getattr(event, "tools", None) or ())],
        "n_images": int(getattr(event, "n_images", 0) or 0),
    }


def build_record(header: dict[str, Any], steps: list[dict[str, Any]], *, status: str,
                 finished_ts: float, final_answer: str = "", final_answer_type: str = "none",
                 error: str = "", totals: dict[str, Any] | None = None) -> dict[str, Any]:
    """A complete record with stable types, from a header, steps and how the run ended.

    Args:
        header: from :func:`new_header` (already redacted).
        steps: step objects (already redacted).
        status: one of ``agent_core.events.RUN_STATUSES``.
        finished_ts: end time (epoch seconds).
        final_answer: the answer text, or a file path relative to the runs folder.
        final_answer_type: ``text``, ``image``, ``audio`` or ``none``.
        error: why the run failed.
        totals: overrides of the totals computed from the steps.
    """
    computed = {
        "steps": sum(1 for s in steps if s.get("type") == "action"),
        "input_tokens": sum(int(s.get("input_tokens", 0)) for s in steps),
        "output_tokens": sum(int(s.get("output_tokens", 0)) for s in steps),
        "duration_s": max(0.0, finished_ts - float(header.get("started_ts", finished_ts))),
    }
    computed.update({k: v for k, v in (totals or {}).items() if v is not None})
    totals_out = {k: (float(computed[k]) if t == "float64" else int(computed[k]))
                  for k, t in TOTALS_FIELDS.items()}
    totals_out["duration_s"] = round(totals_out["duration_s"], 4)
    return {
        "run_id": header["run_id"], "session": header.get("session", ""),
        "started_at": header.get("started_at", ""), "finished_at": iso_time(finished_ts),
        "status": status, "task": header.get("task", ""),
        "model_id": header.get("model_id", ""), "agent_type": header.get("agent_type", ""),
        "agent_name": header.get("agent_name", ""),
        "tools": json.dumps(header.get("tools", []), ensure_ascii=False),
        "n_images": int(header.get("n_images", 0)),
        "steps": json.dumps(steps, ensure_ascii=False, default=_json_default),
        "final_answer": truncate(final_answer, LIMITS["final_answer"]),
        "final_answer_type": final_answer_type, "error": truncate(error, LIMITS["error"]),
        "totals": totals_out, "schema_version": SCHEMA_VERSION,
    }


def encode_line(obj: dict[str, Any]) -> bytes:
    """One JSONL line as UTF-8 bytes (lone surrogates replaced, never invalid UTF-8)."""
    text = json.dumps(obj, ensure_ascii=False, default=_json_default, allow_nan=False)
    return text.encode("utf-8", "replace") + b"\n"
