"""Contract: the exact request sequence the installed huggingface_hub makes for push/load.

If a client upgrade changes the protocol (new endpoints, different order), this test
fails first and names the difference; update the test server and these lists together.
"""

from __future__ import annotations

import pytest

from hub_tools import UntrustedToolError, load_tool, push_tool
from tests.hub_tools import sample_tools

INFO = "GET /api/{type}s/{repo_id}[/revision/{rev}]"
PUSH_NEW = [
    ("POST /api/repos/create", 200),
    (INFO, 200),  # head sha, so that an unchanged push is recognised
    ("POST /api/validate-yaml", 200),  # README.md is in the commit
    ("POST /api/{type}s/{repo_id}/preupload/{rev}", 200),
    ("POST /api/{type}s/{repo_id}/commit/{rev}", 200),
]
PUSH_UNCHANGED = [
    ("POST /api/repos/create", 409),
    (INFO, 200),
    ("POST /api/validate-yaml", 200),
    ("POST /api/{type}s/{repo_id}/preupload/{rev}", 200),  # every oid matches: no commit
    (INFO, 200),
]
LOAD_FIRST = [
    (INFO, 200),  # resolve the revision to a commit sha; check tool.py is there
    ("HEAD /{prefix}{repo_id}/resolve/{rev}/{path}", 200),
    ("GET /{prefix}{repo_id}/resolve/{rev}/{path}", 200),
]
LOAD_CACHED = [(INFO, 200)]  # tool.py of that commit sha comes from the cache


def _calls(hub, since: int) -> list[tuple[str, int]]:
    return [(r.route, r.status) for r in hub.requests[since:]]


def test_request_sequence_of_push_and_load(hub, hf_api, hub_kwargs):
    mark = len(hub.requests)
    result = push_tool(sample_tools.add, "alice/add-tool", api=hf_api)
    assert _calls(hub, mark) == PUSH_NEW

    mark = len(hub.requests)
    push_tool(sample_tools.add, "alice/add-tool", api=hf_api)
    assert _calls(hub, mark) == PUSH_UNCHANGED

    mark = len(hub.requests)
    with pytest.raises(UntrustedToolError):
        load_tool("alice/add-tool", **hub_kwargs)
    assert _calls(hub, mark) == LOAD_FIRST
    paths = [r.path for r in hub.requests[mark:]]
    assert paths[0] == "/api/spaces/alice/add-tool/revision/main"
    assert paths[1] == f"/spaces/alice/add-tool/resolve/{result.commit_sha}/tool.py"

    mark = len(hub.requests)
    load_tool("alice/add-tool", trust_remote_code=True, **hub_kwargs)
    assert _calls(hub, mark) == LOAD_CACHED
    # A pinned load asks for the pinned commit, not for main.
    mark = len(hub.requests)
    load_tool("alice/add-tool", trust_remote_code=True, **hub_kwargs)
    assert hub.requests[mark].path == f"/api/spaces/alice/add-tool/revision/{result.commit_sha}"


def test_commit_payload_is_ndjson_with_the_four_files(hub, hf_api):
    push_tool(sample_tools.Greeter(), "alice/greeter", api=hf_api)
    commit = [r for r in hub.requests if r.route.endswith("/commit/{rev}")]
    assert len(commit) == 1 and commit[0].path == "/api/spaces/alice/greeter/commit/main"
    assert hub.list_files("alice/greeter", repo_type="space") == [
        ".gitattributes", "README.md", "app.py", "requirements.txt", "tool.py"]
