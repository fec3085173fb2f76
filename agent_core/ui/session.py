"""One visitor, one session: their own agent, memory, files and executor worker.

Nothing here imports Gradio. :class:`SessionManager` maps a browser session id to
a :class:`Session`, created on first use from an agent factory, released when the
browser goes away (or after an idle timeout). A run happens in its own thread;
the UI reads its events from :class:`RunStream`, so a Stop can end what the
visitor sees within a second even when the agent is stuck in a call it cannot
leave at once (waiting for the shared local model, a C-level computation).

Example:
    >>> manager = SessionManager(lambda sid, folder: CodeAgent([], model), root_dir)  # doctest: +SKIP
    >>> session = manager.get("browser-session-hash")                              # doctest: +SKIP
    >>> for batch in session.start_run("2 + 2?").batches():                        # doctest: +SKIP
    ...     print(batch)
"""

from __future__ import annotations

import asyncio
import copy
import logging
import queue
import secrets
import shutil
import threading
import time
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Iterator

from .._secrets import redact
from ..events import RunEnd

__all__ = ["Session", "SessionManager", "RunStream", "clone_agent", "URGENT_EVENTS"]

logger = logging.getLogger(__name__)

# Events shown at once; the others wait for the next update interval. The first
# events of a run are shown at once too: a visitor must see the agent start.
URGENT_EVENTS = ("FinalAnswer", "RunEnd")
_DONE = object()


def clone_agent(agent: Any) -> Any:
    """A copy of ``agent`` with its own memory, state, interrupt flag and executor.

    The model and the tools are shared (a model is safe to share: the embedded one
    takes turns behind a lock); everything a run writes to is new. Managed agents are
    cloned too. An executor instance given to the original is not shared: the copy
    creates its own executor of the same type.
    """
    from ..agents import ManagedAgent
    from ..memory import AgentMemory, SystemPromptStep

    clone = copy.copy(agent)
    clone.state = {}
    clone._interrupt = threading.Event()
    clone._run_error = None
    clone._console = None
    clone.task = None
    clone.event_callbacks = list(agent.event_callbacks)
    clone.step_callbacks = list(agent.step_callbacks)
    clone.managed_agents = {
        name: ManagedAgent(agent=clone_agent(m.agent), name=m.name, description=m.description,
                           additional_prompting=m.additional_prompting,
                           provide_run_summary=m.provide_run_summary)
        for name, m in agent.managed_agents.items()}
    if hasattr(agent, "executor_type"):
        clone._executor = None
        clone._executor_ready = False
        clone._failed_codes = {}
        clone.executor_kwargs = dict(agent.executor_kwargs)
    clone.memory = AgentMemory(SystemPromptStep(clone.initialize_system_prompt()))
    return clone


def _readable_error(err: BaseException) -> str:
    return redact(f"{type(err).__name__}: {err}")


