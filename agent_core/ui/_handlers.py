"""The event handlers of the chat UI: submit, stop, new conversation, unload, runs.

They work on a :class:`~agent_core.ui.session.SessionManager`, keyed by Gradio's
``request.session_hash``: a visitor's chat, memory and files live on the server in
their own session, never in what the browser sends back. Gradio is imported lazily.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator

from ..events import StepStart
from .messages import ChatRenderer, error_message, user_messages
from .session import Session, SessionManager
from .uploads import UploadPolicy, accept_uploads, describe_uploads

__all__ = ["UISettings", "ChatHandlers"]

logger = logging.getLogger(__name__)


@dataclass
class UISettings:
    """What the UI shows and how it behaves.

    Attributes:
        title: the page title and heading.
        description: Markdown under the heading.
        side_panel: Markdown of the side panel (model, executor, tools, logging).
        examples: example tasks to click.
        upload_policy: limits on uploads.
        tool_rows: rows ``{"tool", "repo", "sha", "sha256"}`` for the Tools tab.
        tool_descriptions: ``(name, description)`` of every tool the agent has.
        run_logger: a ``hub_tools.runlog.RunLogger`` (enables the Runs tab), or None.
        stream_interval_s: at most one chat update per this many seconds and run
            while a run streams; under load it grows with the number of runs going
            (``load_interval_s`` per run), so that the server's work per second stays
            bounded and every visitor's stream keeps moving.
        load_interval_s: the update interval added per run in progress.
        run_timeout_s: runs are interrupted after this long.
        max_concurrent_runs: runs executing at once (others wait in the queue).
        stop_grace_s: after Stop, how long the chat waits for the run to end
            before it shows it as stopped anyway.
    """

    title: str = "Agent"
    description: str = ""
    side_panel: str = ""
    examples: list[str] = field(default_factory=list)
    upload_policy: UploadPolicy = field(default_factory=UploadPolicy)
    tool_rows: list[dict[str, str]] = field(default_factory=list)
    tool_descriptions: list[tuple[str, str]] = field(default_factory=list)
    run_logger: Any = None
    stream_interval_s: float = 0.1
    load_interval_s: float = 0.025
    run_timeout_s: float | None = 600.0
    max_concurrent_runs: int = 32
    stop_grace_s: float = 1.0


def _copy(messages: list[dict]) -> list[dict]:
    # Gradio diffs successive outputs of a stream: hand it a fresh list each time.
    return [dict(m) for m in messages]


def _file_path(item: Any) -> tuple[str | None, str | None]:
    """(path, original name) of a MultimodalTextbox file entry."""
    if isinstance(item, str):
        return item, None
    if isinstance(item, dict):
        return item.get("path"), item.get("orig_name")
    return getattr(item, "path", None), getattr(item, "orig_name", None)


class ChatHandlers:
    """The handlers bound to one app's sessions and settings."""

    def __init__(self, manager: SessionManager, settings: UISettings):
        self.manager = manager
        self.settings = settings

    # --- helpers --------------------------------------------------------------

    @staticmethod
    def _controls(running: bool) -> tuple[Any, Any]:
        import gradio as gr

        # Only locking clears the input: unlocking must not wipe what the visitor may
        # already be typing (it runs a moment after the run or "New conversation").
        textbox = gr.update(value=None, interactive=False) if running else \
            gr.update(interactive=True)
        return textbox, gr.update(interactive=running)

    def _session(self, request: Any) -> Session:
        return self.manager.get(_session_id(request))

    def _prepare_task(self, session: Session, message: dict) -> tuple[str | None, list]:
        """Save the uploads, extend the chat; return the agent's task and images."""
        text = str((message or {}).get("text") or "").strip()
        entries = [_file_path(f) for f in (message or {}).get("files") or []]
        entries = [(p, n) for p, n in entries if p]
        batch = accept_uploads([p for p, _ in entries], session.upload_dir,
                               self.settings.upload_policy, names=[n for _, n in entries])
        session.chat.extend(user_messages(text, batch.paths))
        if batch.errors:
            session.chat.append({"role": "assistant", "content": "\n\n".join(batch.errors)})
        if not text and not batch.paths:
            return None, []
        task = text or "Look at the files I uploaded and tell me what they contain."
        shown = [_shown_path(session, p) for p in batch.paths]
        described = describe_uploads(batch.paths, shown)
        if described:
            task += "\n\n" + described
        return task, batch.images

    # --- events ---------------------------------------------------------------

    async def submit(self, message: dict, request: Any) -> AsyncIterator[list[dict]]:
        """Run the visitor's task, yielding the chat as the agent works.

        Only the chat is streamed: the input and Stop button change in their own
        small events (``lock``/``unlock``), since an update of other components on
        every streamed chunk costs Gradio a component rebuild each time.
        """
        session = await asyncio.to_thread(self._session, request)
        if not message or not (str(message.get("text") or "").strip() or message.get("files")):
            yield _copy(session.chat)
            return
        task, images = await asyncio.to_thread(self._prepare_task, session, message)
        yield _copy(session.chat)
        if task is None:
            return
        async for chat in self._run(session, task, images):
            yield chat

    def lock(self) -> tuple:
        """While a run goes: the input is cleared and disabled, Stop is enabled."""
        return self._controls(True)

    def unlock(self) -> tuple:
        """After a run: the input is usable again, Stop is disabled."""
        return self._controls(False)

    async def _run(self, session: Session, task: str, images: list) -> AsyncIterator[list]:
        for _ in range(100):  # a previous run still stopping: wait up to ~10 s
            if not session.busy:
                break
            await asyncio.sleep(0.1)
        first = 1 if session.fresh else _first_step(session.agent)  # before the run starts
        try:
            run = session.start_run(task, images=images or None, wait_s=0.5,
                                    timeout_s=self.settings.run_timeout_s)
        except RuntimeError as err:
            session.chat.append(error_message(str(err)))
            yield _copy(session.chat)
            return
        renderer = ChatRenderer(session.chat, allowed_dirs=session.allowed_dirs(),
                                id_prefix=f"r{session.runs}")
        if first is not None and not getattr(session.agent, "planning_interval", None):
            # Shown at once, without waiting for the run's thread to get going.
            renderer.feed(StepStart(step_number=first))
            yield _copy(renderer.messages)
        try:
            async for batch in run.abatches(self._interval,
                                            grace_s=self.settings.stop_grace_s):
                if renderer.messages is not session.chat:
                    return  # "New conversation" was pressed: this chat is gone
                if renderer.feed_all(batch):
                    yield _copy(renderer.messages)
        except Exception as err:  # never leave a spinner behind
            logger.warning("Rendering a run failed", exc_info=True)
            renderer.messages.append(error_message(f"{type(err).__name__}: {err}"))
            yield _copy(renderer.messages)
        finally:
            if not run.finished.is_set():
                run.stop()  # the visitor went away mid-run, or rendering failed

    def _interval(self) -> float:
        busy = self.manager.active_runs()
        return max(self.settings.stream_interval_s, self.settings.load_interval_s * busy)

    def stop(self, request: Any) -> None:
        """Interrupt the visitor's current run."""
        session = self.manager.peek(_session_id(request))
        if session is not None:
            session.stop()

    def new_conversation(self, request: Any) -> list:
        """Clear the visitor's chat, memory, variables and uploads."""
        session = self._session(request)
        session.new_conversation()
        return []

    def unload(self, request: Any) -> None:
        """The browser went away: release the session (worker, files)."""
        self.manager.release(_session_id(request))

    # --- runs tab -------------------------------------------------------------

    def _session_hash(self, request: Any) -> str | None:
        run_logger = self.settings.run_logger
        sid = getattr(request, "session_hash", None)
        if run_logger is None or not sid:
            return None
        return run_logger.session_hash(sid)

    def list_runs(self, request: Any) -> list[list]:
        """The visitor's own logged runs, newest first."""
        from hub_tools.runlog import list_runs

        session_hash = self._session_hash(request)
        if session_hash is None:
            return []
        rows = list_runs(self.settings.run_logger.runs_dir, limit=50, session=session_hash)
        return [[r["time"], r["task"], r["status"], r["steps"], r["duration"], r["tokens"],
                 r["run_id"]] for r in rows]

    def show_run(self, rows: Any, evt: Any, request: Any) -> list[dict]:
        """Replay one of the visitor's runs in the Runs tab's chat."""
        from hub_tools.runlog import load_run, run_to_chat_messages

        run_id = _selected_run_id(rows, evt)
        session_hash = self._session_hash(request)
        if not run_id or session_hash is None:
            return []
        runs_dir = self.settings.run_logger.runs_dir
        record = load_run(runs_dir, run_id)
        if record is None or record.get("session") != session_hash:
            return [{"role": "assistant", "content": "This run is not one of yours."}]
        return run_to_chat_messages(record, runs_dir)


