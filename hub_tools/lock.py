"""The tools lock file: which commit of each tool repo was trusted, and its tool.py hash.

``tools.lock.json`` (path: argument, else env ``AGENT_TOOLS_LOCK``, else the current
folder) looks like::

    {"version": 1,
     "tools": {"owner/name": {"commit_sha": "...", "sha256": "...", "revision": "main",
                              "locked_at": "2025-01-01T00:00:00Z"}}}

Writes are atomic (temp file + rename) and serialised with a file lock, so several
processes can share one lock file.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Union

from .exceptions import LockFileError

__all__ = ["LockEntry", "ToolLock", "default_lock_path", "open_lock", "LOCK_ENV", "LockArg"]

LOCK_ENV = "AGENT_TOOLS_LOCK"
DEFAULT_NAME = "tools.lock.json"


@dataclass(frozen=True)
class LockEntry:
    """A pinned tool: the repo, the trusted commit and the sha256 of its tool.py."""

    repo_id: str
    commit_sha: str
    sha256: str
    revision: str = ""
    locked_at: str = ""


def default_lock_path() -> Path:
    """``$AGENT_TOOLS_LOCK`` if set, else ``./tools.lock.json``."""
    return Path(os.environ.get(LOCK_ENV) or DEFAULT_NAME)


class ToolLock:
    """Read and update a tools lock file.

    Example:
        >>> lock = ToolLock("tools.lock.json")  # doctest: +SKIP
        >>> lock.get("me/add-tool").commit_sha  # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._thread_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ToolLock({str(self.path)!r})"

    def entries(self) -> dict[str, LockEntry]:
        """All pins, by repo id (empty when the file does not exist yet)."""
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as err:
            raise LockFileError(f"Cannot read the tools lock file {self.path}: {err}") from None
        try:
            data = json.loads(raw)
            tools = data["tools"]
            return {repo: LockEntry(repo_id=repo, commit_sha=e["commit_sha"], sha256=e["sha256"],
                                    revision=e.get("revision", ""), locked_at=e.get("locked_at", ""))
                    for repo, e in tools.items()}
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise LockFileError(
                f"The tools lock file {self.path} is malformed ({type(err).__name__}: {err}); "
                "fix it or delete it to pin tools again") from None

    def get(self, repo_id: str) -> LockEntry | None:
        return self.entries().get(repo_id)

    def record(self, repo_id: str, commit_sha: str, sha256: str, revision: str = "") -> LockEntry:
        """Pin ``repo_id`` at ``commit_sha`` with tool.py hash ``sha256`` (replacing a pin)."""
        entry = LockEntry(repo_id, commit_sha, sha256, revision,
                          datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
        with self._exclusive():
            entries = self.entries()
            entries[repo_id] = entry
            self._write(entries)
        return entry

    def remove(self, repo_id: str) -> bool:
        """Forget the pin of ``repo_id``; returns whether there was one."""
        with self._exclusive():
            entries = self.entries()
            found = entries.pop(repo_id, None) is not None
            if found:
                self._write(entries)
        return found

    def _write(self, entries: dict[str, LockEntry]) -> None:
        data = {"version": 1, "tools": {
            repo: {k: v for k, v in asdict(e).items() if k != "repo_id"}
            for repo, e in sorted(entries.items())}}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tools-lock-", dir=self.path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2)
            fh.write("\n")
        os.replace(tmp, self.path)

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._thread_lock, open(f"{self.path}.flock", "a+") as fh:
            try:
                import fcntl

                fcntl.flock(fh, fcntl.LOCK_EX)
            except ImportError:  # not POSIX: the thread lock still serialises this process
                pass
            yield


LockArg = Union[str, os.PathLike, ToolLock, bool, None]


def open_lock(lock_file: LockArg) -> ToolLock | None:
    """The lock to use: ``None`` -> the default path, ``False`` -> no lock file at all."""
    if lock_file is False:
        return None
    if isinstance(lock_file, ToolLock):
        return lock_file
    if lock_file is None or lock_file is True:
        return ToolLock(default_lock_path())
    return ToolLock(lock_file)
