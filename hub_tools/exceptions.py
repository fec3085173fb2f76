"""Errors of hub_tools.

Each subclasses a standard library error too, so generic handlers keep working
(``except LookupError``, ``except PermissionError``, ``except OSError``...). Messages say
what went wrong and what to do; they never contain a token. Exceptions never log.

- Developer mistakes: :class:`ToolNotSelfContainedError`, :class:`ToolSpecError`,
  :class:`LockFileError`.
- What is (not) on the Hub: :class:`ToolRepoNotFoundError`,
  :class:`ToolRevisionNotFoundError`, :class:`ToolFileNotFoundError`.
- What tool.py holds: :class:`ToolClassNotFoundError`, :class:`AmbiguousToolClassError`,
  :class:`ToolCodeError`.
- Trust: :class:`UntrustedToolError`, :class:`ToolHashMismatchError`,
  :class:`ToolPinMismatchError`.
- Transport: :class:`HubRequestError`, :class:`SpaceToolError`.
"""

from __future__ import annotations

__all__ = [
    "HubToolsError",
    "ToolNotSelfContainedError",
    "ToolSpecError",
    "LockFileError",
    "ToolRepoNotFoundError",
    "ToolRevisionNotFoundError",
    "ToolFileNotFoundError",
    "ToolClassNotFoundError",
    "AmbiguousToolClassError",
    "ToolCodeError",
    "UntrustedToolError",
    "ToolHashMismatchError",
    "ToolPinMismatchError",
    "HubRequestError",
    "SpaceToolError",
]


class HubToolsError(Exception):
    """Base class of every error raised by hub_tools."""


# --- developer mistakes ------------------------------------------------------


class ToolNotSelfContainedError(HubToolsError, ValueError):
    """A tool cannot be written as a self-contained tool.py; ``reason`` says why."""

    def __init__(self, tool_name: str, reason: str):
        super().__init__(f"Cannot publish tool {tool_name!r}: it is not self-contained: {reason}")
        self.tool_name, self.reason = tool_name, reason


class ToolSpecError(HubToolsError, ValueError):
    """A tools spec (e.g. ``AGENT_TOOLS``) is malformed."""


class LockFileError(HubToolsError, ValueError):
    """The tools lock file cannot be read or is malformed."""


# --- what is (not) on the Hub -------------------------------------------------


class ToolRepoNotFoundError(HubToolsError, LookupError):
    """No such Space (or it is private and the token cannot see it)."""

    def __init__(self, repo_id: str, endpoint: str = ""):
        where = f" on {endpoint}" if endpoint else ""
        super().__init__(
            f"Space {repo_id!r} not found{where}. Tools are shared as Space repos: check the "
            "id (owner/name), and pass token= if the Space is private.")
        self.repo_id = repo_id


class ToolRevisionNotFoundError(HubToolsError, LookupError):
    """The Space exists but has no such branch, tag or commit."""

    def __init__(self, repo_id: str, revision: str):
        super().__init__(
            f"Space {repo_id!r} has no revision {revision!r} (not a branch, tag or commit sha "
            "of that repo).")
        self.repo_id, self.revision = repo_id, revision


class ToolFileNotFoundError(HubToolsError, FileNotFoundError):
    """The Space has no tool.py at that commit: it is not a tool Space."""

    def __init__(self, repo_id: str, commit_sha: str, files: list[str]):
        listed = ", ".join(files[:10]) + (" ..." if len(files) > 10 else "")
        super().__init__(
            f"Space {repo_id!r} at commit {commit_sha} has no tool.py, so it is not a tool "
            f"Space (its files: {listed or 'none'}). Publish one with Tool.push_to_hub().")
        self.repo_id, self.commit_sha, self.files = repo_id, commit_sha, files


# --- what tool.py holds ---------------------------------------------------------


