"""The run log on disk: data files, per-run journals, recovery and reading.

Layout of a runs folder::

    README.md                         dataset card (schema, ``configs``)
    runs-<UTC date>-<writer>.jsonl    one finished record per line (pushed)
    files/<kind>-<sha256>.png|.wav    images and audio of final answers (pushed)
    .inflight/<run_id>.jsonl          journal of a run in progress (never pushed)

Each writer (one per :class:`~hub_tools.runlog.RunLogger`) appends to its own data
file, one ``os.write`` of a whole line per record under a lock, so threads never
interleave and processes never share a file; it holds an ``flock`` on the file while
it may still append to it, so a pusher in another process leaves the file to its
owner (:func:`is_locked`). A run in progress has a journal: its
header, then one line per finished step, each written (unbuffered) as the step
ends, so a ``kill -9`` loses at most the step in flight. The owner holds an
``flock`` on its journal for the whole run; the kernel drops it when the process
dies, which is how :func:`recover_incomplete` tells dead runs from live ones, in
this process or any other.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

from ._runlog_record import build_record, encode_line

__all__ = ["DATA_GLOB", "INFLIGHT_DIR", "FILES_DIR", "RECOVERED_ERROR", "DataWriter", "Journal",
           "recover_journals", "incomplete_record", "iter_data_records", "read_journal",
           "journal_state", "is_locked", "data_files", "inflight_summaries"]

DATA_GLOB, INFLIGHT_DIR, FILES_DIR = "runs-*.jsonl", ".inflight", "files"
RECOVERED_ERROR = ("The process stopped before the run ended; the steps finished until "
                   "then were recovered at the next start.")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class DataWriter:
    """Appends finished records to this writer's own daily JSONL file.

    Args:
        runs_dir: the runs folder.
        lock: an extra lock held while appending (the CommitScheduler's), or None.
        fsync: fsync each record (a finished run survives a power loss too).
    """

    def __init__(self, runs_dir: Path, lock: Any = None, fsync: bool = True):
        self.runs_dir = Path(runs_dir)
        self.writer_id = secrets.token_hex(4)
        self.extra_lock = lock
        self.fsync = fsync
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._date = ""

    def path_for(self, date: str) -> Path:
        return self.runs_dir / f"runs-{date}-{self.writer_id}.jsonl"

    def _fd_for(self, date: str) -> int:
        if self._fd is None or date != self._date:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            path = self.path_for(date)
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self._date = date
        return self._fd

    def append(self, record: dict[str, Any]) -> Path:
        """Append one record as one line; return the file written."""
        data = encode_line(record)
        date = record["finished_at"][:10]
        with self._lock:
            with (self.extra_lock or contextlib.nullcontext()):
                fd = self._fd_for(date)
                _write_all(fd, data)
            if self.fsync:
                os.fsync(fd)
            return self.path_for(date)

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


class Journal:
    """The on-disk journal of one run in progress, locked by its owner.

    Created under a temporary name, locked, then renamed into place, so that a
    recoverer never sees an unlocked journal of a live run.
    """

    def __init__(self, runs_dir: Path, run_id: str, header: dict[str, Any]):
        folder = Path(runs_dir) / INFLIGHT_DIR
        folder.mkdir(parents=True, exist_ok=True)
        safe_id = "".join(c for c in run_id if c.isalnum() or c in "-_")[:64] or "run"
        self.path = folder / f"{safe_id}.jsonl"
        line = encode_line({"kind": "start", **header})
        for attempt in range(3):
            tmp = folder / f".{safe_id}.{secrets.token_hex(4)}.tmp"
            self.fd: int | None = os.open(
                tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
            fcntl.flock(self.fd, fcntl.LOCK_EX)
            _write_all(self.fd, line)
            try:
                os.replace(tmp, self.path)
                return
            except FileNotFoundError:  # a recoverer took it for dead before our lock
                os.close(self.fd)
                if attempt == 2:
                    raise

    def add_step(self, step: dict[str, Any]) -> None:
        """Write a finished step (unbuffered: in the page cache, safe from kill -9)."""
        if self.fd is not None:
            _write_all(self.fd, encode_line({"kind": "step", "step": step}))

    def release(self) -> None:
        """Keep the journal but drop the lock: the run is left to :func:`recover_journals`."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def discard(self) -> None:
        """Delete the journal (its run is now in a data file) and drop the lock."""
        if self.fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        os.close(self.fd)
        self.fd = None


def read_journal(data: bytes) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The header and steps of a journal; a torn last line (killed mid-write) is skipped."""
    header, steps = None, []
    for line in data.splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if not isinstance(item, dict):
            continue
        if item.get("kind") == "start" and header is None:
            header = {k: v for k, v in item.items() if k != "kind"}
        elif item.get("kind") == "step" and isinstance(item.get("step"), dict):
            steps.append(item["step"])
    return header, steps


def is_locked(path: Path) -> bool:
    """Whether a live writer (of any process, this one included) holds ``path``."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def journal_state(path: Path) -> str:
    """``"running"`` if a live process holds the journal, else ``"incomplete"``."""
    return "running" if is_locked(path) else "incomplete"


def data_files(runs_dir: Path) -> list[Path]:
    """The data files, newest date first."""
    folder = Path(runs_dir)
    if not folder.is_dir():
        return []
    return sorted(folder.glob(DATA_GLOB), key=lambda p: (p.name[5:15], p.name), reverse=True)


def iter_data_records(path: Path) -> Iterator[dict[str, Any]]:
    """The records of one data file; unreadable lines are skipped."""
    try:
        data = path.read_bytes()
    except OSError:
        return
    for line in data.splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and "run_id" in record:
            yield record


def _logged_run_ids(runs_dir: Path, run_ids: set[str]) -> set[str]:
    """Which of ``run_ids`` already have a record (a crash between record and unlink)."""
    found: set[str] = set()
    needles = {rid: f'"run_id": {json.dumps(rid)}'.encode() for rid in run_ids}
    for path in data_files(runs_dir):
        try:
            data = path.read_bytes()
        except OSError:
            continue
        found.update(rid for rid, needle in needles.items() if needle in data)
    return found


def _claim(path: Path) -> int | None:
    """Lock a journal whose owner is gone; None if it is alive or already handled."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    if os.fstat(fd).st_nlink == 0:  # another recoverer finished it meanwhile
        os.close(fd)
        return None
    return fd


def _read_fd(fd: int) -> bytes:
    chunks = []
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def recover_journals(runs_dir: Path, append: Callable[[dict[str, Any]], Any]) -> list[str]:
    """Close runs whose process died: a record with status ``incomplete`` each.

    Args:
        runs_dir: the runs folder.
        append: writes one record (a :meth:`DataWriter.append`).

    Returns:
        The ids of the runs recovered.
    """
    folder = Path(runs_dir) / INFLIGHT_DIR
    if not folder.is_dir():
        return []
    _remove_dead_temp_files(folder)
    claimed: list[tuple[Path, int]] = []
    for path in sorted(folder.glob("*.jsonl")):
        fd = _claim(path)
        if fd is not None:
            claimed.append((path, fd))
    if not claimed:
        return []
    recovered: list[str] = []
    try:
        parsed = [(path, fd, *read_journal(_read_fd(fd))) for path, fd in claimed]
        done = _logged_run_ids(runs_dir, {h["run_id"] for _, _, h, _ in parsed if h})
        for path, fd, header, steps in parsed:
            if header and header["run_id"] not in done:
                append(incomplete_record(header, steps, os.fstat(fd).st_mtime))
                recovered.append(header["run_id"])
            os.unlink(path)
    finally:
        for _, fd in claimed:
            os.close(fd)
    return recovered


def incomplete_record(header: dict[str, Any], steps: list[dict[str, Any]],
                      last_seen: float) -> dict[str, Any]:
    """The record of a run that never ended: its steps so far, status ``incomplete``."""
    return build_record(header, steps, status="incomplete",
                        finished_ts=max(last_seen, float(header.get("started_ts", 0.0))),
                        error=RECOVERED_ERROR)


def _remove_dead_temp_files(folder: Path) -> None:
    """Journals whose process was killed before renaming them into place."""
    for tmp in folder.glob(".*.tmp"):
        fd = _claim(tmp)
        if fd is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            os.close(fd)


def inflight_summaries(runs_dir: Path) -> Iterator[tuple[dict[str, Any], list, str, float]]:
    """Header, steps, state (running/incomplete) and mtime of each journal."""
    folder = Path(runs_dir) / INFLIGHT_DIR
    if not folder.is_dir():
        return
    for path in folder.glob("*.jsonl"):
        state = journal_state(path)
        try:
            data, mtime = path.read_bytes(), path.stat().st_mtime
        except OSError:
            continue
        header, steps = read_journal(data)
        if header:
            yield header, steps, state, mtime

