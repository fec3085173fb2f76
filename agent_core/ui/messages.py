"""Pure functions from run events to chat messages (Gradio's "messages" format).

No Gradio import: messages are plain dicts ``{"role", "content", "metadata"?}``
that ``gr.Chatbot`` accepts as they are, so they can be built and tested anywhere.
:class:`ChatRenderer` folds the event stream of ``agent.run(stream=True)`` into a
list of messages; each step becomes

- the model's text, streamed token by token (its code block is removed once the
  code is known: the step message below shows it);
- a collapsible step message (``metadata.title`` "Step N", ``status`` pending →
  done, ``duration``) holding the code in a python block or the tool calls, the
  execution logs, the output and any error;

and the final answer comes last, marked so that it stands out. Images and audio
become file messages (shown inline by the Chatbot), other files downloads.

Example:
    >>> from agent_core.events import FinalAnswer, RunEnd
    >>> renderer = ChatRenderer()
    >>> renderer.feed(FinalAnswer(output="42"))
    True
    >>> renderer.messages[-1]["content"]
    '**Final answer:** 42'
"""

from __future__ import annotations

import json
import mimetypes
import os
import re
from pathlib import Path
from typing import Any, Iterable

from ..events import FinalAnswer, RunEnd, RunStart, StepStart, TokenDelta, ToolCall, ToolOutput
from ..memory import ActionStep, PlanningStep, render_value