class RunStream:
    """The events of one run, produced by a thread, consumed by the UI.

    Args:
        agent: the session's agent.
        task, reset, images, additional_args: as for ``agent.run``.
        on_done: called (in the run thread) when the run is over.
        timeout_s: interrupt the run after this many seconds.
    """

    def __init__(self, agent: Any, task: str, *, reset: bool, images: list | None = None,
                 additional_args: dict | None = None, on_done: Callable[[], None] | None = None,
                 timeout_s: float | None = None):
        self.agent = agent
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.finished = threading.Event()
        self.stop_requested = threading.Event()
        self.started = time.monotonic()
        self.timeout_s = timeout_s
        self._on_done = on_done
        self._args = (task, reset, images, additional_args)
        self.thread = threading.Thread(target=self._pump, name="agent-run", daemon=True)
        self.thread.start()

    def _pump(self) -> None:
        task, reset, images, additional_args = self._args
        try:
            for event in self.agent.run(task, stream=True, reset=reset, images=images,
                                        additional_args=additional_args):
                self.queue.put(event)
                # Hand the GIL over after each event: with many runs in this process
                # the event loop that serves every visitor must not wait behind them.
                time.sleep(0)
        except BaseException as err:  # the stream reports errors itself; this is a bug guard
            logger.warning("Agent run failed outside its stream", exc_info=True)
            self.queue.put(RunEnd(run_id="", status="error", error=_readable_error(err)))
        finally:
            self.finished.set()
            self.queue.put(_DONE)
            if self._on_done is not None:
                self._on_done()

    def stop(self) -> None:
        """Ask the run to stop (the agent and its executor are interrupted)."""
        self.stop_requested.set()
        try:
            self.agent.interrupt()
        except Exception:  # an executor that fails to interrupt must not break Stop
            logger.warning("Interrupting the agent failed", exc_info=True)

    def _drain(self) -> tuple[list[Any], bool]:
        events, done = [], False
        while True:
            try:
                item = self.queue.get_nowait()
            except queue.Empty:
                return events, done
            if item is _DONE:
                return events, True
            events.append(item)

    def _poll(self, state: dict, interval_s: float | Callable[[], float],
              grace_s: float) -> tuple[list | None, bool]:
        """One look at the queue: (events to show now or None, whether the stream ended)."""
        events, done = self._drain()
        state["pending"].extend(events)
        now = time.monotonic()
        urgent = not state["last"] or any(type(e).__name__ in URGENT_EVENTS for e in events)
        interval = interval_s() if callable(interval_s) else interval_s
        out = None
        if state["pending"] and (done or urgent or now - state["last"] >= interval):
            out, state["pending"], state["last"] = state["pending"], [], now
        if done:
            return out, True
        if self.timeout_s and not self.stop_requested.is_set() \
                and now - self.started > self.timeout_s:
            logger.info("Run timed out after %.0f s; interrupting it", self.timeout_s)
            self.stop()
        if state["stop_seen"] is None and self.stop_requested.is_set():
            state["stop_seen"] = now
        if state["stop_seen"] is not None and now - state["stop_seen"] > grace_s:
            # The thread is stuck in a call it cannot leave yet (the shared local model,
            # a C call): end the stream for the visitor; the thread finishes on its own.
            end = RunEnd(run_id="", status="interrupted", duration_s=now - self.started)
            return (out or []) + state.pop("pending") + [end], True
        return out, False

    async def abatches(self, interval_s: float | Callable[[], float] = 0.1,
                       poll_s: float = 0.02, grace_s: float = 1.0) -> AsyncIterator[list[Any]]:
        """Batches of events: the first at once, then at most one per ``interval_s``
        (a number, or a function giving the current interval: under load, fewer and
        larger updates keep every visitor's stream moving), the end at once.

        After a Stop, if the run has not ended within ``grace_s``, a synthetic
        ``RunEnd(status="interrupted")`` ends the stream (the thread finishes on its
        own; the session waits for it before the next run).
        """
        state: dict[str, Any] = {"pending": [], "last": 0.0, "stop_seen": None}
        while True:
            out, done = self._poll(state, interval_s, grace_s)
            if out:
                yield out
            if done:
                return
            await asyncio.sleep(poll_s)

    def batches(self, interval_s: float | Callable[[], float] = 0.1, poll_s: float = 0.02,
                grace_s: float = 1.0) -> Iterator[list[Any]]:
        """The synchronous form of :meth:`abatches` (for scripts and tests)."""
        state: dict[str, Any] = {"pending": [], "last": 0.0, "stop_seen": None}
        while True:
            out, done = self._poll(state, interval_s, grace_s)
            if out:
                yield out
            if done:
                return
            time.sleep(poll_s)


