"""Load a tool from a Space repo, only with trust, at an exact commit, verified.

Steps of :func:`load_tool`: resolve the revision to a commit sha; download tool.py of
that commit and hash it (sha256); check the pin in the lock file (same commit -> same
hash, or refuse); without ``trust_remote_code=True`` stop there with an error naming the
repo, commit and hash (nothing executed); else execute exactly those bytes, find the one
Tool class tool.py defines, instantiate it, and pin (repo, commit, hash) on first load.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from agent_core.tools.base import Tool

from ._hub import hub_errors, make_api, repo_url
from ._module import exec_tool_module, find_tool
from .exceptions import (ToolFileNotFoundError, ToolHashMismatchError, ToolPinMismatchError,
                         ToolSpecError, UntrustedToolError)
from .lock import LockArg, LockEntry, ToolLock, open_lock

if TYPE_CHECKING:
    from huggingface_hub import HfApi

__all__ = ["RemoteTool", "ToolOrigin", "inspect_tool", "load_tool", "parse_tools_spec",
           "load_pinned_tools"]

logger = logging.getLogger(__name__)
_SHA = re.compile(r"[0-9a-f]{40}")
_REPO_ID = re.compile(r"[\w.-]+/[\w.-]+")


@dataclass(frozen=True)
class RemoteTool:
    """tool.py of a Space at one commit, downloaded but not executed."""

    repo_id: str
    revision: str
    commit_sha: str
    sha256: str
    code: bytes
    path: str
    review_url: str


@dataclass(frozen=True)
class ToolOrigin:
    """Where a loaded tool came from; set as ``tool.hub_origin``."""

    repo_id: str
    commit_sha: str
    sha256: str
    revision: str
    pinned: bool


def inspect_tool(repo_id: str, revision: str | None = None, token: str | None = None,
                 api: "HfApi | None" = None, cache_dir: str | Path | None = None) -> RemoteTool:
    """Resolve ``revision`` and fetch tool.py with its sha256, executing nothing.

    Raises:
        ToolRepoNotFoundError, ToolRevisionNotFoundError, ToolFileNotFoundError,
        HubRequestError.
    """
    _check_repo_id(repo_id)
    api = make_api(api, token)
    wanted = revision or "main"
    with hub_errors(api, repo_id, wanted, token):
        info = api.repo_info(repo_id, repo_type="space", revision=wanted, token=token)
        sha = info.sha
        files = sorted(s.rfilename for s in (info.siblings or []))
        if "tool.py" not in files:
            raise ToolFileNotFoundError(repo_id, sha, files)
        path = api.hf_hub_download(repo_id, "tool.py", repo_type="space", revision=sha,
                                   token=token, cache_dir=cache_dir)
    code = Path(path).read_bytes()
    return RemoteTool(repo_id=repo_id, revision=wanted, commit_sha=sha,
                      sha256=hashlib.sha256(code).hexdigest(), code=code, path=path,
                      review_url=f"{repo_url(api, repo_id)}/blob/{sha}/tool.py")


def load_tool(repo_id: str, trust_remote_code: bool = False, revision: str | None = None,
              token: str | None = None, lock_file: LockArg = None, api: "HfApi | None" = None,
              *, update_lock: bool = False, cache_dir: str | Path | None = None,
              **tool_kwargs: Any) -> Tool:
    """Load the tool published in the Space ``repo_id``.

    Args:
        repo_id: ``owner/name`` of the Space.
        trust_remote_code: must be True to execute tool.py. Without it, the error names
            the commit and the sha256 of tool.py so that you can review exactly that code.
        revision: branch, tag or commit sha; defaults to the pinned commit if the lock
            file has one, else ``main``.
        token: Hub token for private Spaces.
        lock_file: path of the lock file (default ``$AGENT_TOOLS_LOCK`` or
            ``./tools.lock.json``), a :class:`ToolLock`, or ``False`` for no pinning.
        api: the ``HfApi`` to use.
        update_lock: trust a revision other than the pinned one and re-pin to it.
        cache_dir: huggingface_hub cache folder.
        **tool_kwargs: passed to the tool class's constructor.

    Returns:
        The tool, with ``tool.hub_origin`` (:class:`ToolOrigin`) saying which commit.

    Raises:
        UntrustedToolError: ``trust_remote_code`` is False (nothing executed).
        ToolHashMismatchError: tool.py at the pinned commit is not the pinned code.
        ToolPinMismatchError: ``revision`` is another commit than the pinned one.
        ToolRepoNotFoundError, ToolRevisionNotFoundError, ToolFileNotFoundError,
        ToolClassNotFoundError, AmbiguousToolClassError, ToolCodeError, HubRequestError.

    Example:
        >>> tool = load_tool("me/add-tool", trust_remote_code=True,
        ...                  revision="3f0c...")  # doctest: +SKIP
    """
    lock = open_lock(lock_file)
    pin = lock.get(repo_id) if lock else None
    remote = inspect_tool(repo_id, revision or (pin.commit_sha if pin else None), token, api,
                          cache_dir)
    _verify_pin(remote, pin, lock, revision, update_lock)
    if not trust_remote_code:
        raise UntrustedToolError(repo_id, remote.commit_sha, remote.sha256, remote.review_url)
    module = exec_tool_module(remote.code, remote.path, repo_id, remote.commit_sha)
    tool = find_tool(module, repo_id, remote.commit_sha, tool_kwargs)
    if lock is not None and (pin is None or pin.commit_sha != remote.commit_sha):
        lock.record(repo_id, remote.commit_sha, remote.sha256, remote.revision)
    _report(remote, pin, lock, revision)
    tool.hub_origin = ToolOrigin(repo_id, remote.commit_sha, remote.sha256,  # type: ignore
                                 remote.revision, pinned=lock is not None)
    return tool


def _verify_pin(remote: RemoteTool, pin: LockEntry | None, lock: ToolLock | None,
                revision: str | None, update_lock: bool) -> None:
    if pin is None or lock is None:
        return
    if pin.commit_sha == remote.commit_sha:
        if pin.sha256 != remote.sha256:
            raise ToolHashMismatchError(remote.repo_id, remote.commit_sha, pin.sha256,
                                        remote.sha256, str(lock.path))
    elif not update_lock:
        raise ToolPinMismatchError(remote.repo_id, pin.commit_sha, revision or "main",
                                   remote.commit_sha, str(lock.path))


def _report(remote: RemoteTool, pin: LockEntry | None, lock: ToolLock | None,
            revision: str | None) -> None:
    if revision is None or not _SHA.fullmatch(revision):
        if pin is not None and pin.commit_sha == remote.commit_sha:
            logger.info("Loaded %s at its pinned commit %s (tool.py sha256 %s)",
                        remote.repo_id, remote.commit_sha, remote.sha256)
            return
        where = f"; pinned in {lock.path}" if lock else ""
        logger.warning("Loaded %s: revision %r resolved to commit %s (tool.py sha256 %s)%s. "
                       "Pass revision=%r to load exactly this code.", remote.repo_id,
                       remote.revision, remote.commit_sha, remote.sha256, where,
                       remote.commit_sha)
    else:
        logger.info("Loaded %s at commit %s (tool.py sha256 %s)", remote.repo_id,
                    remote.commit_sha, remote.sha256)


def _check_repo_id(repo_id: str) -> None:
    if not isinstance(repo_id, str) or not _REPO_ID.fullmatch(repo_id):
        raise ToolSpecError(f"Tool repo id must look like 'owner/name', got {repo_id!r}")


# --- AGENT_TOOLS -------------------------------------------------------------------


def parse_tools_spec(spec: str | Sequence[str], require_sha: bool = True) -> list[tuple[str, str]]:
    """Parse ``"owner/name@sha,owner2/name2@sha2"`` into ``[(repo_id, revision), ...]``.

    Args:
        spec: comma/whitespace separated entries, or a list of them.
        require_sha: refuse revisions that are not full 40-hex commit shas (a branch or
            tag could move and bring in code nobody chose).

    Raises:
        ToolSpecError: naming the bad entry.
    """
    items = re.split(r"[,\s]+", spec) if isinstance(spec, str) else list(spec)
    out = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        repo_id, sep, revision = item.partition("@")
        if not sep or not revision:
            raise ToolSpecError(f"Tool {item!r} is not pinned: write it as owner/name@<commit sha>")
        if not _REPO_ID.fullmatch(repo_id):
            raise ToolSpecError(f"Tool {item!r}: the repo id must look like owner/name")
        if require_sha and not _SHA.fullmatch(revision):
            raise ToolSpecError(f"Tool {item!r}: pin it to a full 40-character commit sha, "
                                "not a branch or tag")
        out.append((repo_id, revision))
    return out


def load_pinned_tools(spec: str | Sequence[str], token: str | None = None,
                      api: "HfApi | None" = None, lock_file: LockArg = None,
                      cache_dir: str | Path | None = None,
                      require_sha: bool = True) -> tuple[list[Tool], list[dict[str, str]]]:
    """Load the tools of an ``AGENT_TOOLS`` spec, trusted because the owner chose them.

    Each entry is loaded at its pinned commit and verified against the lock file (the
    pin in the spec wins over an older pin: it is the owner's decision).

    Returns:
        ``(tools, rows)``; each row is ``{"tool", "repo", "sha", "sha256"}`` for a Tools tab.

    Raises:
        ToolSpecError and the errors of :func:`load_tool`.

    Example:
        >>> tools, rows = load_pinned_tools(os.environ.get("AGENT_TOOLS", ""))  # doctest: +SKIP
    """
    tools, rows = [], []
    for repo_id, revision in parse_tools_spec(spec, require_sha):
        tool = load_tool(repo_id, trust_remote_code=True, revision=revision, token=token,
                         lock_file=lock_file, api=api, update_lock=True, cache_dir=cache_dir)
        origin: ToolOrigin = tool.hub_origin  # type: ignore[attr-defined]
        tools.append(tool)
        rows.append({"tool": tool.name, "repo": repo_id, "sha": origin.commit_sha,
                     "sha256": origin.sha256})
    return tools, rows