__all__ = ["ChatRenderer", "media_message", "user_messages", "error_message",
           "clean_thought", "finish_pending", "IMAGE_EXTENSIONS", "AUDIO_EXTENSIONS"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp")
AUDIO_EXTENSIONS = (".wav", ".mp3", ".ogg", ".flac", ".m4a")
_MAX_SHOWN_CHARS = 4_000
_FENCE = re.compile(r"```")
_TOOL_JSON = re.compile(r"^\s*(Action:\s*)?[\[{]", re.DOTALL)

_STATUS_NOTES = {
    "interrupted": "**Stopped.** The run was interrupted. Send a follow-up to go on, "
                   "or start a new conversation.",
    "max_steps": "The agent reached its step limit before finishing: the answer above is "
                 "its best attempt.",
}

_ERROR_HINTS = (
    ("ModelAuthError", "The model API refused the credentials: check the API key or "
                       "HF_TOKEN secret of this Space."),
    ("ModelUnavailableError", "The model server could not be reached: it may be down or "
                              "its URL may be wrong. Try again in a moment."),
    ("ModelAPIError", "The model API returned an error. Try again in a moment."),
    ("IndexError", None),
)


def _clip(text: str, limit: int = _MAX_SHOWN_CHARS) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… [{len(text) - limit:,} more characters]"


def _fenced(text: str, lang: str = "") -> str:
    text = text.rstrip("\n")
    fence = "````" if "```" in text else "```"
    return f"{fence}{lang}\n{text}\n{fence}"


def clean_thought(text: str) -> str:
    """The model's prose without the code block or tool-call JSON shown elsewhere.

    Example:
        >>> clean_thought("Thought: add them.\\nCode:\\n```py\\nx = 1 + 1\\n```<end_code>")
        'Thought: add them.'
    """
    text = (text or "").replace("<end_code>", "")
    match = _FENCE.search(text)
    if match:
        text = text[:match.start()]
    text = text.split("<tool_call>")[0]
    if _TOOL_JSON.match(text):
        return ""
    text = text.rstrip()
    for tail in ("Code:", "Action:"):
        if text.endswith(tail):
            text = text[: -len(tail)].rstrip()
    return text.strip()


def _file_kind(path: str) -> str:
    suffix = Path(path).suffix.lower()
    if suffix in IMAGE_EXTENSIONS:
        return "image"
    if suffix in AUDIO_EXTENSIONS:
        return "audio"
    return "file"


def _is_within(path: Path, folders: Iterable[str | os.PathLike]) -> bool:
    for folder in folders:
        try:
            path.relative_to(Path(folder).resolve())
            return True
        except ValueError:
            continue
    return False


def _existing_file(value: Any, allowed_dirs: Iterable[str | os.PathLike]) -> str | None:
    """``value`` as the path of a file inside one of ``allowed_dirs``, else None.

    A relative path is looked up in each allowed folder (code in a sandbox writes
    ``plot.png`` to its scratch folder). Only folders of the visitor's own session
    may be offered: a path the model made up (``/etc/passwd``) stays text.
    """
    if not isinstance(value, (str, os.PathLike)) or isinstance(value, str) and (
            "\n" in value or len(value) > 1024 or not value.strip()):
        return None
    folders = [Path(folder).resolve() for folder in allowed_dirs]
    try:
        raw = Path(value).expanduser()
        candidates = [raw] if raw.is_absolute() else [folder / raw for folder in folders]
        for candidate in candidates:
            path = candidate.resolve()
            if path.is_file() and _is_within(path, folders):
                return str(path)
    except (OSError, ValueError):
        return None
    return None


def media_message(value: Any, allowed_dirs: Iterable[str | os.PathLike] = ()) -> dict | None:
    """A file message for an image, audio or file value, or None for anything else.

    Args:
        value: an ``AgentImage``/``AgentAudio``/PIL image, or a path to a file.
        allowed_dirs: folders a path may point into (the session's own folders).

    Returns:
        ``{"role": "assistant", "content": {"path", "mime_type"}}``: the Chatbot
        shows images as ``<img>``, audio as ``<audio>``, other files as downloads.
    """
    from ..agent_types import media_kind, media_path

    path = None
    try:
        if media_kind(value) is not None:
            path = media_path(value)
    except Exception:  # an image that cannot be encoded: show it as text instead
        path = None
    if path is None:
        path = _existing_file(value, allowed_dirs)
    if path is None:
        return None
    mime = mimetypes.guess_type(path)[0] or "application/octet-stream"
    return {"role": "assistant", "content": {"path": str(path), "mime_type": mime}}


def user_messages(text: str, files: Iterable[str] = ()) -> list[dict]:
    """The visitor's turn: one message per uploaded file, then the text."""
    messages = [{"role": "user", "content": {"path": str(f), "mime_type":
                 mimetypes.guess_type(str(f))[0] or "application/octet-stream"}}
                for f in files]
    if text.strip() or not messages:
        messages.append({"role": "user", "content": text})
    return messages


def error_message(error: str | None) -> dict:
    """A readable chat message for an error that ended a run (never a stack trace)."""
    text = (error or "unknown error").strip()
    hint = next((h for prefix, h in _ERROR_HINTS if text.startswith(prefix)), None)
    body = f"**The run stopped on an error.**\n\n{_clip(text, 1500)}"
    if hint:
        body += f"\n\n{hint}"
    return {"role": "assistant", "content": body}


def finish_pending(messages: list[dict], start: int = 0) -> None:
    """Mark every pending message from ``start`` on as done (no spinner left behind)."""
    for message in messages[start:]:
        metadata = message.get("metadata") or {}
        if metadata.get("status") == "pending":
            message["metadata"] = {**metadata, "status": "done"}


def _value_text(value: Any) -> str:
    if isinstance(value, (dict, list)):
        try:
            return _fenced(json.dumps(value, indent=2, ensure_ascii=False, default=str), "json")
        except (TypeError, ValueError):
            pass
    return _clip(render_value(value, _MAX_SHOWN_CHARS))


class _Step:
    """What the renderer knows about the step being shown."""

    def __init__(self, number: int, box: int, kind: str):
        self.number, self.box, self.kind = number, box, kind
        self.thought: int | None = None  # index of the streamed text message
        self.text = ""
        self.calls: list[str] = []
        self.results: list[str] = []
        self.media: list[dict] = []


class ChatRenderer:
    """Folds run events into chat messages; ``messages`` is the chat so far.

    Args:
        messages: the chat before this run (kept, and extended in place).
        allowed_dirs: folders whose files may be shown (the session's folders).
        id_prefix: prefix of the metadata ids, unique per run.
    """

    def __init__(self, messages: list[dict] | None = None,
                 allowed_dirs: Iterable[str | os.PathLike] = (), id_prefix: str = "run"):
        self.messages: list[dict] = messages if messages is not None else []
        self.allowed_dirs = [str(d) for d in allowed_dirs]
        self.id_prefix = id_prefix
        self.start = len(self.messages)
        self.step: _Step | None = None
        self.final_shown = False
        self.ended = False

    # --- dispatch -------------------------------------------------------------

    def feed(self, event: Any) -> bool:
        """Apply one event; return True if the messages changed."""
        handler = getattr(self, f"_on_{type(event).__name__}", None)
        if handler is None or self.ended:
            return False
        return handler(event) is not False

    def feed_all(self, events: Iterable[Any]) -> bool:
        """Apply several events; True if any changed the messages."""
        changed = False
        for event in events:
            changed = self.feed(event) or changed
        return changed

    # --- events ---------------------------------------------------------------

    def _on_RunStart(self, event: RunStart) -> bool:  # noqa: N802
        return False

    def _on_StepStart(self, event: StepStart) -> bool | None:  # noqa: N802
        step = self.step
        if step is not None and (step.number, step.kind) == (event.step_number, event.kind) \
                and not step.text and not step.calls:
            return False  # already shown (the UI announces a step before the run starts)
        self._close_step()
        planning = event.kind == "planning"
        title = "Plan" if planning else f"Step {event.step_number}"
        self.messages.append({"role": "assistant", "content": "*Thinking…*", "metadata": {
            "title": title, "status": "pending",
            "id": f"{self.id_prefix}-{event.kind}-{event.step_number}"}})
        self.step = _Step(event.step_number, len(self.messages) - 1, event.kind)

    def _on_TokenDelta(self, event: TokenDelta) -> None:  # noqa: N802
        step = self.step
        if step is None or step.number != event.step_number:
            # Text outside any step: the model's last answer after the step limit.
            self._close_step()
            self.messages.append({"role": "assistant", "content": ""})
            step = self.step = _Step(event.step_number, -1, "final")
            step.thought = len(self.messages) - 1
        step.text += event.text
        if step.kind == "planning":
            self.messages[step.box]["content"] = step.text
            return
        if step.thought is None:
            self.messages.insert(step.box, {"role": "assistant", "content": ""})
            step.thought, step.box = step.box, step.box + 1
        self.messages[step.thought]["content"] = step.text

    def _on_ToolCall(self, event: ToolCall) -> None:  # noqa: N802
        step = self._step_for(event.step_number)
        if event.name == "python_interpreter":
            step.calls.append(_fenced(str(event.arguments or ""), "python"))
        else:
            args = event.arguments
            shown = json.dumps(args, ensure_ascii=False, default=str) \
                if isinstance(args, (dict, list)) else str(args)
            step.calls.append(f"Tool call `{event.name}`\n\n" + _fenced(_clip(shown), "json"))
        self._set_thought(clean_thought(step.text))
        self._render_box(step)

    def _on_ToolOutput(self, event: ToolOutput) -> None:  # noqa: N802
        step = self._step_for(event.step_number)
        parts = []
        if event.logs and event.logs.strip():
            parts.append("**Execution logs:**\n" + _fenced(_clip(event.logs)))
        if event.error:
            parts.append(f"**Error:**\n{_fenced(_clip(event.error, 2000))}")
        elif event.output is not None and not event.is_final_answer:
            media = media_message(event.output, self.allowed_dirs)
            if media is not None:
                step.media.append(media)
                parts.append(f"**Output:** {Path(media['content']['path']).name} (shown below)")
            elif event.name != "python_interpreter" or event.output != "":
                parts.append(f"**Output:** {_value_text(event.output)}")
        step.results.append("\n\n".join(parts))
        self._render_box(step)

    def _on_ActionStep(self, event: ActionStep) -> None:  # noqa: N802
        step = self._step_for(event.step_number)
        if not step.text and event.model_output:
            step.text = event.model_output  # a model that does not stream
        if step.kind != "final":
            self._set_thought(clean_thought(step.text) if (step.calls or event.code
                                                           or event.tool_calls)
                              else (step.text or "").replace("<end_code>", "").strip())
        if event.error and not any("**Error:**" in r for r in step.results):
            step.results.append(f"**Error:**\n{_fenced(_clip(event.error, 2000))}")
        box = self._render_box(step)
        usage = event.token_usage
        log = f"{usage.input_tokens:,} in / {usage.output_tokens:,} out tokens" if usage else None
        self._done(box, event.duration_s, log)
        self._flush_media(step)
        self.step = None

    def _on_PlanningStep(self, event: PlanningStep) -> None:  # noqa: N802
        step = self._step_for(event.step_number, kind="planning")
        self.messages[step.box]["content"] = event.plan or step.text or "(empty plan)"
        self._done(self.messages[step.box], event.duration_s, None)
        self.step = None

    def _on_FinalAnswer(self, event: FinalAnswer) -> None:  # noqa: N802
        if self.step is not None and self.step.kind == "final":
            # The step-limit answer streamed as text: it becomes the final answer.
            index = self.step.thought
            if index is not None and 0 <= index < len(self.messages):
                del self.messages[index]
            self.step = None
        self._close_step()
        self.final_shown = True
        media = media_message(event.output, self.allowed_dirs)
        if media is not None:
            self.messages.append({"role": "assistant", "content": "**Final answer:**"})
            self.messages.append(media)
        else:
            self.messages.append({"role": "assistant",
                                  "content": f"**Final answer:** {_value_text(event.output)}"})

    def _on_RunEnd(self, event: RunEnd) -> None:  # noqa: N802
        self._close_step()
        if event.status == "error":
            self.messages.append(error_message(event.error))
        elif event.status in _STATUS_NOTES:
            self.messages.append({"role": "assistant", "content": _STATUS_NOTES[event.status]})
        if event.status in ("success", "max_steps"):
            tokens = event.input_tokens + event.output_tokens
            self.messages.append({"role": "assistant", "content":
                                  f"*{event.steps} step{'s' * (event.steps != 1)} · "
                                  f"{event.duration_s:.1f} s · {tokens:,} tokens*"})
        finish_pending(self.messages, self.start)
        self.ended = True

    # --- helpers --------------------------------------------------------------

    def _step_for(self, number: int, kind: str = "action") -> _Step:
        if self.step is None or self.step.number != number or self.step.kind == "final":
            self._on_StepStart(StepStart(step_number=number, kind=kind))
        assert self.step is not None
        return self.step

    def _set_thought(self, text: str) -> None:
        step = self.step
        if step is None:
            return
        if step.thought is None:
            if not text:
                return
            self.messages.insert(step.box, {"role": "assistant", "content": text})
            step.thought, step.box = step.box, step.box + 1
        elif text:
            self.messages[step.thought]["content"] = text
        else:
            del self.messages[step.thought]
            step.thought, step.box = None, step.box - 1

    def _render_box(self, step: _Step) -> dict:
        box = self.messages[step.box]
        parts = []
        for i, call in enumerate(step.calls):
            parts.append(call)
            if i < len(step.results) and step.results[i]:
                parts.append(step.results[i])
        parts.extend(r for r in step.results[len(step.calls):] if r)
        box["content"] = "\n\n".join(parts) if parts else "*Thinking…*"
        return box

    @staticmethod
    def _done(box: dict, duration: float | None, log: str | None) -> None:
        metadata = {**(box.get("metadata") or {}), "status": "done"}
        if duration is not None:
            metadata["duration"] = round(float(duration), 2)
        if log:
            metadata["log"] = log
        box["metadata"] = metadata
        if box.get("content") == "*Thinking…*":
            box["content"] = "*(no action)*"

    def _flush_media(self, step: _Step) -> None:
        self.messages.extend(step.media)
        step.media = []

    def _close_step(self) -> None:
        """End a step that got no ActionStep (interrupted, failed run)."""
        step = self.step
        if step is None:
            return
        if step.kind != "final" and 0 <= step.box < len(self.messages):
            box = self.messages[step.box]
            if box.get("content") == "*Thinking…*":
                box["content"] = "*(ended before acting)*"
            metadata = box.get("metadata") or {}
            if metadata.get("status") == "pending":
                box["metadata"] = {**metadata, "status": "done"}
            self._flush_media(step)
        self.step = None
