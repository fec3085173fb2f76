"""Replaying a logged run as chat messages (Gradio "messages" format).

Pure functions of a record: no Gradio import, so the app and the tests can use them
anywhere.
"""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from typing import Any

__all__ = ["run_to_chat_messages"]

_STATUS_TEXT = {
    "success": "Final answer", "max_steps": "Final answer (after the step limit)",
    "error": "The run failed", "interrupted": "The run was interrupted",
    "incomplete": "The run did not finish (the process stopped)",
    "running": "The run is still going",
}


def _loads(value: Any, default: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return default
    return value if value is not None else default


def _step_messages(step: dict[str, Any]) -> list[dict[str, Any]]:
    number = step.get("number", "?")
    if step.get("type") == "planning":
        return [{"role": "assistant", "content": step.get("model_output") or "",
                 "metadata": {"title": f"Plan (before step {number})", "status": "done"}}]
    parent = f"step-{number}"
    messages = [{"role": "assistant", "content": f"**Step {number}**"}]
    thought = (step.get("model_output") or "").replace("<end_code>", "").strip()
    if step.get("code"):
        thought = thought.split("```")[0].strip()  # the code is shown below
    elif step.get("tool_calls") and thought.startswith(("{", "[", "<tool_call>")):
        thought = ""  # the call written as JSON: shown below
    if thought:
        messages.append({"role": "assistant", "content": thought})
    if step.get("code"):
        messages.append({"role": "assistant", "content": f"```python\n{step['code']}\n```",
                         "metadata": {"title": "Used tool python_interpreter", "id": parent,
                                      "status": "done"}})
    for call in step.get("tool_calls") or ():
        messages.append({"role": "assistant",
                         "content": f"```json\n{call.get('arguments', '')}\n```",
                         "metadata": {"title": f"Used tool {call.get('name', '?')}",
                                      "id": parent, "status": "done"}})
    if step.get("observations"):
        messages.append({"role": "assistant", "content": step["observations"],
                         "metadata": {"title": "Observations", "parent_id": parent,
                                      "status": "done"}})
    if step.get("error"):
        messages.append({"role": "assistant", "content": step["error"],
                         "metadata": {"title": "Error", "parent_id": parent, "status": "done"}})
    footer = (f"Step {number} | input tokens: {step.get('input_tokens', 0):,} | output tokens: "
              f"{step.get('output_tokens', 0):,} | {float(step.get('duration_s', 0.0)):.2f} s")
    messages.append({"role": "assistant", "content": footer,
                     "metadata": {"title": "Step summary", "duration":
                                  float(step.get("duration_s", 0.0)), "status": "done"}})
    return messages


def _final_messages(record: dict[str, Any], runs_dir: str | Path | None) -> list[dict]:
    status = record.get("status", "")
    kind = record.get("final_answer_type") or ("text" if record.get("final_answer") else "none")
    label = _STATUS_TEXT.get(status, f"Status: {status}")
    answer = record.get("final_answer") or ""
    messages: list[dict[str, Any]] = []
    if kind in ("image", "audio") and answer:
        path = Path(runs_dir) / answer if runs_dir is not None else Path(answer)
        mime = mimetypes.guess_type(path.name)[0] or ("image/png" if kind == "image"
                                                      else "audio/wav")
        messages.append({"role": "assistant", "content": f"**{label}:**"})
        messages.append({"role": "assistant", "content": {"path": str(path), "mime_type": mime}})
    elif kind == "text" or answer:
        messages.append({"role": "assistant", "content": f"**{label}:** {answer}"})
    else:
        messages.append({"role": "assistant", "content": f"**{label}.**"})
    if record.get("error"):
        messages.append({"role": "assistant", "content": record["error"],
                         "metadata": {"title": "Error", "status": "done"}})
    return messages


def run_to_chat_messages(record: dict[str, Any],
                         runs_dir: str | Path | None = None) -> list[dict[str, Any]]:
    """The chat messages that replay a logged run, for a ``gr.Chatbot``.

    Args:
        record: a run record (a line of a data file, or :func:`load_run`'s result).
        runs_dir: the runs folder, to turn file references of image/audio answers into
            paths (the app must allow Gradio to serve it, ``allowed_paths``).

    Returns:
        Dicts ``{"role", "content", "metadata"?}``: the task, then each step (thought,
        code or tool calls, observations, errors, a token/duration summary), then the
        final answer (text, or ``{"path", "mime_type"}`` for images and audio).

    Example:
        >>> msgs = run_to_chat_messages({"task": "2+2?", "steps": "[]", "status": "success",
        ...                              "final_answer": "4", "final_answer_type": "text"})
        >>> [m["content"] for m in msgs]
        ['2+2?', '**Final answer:** 4']
    """
    messages: list[dict[str, Any]] = [{"role": "user", "content": record.get("task") or ""}]
    for step in _loads(record.get("steps"), []):
        if isinstance(step, dict):
            messages.extend(_step_messages(step))
    messages.extend(_final_messages(record, runs_dir))
    return messages