class ToolClassNotFoundError(HubToolsError, ValueError):
    """tool.py defines no Tool subclass (classes it only imports do not count)."""

    def __init__(self, repo_id: str, commit_sha: str):
        super().__init__(
            f"tool.py of {repo_id}@{commit_sha} defines no subclass of Tool (classes it only "
            "imports do not count): it must define exactly one.")
        self.repo_id, self.commit_sha = repo_id, commit_sha


class AmbiguousToolClassError(HubToolsError, ValueError):
    """tool.py defines several Tool subclasses, so which one to load is unclear."""

    def __init__(self, repo_id: str, commit_sha: str, names: list[str]):
        super().__init__(
            f"tool.py of {repo_id}@{commit_sha} defines {len(names)} Tool classes "
            f"({', '.join(names)}); it must define exactly one.")
        self.repo_id, self.commit_sha, self.names = repo_id, commit_sha, names


class ToolCodeError(HubToolsError, RuntimeError):
    """Executing tool.py, or creating the tool, raised."""

    def __init__(self, repo_id: str, commit_sha: str, error: BaseException):
        super().__init__(f"tool.py of {repo_id}@{commit_sha} failed while loading: "
                         f"{type(error).__name__}: {error}")
        self.repo_id, self.commit_sha = repo_id, commit_sha


# --- trust ------------------------------------------------------------------------


class UntrustedToolError(HubToolsError, PermissionError):
    """Loading needs ``trust_remote_code=True``; nothing was executed.

    Attributes: ``repo_id``, ``commit_sha``, ``sha256`` (of tool.py), ``review_url``.
    """

    def __init__(self, repo_id: str, commit_sha: str, sha256: str, review_url: str):
        super().__init__(
            f"Refusing to run the code of Space {repo_id!r} without trust_remote_code=True; "
            f"nothing was executed.\n"
            f"  commit:         {commit_sha}\n"
            f"  tool.py sha256: {sha256}\n"
            f"Review the code first: {review_url}\n"
            f"  (or: hf download {repo_id} tool.py --repo-type space --revision {commit_sha})\n"
            f"then load exactly that commit with load_tool({repo_id!r}, revision={commit_sha!r}, "
            "trust_remote_code=True).")
        self.repo_id, self.commit_sha, self.sha256, self.review_url = (
            repo_id, commit_sha, sha256, review_url)


class ToolHashMismatchError(HubToolsError, PermissionError):
    """tool.py at a pinned commit is not the code that was trusted: refused."""

    def __init__(self, repo_id: str, commit_sha: str, expected: str, actual: str, lock_path: str):
        super().__init__(
            f"Refusing to load {repo_id}@{commit_sha}: its tool.py changed since it was pinned "
            f"in {lock_path} (sha256 {actual}, pinned {expected}). The same commit should never "
            "change: the server, a mirror or the local cache may have been tampered with. "
            "Review the code; remove the entry from the lock file only if you trust the new one.")
        self.repo_id, self.commit_sha, self.expected, self.actual = (
            repo_id, commit_sha, expected, actual)


class ToolPinMismatchError(HubToolsError, PermissionError):
    """A revision other than the pinned commit was asked for."""

    def __init__(self, repo_id: str, pinned_sha: str, requested: str, resolved_sha: str,
                 lock_path: str):
        super().__init__(
            f"{repo_id} is pinned at commit {pinned_sha} in {lock_path}, but revision "
            f"{requested!r} is commit {resolved_sha}. Review the new code, then pass "
            "update_lock=True to trust and pin it (or load the pinned commit).")
        self.repo_id, self.pinned_sha, self.requested, self.resolved_sha = (
            repo_id, pinned_sha, requested, resolved_sha)


# --- transport ----------------------------------------------------------------------


class HubRequestError(HubToolsError, OSError):
    """The Hub answered with an error (or could not be reached); carries ``status``."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class SpaceToolError(HubToolsError, RuntimeError):
    """A Space (Gradio app) cannot be used as a tool: not running, no such endpoint..."""
