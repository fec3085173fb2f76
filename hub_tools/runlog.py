"""Every run logged: JSONL files in a runs folder, pushed to a Hub dataset.

The logger is a consumer of the agent's event stream: put ``logger.callback(session)``
in ``agent.event_callbacks`` and each run becomes one record (schema in the dataset
card, :mod:`hub_tools._runlog_record`). Finished steps reach the disk as they end, so
a killed process loses at most the step in flight, and the next start closes such a
run as ``incomplete`` (:func:`recover_incomplete`). With a dataset, the folder is
pushed by ``huggingface_hub.CommitScheduler`` every few minutes and at exit; a failed
push is retried at the next tick. Secrets are redacted before anything is written.

Example:
    >>> import tempfile
    >>> from agent_core import ScriptedModel, ToolCallingAgent
    >>> from hub_tools.runlog import RunLogger, list_runs
    >>> folder = tempfile.mkdtemp()
    >>> run_logger = RunLogger(runs_dir=folder, dataset="")
    >>> model = ScriptedModel(['{"name": "final_answer", "arguments": {"answer": "42"}}'])
    >>> agent = ToolCallingAgent(tools=[], model=model, verbosity_level=0,
    ...                          event_callbacks=[run_logger.callback("browser-session")])
    >>> agent.run("What is 6 times 7?")
    '42'
    >>> [(r["task"], r["status"], r["steps"]) for r in list_runs(folder)]
    [('What is 6 times 7?', 'success', 1)]
    >>> run_logger.close()
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import logging
import os
import re
import secrets
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ._runlog_chat import run_to_chat_messages
from ._runlog_files import (DataWriter, Journal, data_files, inflight_summaries,
                            iter_data_records, recover_journals)
from ._runlog_record import (RECORD_FIELDS, build_record, new_header, step_from_action,
                             step_from_planning, truncate)

__all__ = ["RunLogger", "RunCallback", "list_runs", "load_run", "run_to_chat_messages",
           "recover_incomplete", "default_runs_dir"]

logger = logging.getLogger(__name__)

_OFF_VALUES = {"0", "off", "false", "no", "disabled", "none"}
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")


def default_runs_dir() -> Path:
    """``$RUNS_DIR``, else ``./runs``."""
    return Path(os.environ.get("RUNS_DIR") or "runs")


def _secret_values(extra: tuple[str, ...]) -> list[str]:
    from agent_core._secrets import secret_values

    return secret_values(extra)


def _redact_with(value: Any, secret_list: list[str]) -> Any:
    """Redact with secrets looked up once per run: reading the environment for each
    step would cost more than everything else the logger does."""
    from agent_core._secrets import redact

    return redact(value, secrets=secret_list)


@dataclass
class _Run:
    header: dict[str, Any]
    journal: Journal
    secrets: list[str]
    steps: list[dict[str, Any]] = field(default_factory=list)
    final_value: Any = None


class RunCallback:
    """The event consumer of one browser session: ``agent.event_callbacks.append(cb)``.

    Events of one run arrive in order; a run started while another is open (a managed
    agent sharing the callback) nests inside it. Logging never raises into the agent
    loop: a failure is logged and the run goes on.
    """

    def __init__(self, run_logger: "RunLogger", session: str):
        self._logger = run_logger
        self.session = session
        self._runs: list[_Run] = []
        self._lock = threading.Lock()
        self._handlers: dict[str, Callable[[Any], None]] = {
            "RunStart": self._on_start, "ActionStep": self._on_action,
            "PlanningStep": self._on_planning, "FinalAnswer": self._on_final,
            "RunEnd": self._on_end,
        }

    def __call__(self, event: Any) -> None:
        handler = self._handlers.get(type(event).__name__)
        if handler is None or not self._logger.active:
            return  # TokenDelta, StepStart, ToolCall...: nothing to do, cheaply
        try:
            with self._lock:
                handler(event)
        except Exception:  # never break a run because its log failed
            logger.warning("Run logging failed on %s", type(event).__name__, exc_info=True)

    def _on_start(self, event: Any) -> None:
        secret_list = self._logger._secrets()
        header = _redact_with(new_header(event, self.session), secret_list)
        journal = Journal(self._logger.runs_dir, header["run_id"], header)
        run = _Run(header, journal, secret_list)
        self._runs.append(run)
        with self._logger._open_lock:
            self._logger._open_runs[id(run)] = (self, run)

    def _add_step(self, step: dict[str, Any]) -> None:
        if not self._runs:
            return
        run = self._runs[-1]
        step = _redact_with(step, run.secrets)
        run.steps.append(step)
        run.journal.add_step(step)

    def _on_action(self, event: Any) -> None:
        self._add_step(step_from_action(event))

    def _on_planning(self, event: Any) -> None:
        self._add_step(step_from_planning(event))

    def _on_final(self, event: Any) -> None:
        if self._runs:
            self._runs[-1].final_value = event.output

    def _on_end(self, event: Any) -> None:
        for i in range(len(self._runs) - 1, -1, -1):
            if self._runs[i].header["run_id"] == str(event.run_id):
                run = self._runs.pop(i)
                break
        else:
            return
        output = event.output if event.output is not None else run.final_value
        self._logger._finish(run, status=event.status, output=output,
                             error=event.error or "",
                             totals={"steps": event.steps, "input_tokens": event.input_tokens,
                                     "output_tokens": event.output_tokens,
                                     "duration_s": event.duration_s})

    def close(self, status: str = "interrupted") -> None:
        """End the runs still open (their stream was abandoned) with ``status``."""
        with self._lock:
            runs, self._runs = self._runs, []
        for run in reversed(runs):
            try:
                self._logger._finish(run, status=status, output=run.final_value,
                                     error="The run's event stream stopped before it ended.")
            except Exception:
                logger.warning("Could not close run %s", run.header.get("run_id"),
                               exc_info=True)


def _close_at_exit(ref: "weakref.ref[RunLogger]") -> None:
    run_logger = ref()
    if run_logger is not None:
        run_logger.close()


class RunLogger:
    """Logs every run to JSONL files, and pushes them to a Hub dataset if one is set.

    Args:
        runs_dir: the local folder (default ``$RUNS_DIR`` or ``./runs``).
        dataset: ``owner/name`` of the dataset repo (default ``$RUNS_DATASET``;
            ``""`` for local only).
        token: Hub token for pushing (default: the one ``huggingface_hub`` finds,
            e.g. ``$HF_TOKEN``). Its value is redacted from records too.
        enabled: ``False`` (or ``$RUNS_LOGGING=off``) turns logging off entirely.
        hf_api: the ``HfApi`` to push with (endpoint, token, user agent).
        every_minutes: minutes between pushes.
        private: create the dataset private (ignored if it exists). Visitors' tasks
            may be personal: keep this unless you mean to publish them.

    Example:
        >>> run_logger = RunLogger.from_env()  # doctest: +SKIP
        >>> callback = run_logger.callback(request.session_hash)  # doctest: +SKIP
        >>> agent.event_callbacks.append(callback)  # doctest: +SKIP
    """

    def __init__(self, runs_dir: str | os.PathLike | None = None, dataset: str | None = None,
                 token: str | None = None, enabled: bool = True, hf_api: Any = None,
                 every_minutes: float = 5, *, private: bool = True):
        if os.environ.get("RUNS_LOGGING", "").strip().lower() in _OFF_VALUES:
            enabled = False
        self.enabled = bool(enabled)
        self.runs_dir = Path(runs_dir if runs_dir is not None else default_runs_dir()).absolute()
        dataset = os.environ.get("RUNS_DATASET", "") if dataset is None else dataset
        self.dataset = dataset.strip() or None
        if self.enabled and self.dataset and not _REPO_ID.match(self.dataset):
            raise ValueError(f"RUNS_DATASET must be a dataset id like 'owner/name', got "
                             f"{self.dataset!r}")
        self.every_minutes = float(every_minutes)
        self._token, self._hf_api, self._private = token, hf_api, private
        self._salt = secrets.token_bytes(16)
        self._open_runs: dict[int, tuple[RunCallback, _Run]] = {}  # closed as incomplete
        self._open_lock = threading.Lock()
        self.scheduler: Any = None
        self._stop = threading.Event()
        self._closed = False
        self.recovered: list[str] = []
        if not self.enabled:
            return
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self._writer = DataWriter(self.runs_dir)
        try:
            self.recovered = recover_journals(self.runs_dir, self._writer.append)
        except OSError as err:  # e.g. disk full: the journals stay for the next start
            logger.warning("Could not recover unfinished runs in %s: %s", self.runs_dir, err)
        if self.dataset:
            self._start_pushing()
        self._atexit = functools.partial(_close_at_exit, weakref.ref(self))
        atexit.register(self._atexit)

    @classmethod
    def from_env(cls, hf_api: Any = None) -> "RunLogger":
        """A logger configured by ``RUNS_DIR``, ``RUNS_DATASET``, ``HF_TOKEN``,
        ``RUNS_LOGGING`` (``off`` disables) and ``RUNS_EVERY_MINUTES``."""
        raw = os.environ.get("RUNS_EVERY_MINUTES") or "5"
        try:
            every = float(raw)
        except ValueError:
            raise ValueError(f"RUNS_EVERY_MINUTES must be a number of minutes, got {raw!r}")
        return cls(token=os.environ.get("HF_TOKEN") or None, hf_api=hf_api, every_minutes=every)

    # --- pushing ---------------------------------------------------------------

    def _start_pushing(self) -> None:
        from ._runlog_push import write_dataset_card

        write_dataset_card(self.runs_dir, self.dataset)
        if self._hf_api is None and not (self._token or _saved_token()):
            logger.warning("RUNS_DATASET=%s but no Hub token: runs are logged locally only",
                           self.dataset)
            self.dataset = None
            return
        if not self._connect():
            threading.Thread(target=self._connect_loop, name="runlog-connect",
                             daemon=True).start()

    def _connect(self) -> bool:
        """Create the repo and start the scheduler; False if the Hub is unreachable."""
        from huggingface_hub import HfApi

        from ._runlog_push import IGNORE_PATTERNS, RunsScheduler

        try:
            scheduler = RunsScheduler(
                repo_id=self.dataset, folder_path=self.runs_dir, every=self.every_minutes,
                repo_type="dataset", private=self._private, token=self._token,
                ignore_patterns=list(IGNORE_PATTERNS), writer_id=self._writer.writer_id,
                hf_api=self._hf_api or HfApi(token=self._token))
        except Exception as err:
            logger.warning("Cannot reach the dataset %s yet (%s: %s); runs are kept locally "
                           "and pushed once it can be reached", self.dataset,
                           type(err).__name__, err)
            return False
        self.scheduler = scheduler
        self._writer.extra_lock = scheduler.lock
        return True

    def _connect_loop(self) -> None:
        while not self._stop.wait(self.every_minutes * 60):
            if self._connect():
                return

    def push(self, timeout: float | None = 120) -> bool:
        """Push the changed files now and wait; False if there is no scheduler or it failed."""
        if self.scheduler is None:
            return False
        try:
            try:
                future = self.scheduler.trigger()
            except RuntimeError:  # at interpreter exit the client's thread pool is gone
                self.scheduler.push_to_hub()
                return True
            future.result(timeout=timeout)
            return True
        except Exception as err:
            logger.warning("Push of runs to %s failed (%s); retried at the next tick",
                           self.dataset, err)
            return False

    # --- logging ---------------------------------------------------------------

    @property
    def active(self) -> bool:
        """Enabled and not closed."""
        return self.enabled and not self._closed

    def session_hash(self, session_id: str) -> str:
        """The opaque id of a session in the records (keyed hash; not reversible)."""
        digest = hashlib.blake2b(str(session_id).encode("utf-8", "replace"), key=self._salt,
                                 digest_size=8)
        return digest.hexdigest()

    def callback(self, session_id: str) -> RunCallback:
        """An event consumer for ``agent.event_callbacks``, for one browser session."""
        return RunCallback(self, self.session_hash(session_id))

    def _secrets(self) -> list[str]:
        return _secret_values((self._token,) if self._token else ())

    def _finish(self, run: _Run, *, status: str, output: Any, error: str,
                totals: dict[str, Any] | None = None) -> None:
        """Write the run's record, then delete its journal."""
        with self._open_lock:
            self._open_runs.pop(id(run), None)
        if self._closed:
            return
        try:
            self._writer.append(self._record(run, status, output, error, totals))
        except BaseException:
            run.journal.release()  # its steps stay on disk; recovered as incomplete
            raise
        run.journal.discard()

    def _record(self, run: _Run, status: str, output: Any, error: str,
                totals: dict[str, Any] | None) -> dict[str, Any]:
        from ._runlog_media import serialise_answer

        kind, answer = serialise_answer(output, self.runs_dir)
        record = build_record(run.header, run.steps, status=status, finished_ts=time.time(),
                              final_answer=answer, final_answer_type=kind, error=error,
                              totals=totals)
        steps_json = record.pop("steps")  # its steps were redacted as they came
        record = _redact_with(record, self._secrets())  # fresh: the env may have changed
        return {name: steps_json if name == "steps" else record[name] for name in RECORD_FIELDS}

    def describe(self) -> str:
        """One line for the app's side panel, telling visitors what is logged."""
        if not self.enabled:
            return "Run logging is off."
        what = "tasks, steps and answers, with secrets redacted and an anonymous session id"
        if self.dataset:
            return f"Runs are logged to dataset {self.dataset} ({what})."
        return f"Runs are logged locally ({what})."

    def close(self) -> None:
        """End open runs as ``incomplete``, push a last time, stop the scheduler."""
        if self._closed or not self.enabled:
            return
        with self._open_lock:
            callbacks = {id(cb): cb for cb, _ in self._open_runs.values()}
        for cb in callbacks.values():  # even those whose agent is gone
            cb.close(status="incomplete")
        self._closed = True
        self._stop.set()
        atexit.unregister(self._atexit)
        if self.scheduler is not None:
            self.push()
            self.scheduler.stop()
        self._writer.close()

    def __enter__(self) -> "RunLogger":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<RunLogger {self.describe()} dir={self.runs_dir}>"


