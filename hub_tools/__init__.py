"""hub_tools: everything that touches the Hugging Face Hub.

Tools are shared as Space repos (tool.py, app.py, requirements.txt, README.md) and
loaded back only with explicit trust, at an exact commit, verified against a lock file.

Example:
    >>> from hub_tools import push_tool, load_tool
    >>> result = push_tool(add, "me/add-tool")                        # doctest: +SKIP
    >>> tool = load_tool("me/add-tool", trust_remote_code=True,
    ...                  revision=result.commit_sha)                  # doctest: +SKIP

huggingface_hub and gradio_client are imported only when a function needs them.
"""

from __future__ import annotations

from ._source import ToolSource, tool_to_source
from ._space_files import SPACE_TAGS, save_tool, space_files
from .exceptions import (AmbiguousToolClassError, HubRequestError, HubToolsError, LockFileError,
                         SpaceToolError, ToolClassNotFoundError, ToolCodeError,
                         ToolFileNotFoundError, ToolHashMismatchError, ToolNotSelfContainedError,
                         ToolPinMismatchError, ToolRepoNotFoundError, ToolRevisionNotFoundError,
                         ToolSpecError, UntrustedToolError)
from .load import (RemoteTool, ToolOrigin, inspect_tool, load_pinned_tools, load_tool,
                   parse_tools_spec)
from .lock import LockEntry, ToolLock, default_lock_path
from .push import PushResult, push_tool
from .runlog import (RunCallback, RunLogger, list_runs, load_run, recover_incomplete,
                     run_to_chat_messages)
from .space_tool import tool_from_space

__all__ = [
    # push
    "push_tool", "PushResult", "space_files", "save_tool", "tool_to_source", "ToolSource",
    "SPACE_TAGS",
    # load
    "load_tool", "inspect_tool", "RemoteTool", "ToolOrigin", "load_pinned_tools",
    "parse_tools_spec",
    # lock
    "ToolLock", "LockEntry", "default_lock_path",
    # Spaces as tools
    "tool_from_space",
    # run logs
    "RunLogger", "RunCallback", "list_runs", "load_run", "recover_incomplete",
    "run_to_chat_messages",
    # errors
    "HubToolsError", "ToolNotSelfContainedError", "ToolSpecError", "LockFileError",
    "ToolRepoNotFoundError", "ToolRevisionNotFoundError", "ToolFileNotFoundError",
    "ToolClassNotFoundError", "AmbiguousToolClassError", "ToolCodeError", "UntrustedToolError",
    "ToolHashMismatchError", "ToolPinMismatchError", "HubRequestError", "SpaceToolError",
]
