"""Publish a tool as a Space repo: tool.py, app.py, requirements.txt, README.md."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agent_core.tools.base import Tool

from ._hub import hub_errors, make_api, repo_url
from ._space_files import space_files

if TYPE_CHECKING:
    from huggingface_hub import HfApi

__all__ = ["PushResult", "push_tool"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PushResult:
    """What a push did.

    Attributes:
        repo_id: the Space.
        commit_sha: the commit holding the tool (the existing head when nothing changed).
        commit_url: its URL.
        created_commit: False when the Space already held exactly these files.
        repo_url: the Space's URL.
    """

    repo_id: str
    commit_sha: str
    commit_url: str
    created_commit: bool
    repo_url: str

    def __str__(self) -> str:
        return self.commit_url


def push_tool(tool: Tool, repo_id: str, token: str | None = None, private: bool = False,
              commit_message: str | None = None, api: "HfApi | None" = None) -> PushResult:
    """Create or update the Space ``repo_id`` (sdk gradio) holding ``tool``.

    The Space gets tool.py (the tool's self-contained source), app.py (a Gradio demo),
    requirements.txt and README.md (front matter with the ``tool`` tags). Pushing the
    same tool again makes no commit.

    Args:
        tool: an ``@tool`` function or an instance of a ``Tool`` subclass.
        repo_id: ``owner/name`` of the Space.
        token: Hub token (defaults to the environment's / ``api``'s).
        private: create the Space private (an existing Space keeps its visibility).
        commit_message: defaults to "Upload tool <name>".
        api: the ``HfApi`` to use (its endpoint and token).

    Returns:
        A :class:`PushResult` with the commit sha and URL.

    Raises:
        ToolNotSelfContainedError: before anything is sent, saying why.
        HubRequestError: the Hub refused (e.g. no write access), token redacted.

    Example:
        >>> result = add.push_to_hub("me/add-tool")  # doctest: +SKIP
        >>> result.commit_sha  # doctest: +SKIP
    """
    from huggingface_hub import CommitOperationAdd

    files = space_files(tool, repo_id)  # refuses a non-self-contained tool before any request
    api = make_api(api, token)
    with hub_errors(api, repo_id, token=token):
        api.create_repo(repo_id, repo_type="space", space_sdk="gradio", private=private,
                        exist_ok=True, token=token)
        head = api.repo_info(repo_id, repo_type="space", token=token).sha
        operations = [CommitOperationAdd(path_in_repo=path, path_or_fileobj=text.encode("utf-8"))
                      for path, text in files.items()]
        info = api.create_commit(
            repo_id, operations, repo_type="space", token=token, parent_commit=head,
            commit_message=commit_message or f"Upload tool {tool.name}",
            commit_description="Published with hub_tools (agent_core).")
    created = info.oid != head
    logger.info("Pushed tool %r to %s: %s", tool.name, repo_id,
                f"commit {info.oid}" if created else f"unchanged at {info.oid}")
    return PushResult(repo_id=repo_id, commit_sha=info.oid, commit_url=info.commit_url,
                      created_commit=created, repo_url=repo_url(api, repo_id))