def _saved_token() -> str | None:
    from huggingface_hub import get_token

    return get_token()


def recover_incomplete(runs_dir: str | os.PathLike | None = None) -> list[str]:
    """Close the runs whose process died mid-run, as records with status ``incomplete``.

    Safe at any time and from several processes: runs of live processes (which hold
    a lock on their journal) are left alone. :class:`RunLogger` calls it at start.

    Returns:
        The ids of the runs recovered.
    """
    folder = Path(runs_dir if runs_dir is not None else default_runs_dir())
    writer = DataWriter(folder)
    try:
        return recover_journals(folder, writer.append)
    finally:
        writer.close()


def _summary(record: dict[str, Any]) -> dict[str, Any]:
    totals = record.get("totals") or {}
    started = record.get("started_at", "")
    return {
        "time": started[:19].replace("T", " "), "started_at": started,
        "task": truncate(record.get("task", ""), 200), "status": record.get("status", ""),
        "steps": int(totals.get("steps", 0)),
        "duration": round(float(totals.get("duration_s", 0.0)), 2),
        "tokens": int(totals.get("input_tokens", 0)) + int(totals.get("output_tokens", 0)),
        "input_tokens": int(totals.get("input_tokens", 0)),
        "output_tokens": int(totals.get("output_tokens", 0)),
        "model_id": record.get("model_id", ""), "session": record.get("session", ""),
        "run_id": record.get("run_id", ""),
    }