class Session:
    """A visitor's agent, chat, folder and current run.

    Args:
        session_id: the browser session id (never logged as is).
        agent: the visitor's own agent.
        folder: the visitor's own folder (uploads); removed at :meth:`close`.
    """

    def __init__(self, session_id: str, agent: Any, folder: Path):
        self.id = session_id
        self.agent = agent
        self.folder = folder
        self.chat: list[dict] = []
        self.fresh = True  # the next run starts a new conversation (reset=True)
        self.run: RunStream | None = None
        self.runs = 0
        self.last_used = time.monotonic()
        self.closed = False
        self._run_lock = threading.Lock()

    @property
    def upload_dir(self) -> Path:
        """Where this visitor's uploads go (inside the executor's scratch dir if it has one)."""
        scratch = _scratch_dir(self.agent)
        return (scratch / "uploads") if scratch is not None else self.folder / "uploads"

    def allowed_dirs(self) -> list[Path]:
        """The folders whose files may be shown to this visitor (their own)."""
        from ..agent_types import _media_dir

        dirs = [self.folder, _media_dir()]
        scratch = _scratch_dir(self.agent)
        if scratch is not None:
            dirs.append(scratch)
        return dirs

    def touch(self) -> None:
        self.last_used = time.monotonic()

    @property
    def busy(self) -> bool:
        return self._run_lock.locked()

    def start_run(self, task: str, images: list | None = None,
                  additional_args: dict | None = None, wait_s: float = 10.0,
                  timeout_s: float | None = None) -> RunStream:
        """Start a run (a follow-up unless the conversation is fresh).

        Raises:
            RuntimeError: a previous run is still stopping after ``wait_s`` seconds,
                or the session is closed.
        """
        if self.closed:
            raise RuntimeError("This session has ended; reload the page to start again.")
        if not self._run_lock.acquire(timeout=wait_s):
            raise RuntimeError("The previous run is still stopping; try again in a moment.")
        self.touch()
        reset, self.fresh = self.fresh, False
        self.runs += 1
        try:
            self.run = RunStream(self.agent, task, reset=reset, images=images,
                                 additional_args=additional_args, on_done=self._run_done,
                                 timeout_s=timeout_s)
        except BaseException:
            self._run_lock.release()
            raise
        return self.run

    def _run_done(self) -> None:
        self.touch()
        self._run_lock.release()

    def stop(self) -> bool:
        """Stop the current run, if any; True if one was running."""
        run = self.run
        if run is None or run.finished.is_set():
            return False
        run.stop()
        return True

    def wait_idle(self, timeout_s: float = 5.0) -> bool:
        """Wait for the current run's thread to end; False on timeout."""
        if self._run_lock.acquire(timeout=timeout_s):
            self._run_lock.release()
            return True
        return False

    def new_conversation(self) -> None:
        """Stop any run; forget the chat, the memory, the variables, the uploads and the
        files the code wrote."""
        self.stop()
        self.wait_idle()
        self.chat = []
        self.fresh = True
        memory = getattr(self.agent, "memory", None)
        if memory is not None:
            memory.reset()
        reset_state = getattr(self.agent, "_reset_state", None)
        if reset_state is not None:
            reset_state()
        shutil.rmtree(self.upload_dir, ignore_errors=True)
        scratch = _scratch_dir(self.agent)
        if scratch is not None and scratch.is_dir():  # files the code wrote go too
            for child in scratch.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)

    def close(self) -> None:
        """Stop, release the executor (kills a sandbox worker) and delete the files."""
        if self.closed:
            return
        self.closed = True
        self.stop()
        self.wait_idle(timeout_s=3.0)
        closer = getattr(self.agent, "close", None)
        try:
            if closer is not None:
                closer()
        except Exception:
            logger.warning("Closing the agent of a session failed", exc_info=True)
        shutil.rmtree(self.folder, ignore_errors=True)
        scratch = _scratch_dir(self.agent)
        if scratch is not None:
            shutil.rmtree(scratch / "uploads", ignore_errors=True)