def _first_step(agent: Any) -> int | None:
    """The number of the next action step of a follow-up run."""
    memory = getattr(agent, "memory", None)
    try:
        return len(memory.action_steps()) + 1 if memory is not None else None
    except Exception:
        return None


def _session_id(request: Any) -> str:
    """The browser session id; a request without one gets a throwaway id, never a
    shared one (two visitors must not end up in one session)."""
    session_id = getattr(request, "session_hash", None)
    if not session_id:
        logger.warning("A request without a session id: serving it in a throwaway session")
        return f"no-session-{secrets.token_hex(8)}"
    return str(session_id)


def _selected_run_id(rows: Any, evt: Any) -> str | None:
    index = getattr(evt, "index", None)
    row = index[0] if isinstance(index, (list, tuple)) and index else None
    if row is None:
        return None
    values = rows.values.tolist() if hasattr(rows, "values") else rows
    try:
        return str(values[row][-1])
    except (IndexError, TypeError):
        return None


def _shown_path(session: Session, path: Path) -> str:
    """The path of an upload as the agent's code sees it (a sandbox may map folders)."""
    executor = getattr(session.agent, "_executor", None)
    mapper = getattr(executor, "sandbox_path", None)
    if callable(mapper):
        try:
            return str(mapper(path))
        except Exception:
            pass
    return str(path)