def _inflight_records(folder: Path) -> list[dict[str, Any]]:
    from ._runlog_files import incomplete_record

    records = []
    for header, steps, state, mtime in inflight_summaries(folder):
        record = incomplete_record(header, steps, mtime)
        if state == "running":
            record.update(status="running", error="")
        records.append(record)
    return records


def list_runs(runs_dir: str | os.PathLike | None = None, limit: int = 50,
              session: str | None = None, include_running: bool = True) -> list[dict[str, Any]]:
    """Recent runs, most recent first, as short rows for a table.

    Args:
        runs_dir: the runs folder (default ``$RUNS_DIR`` or ``./runs``).
        limit: at most this many rows.
        session: only the runs of this session hash (``RunLogger.session_hash``):
            visitors must only see their own runs.
        include_running: add runs in progress (``running``) and runs whose process
            died but that are not recovered yet (``incomplete``).

    Returns:
        Dicts with ``time`` (UTC), ``task``, ``status``, ``steps``, ``duration`` (s),
        ``tokens``, ``run_id`` (and ``started_at``, ``input_tokens``,
        ``output_tokens``, ``model_id``, ``session``).
    """
    folder = Path(runs_dir if runs_dir is not None else default_runs_dir())
    records = _inflight_records(folder) if include_running else []
    files = data_files(folder)
    i = 0
    while i < len(files):
        date = files[i].name[5:15]
        while i < len(files) and files[i].name[5:15] == date:  # all files of one day
            records.extend(r for r in iter_data_records(files[i])
                           if session is None or r.get("session") == session)
            i += 1
        if len(records) >= limit:
            break  # older days cannot hold newer runs
    if session is not None:
        records = [r for r in records if r.get("session") == session]
    records.sort(key=lambda r: r.get("started_at", ""), reverse=True)
    return [_summary(r) for r in records[:limit]]


def load_run(runs_dir: str | os.PathLike | None, run_id: str) -> dict[str, Any] | None:
    """The full record of one run (also of a run in progress), or None."""
    folder = Path(runs_dir if runs_dir is not None else default_runs_dir())
    needle = f'"run_id": "{run_id}"'.encode()
    for path in data_files(folder):
        try:
            if needle not in path.read_bytes():
                continue
        except OSError:
            continue
        for record in iter_data_records(path):
            if record.get("run_id") == run_id:
                return record
    for record in _inflight_records(folder):
        if record.get("run_id") == run_id:
            return record
    return None