def _scratch_dir(agent: Any) -> Path | None:
    """The scratch folder of the agent's executor (set up front, or made by it), if any."""
    configured = (getattr(agent, "executor_kwargs", None) or {}).get("scratch_dir")
    if configured:
        return Path(configured)
    executor = getattr(agent, "_executor", None)
    value = getattr(executor, "scratch_dir", None) if executor is not None else None
    return Path(value) if value else None


class SessionManager:
    """Creates, finds and releases the sessions of an app.

    Args:
        agent_factory: ``fn(session_id, folder) -> agent``, a new agent per session
            (``folder`` is the session's own, empty folder).
        root_dir: the parent of the session folders.
        idle_timeout_s: sessions unused for this long are released (browsers that
            left without saying so; API clients that never disconnect).
        max_sessions: above this many, the least recently used idle session goes.
    """

    def __init__(self, agent_factory: Callable[[str, Path], Any], root_dir: str | Path,
                 idle_timeout_s: float = 3600.0, max_sessions: int = 500):
        self.agent_factory = agent_factory
        self.root_dir = Path(root_dir)
        self.idle_timeout_s = idle_timeout_s
        self.max_sessions = max_sessions
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()
        self._reaper: threading.Thread | None = None
        self._stop = threading.Event()

    def __len__(self) -> int:
        return len(self._sessions)

    def active_runs(self) -> int:
        """How many sessions are running their agent now."""
        return sum(1 for s in list(self._sessions.values()) if s.busy)

    def get(self, session_id: str | None) -> Session:
        """The session of ``session_id``, created on first use."""
        session_id = session_id or "anonymous"
        with self._lock:
            session = self._sessions.get(session_id)
            if session is not None and not session.closed:
                session.touch()
                return session
        folder = self.root_dir / secrets.token_hex(8)  # unguessable: served by Gradio
        folder.mkdir(parents=True, exist_ok=True)
        try:
            agent = self.agent_factory(session_id, folder)  # outside the lock: may be slow
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        session = Session(session_id, agent, folder)
        with self._lock:
            existing = self._sessions.get(session_id)
            if existing is not None and not existing.closed:
                raced = session
                session = existing
            else:
                raced = None
                self._sessions[session_id] = session
        if raced is not None:
            raced.close()
        self._evict_over_capacity()
        self._ensure_reaper()
        return session

    def peek(self, session_id: str | None) -> Session | None:
        """The session if it exists, without creating one."""
        with self._lock:
            return self._sessions.get(session_id or "anonymous")

    def release(self, session_id: str | None) -> bool:
        """Close and forget a session (its browser went away); True if there was one."""
        with self._lock:
            session = self._sessions.pop(session_id or "anonymous", None)
        if session is None:
            return False
        threading.Thread(target=session.close, name="session-close", daemon=True).start()
        return True

    def reap_idle(self) -> int:
        """Release sessions idle for longer than the timeout; return how many."""
        now = time.monotonic()
        with self._lock:
            idle = [sid for sid, s in self._sessions.items()
                    if not s.busy and now - s.last_used > self.idle_timeout_s]
        for sid in idle:
            self.release(sid)
        return len(idle)

    def _evict_over_capacity(self) -> None:
        with self._lock:
            extra = len(self._sessions) - self.max_sessions
            idle = sorted((s for s in self._sessions.values() if not s.busy),
                          key=lambda s: s.last_used)[:max(extra, 0)]
        for session in idle:
            self.release(session.id)

    def _ensure_reaper(self) -> None:
        if self._reaper is not None or not self.idle_timeout_s:
            return
        interval = max(1.0, min(60.0, self.idle_timeout_s / 4))

        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.reap_idle()
                except Exception:
                    logger.warning("Reaping idle sessions failed", exc_info=True)

        self._reaper = threading.Thread(target=loop, name="session-reaper", daemon=True)
        self._reaper.start()

    def close_all(self) -> None:
        """Close every session (at shutdown)."""
        self._stop.set()
        with self._lock:
            sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            session.close()
