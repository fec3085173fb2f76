"""Pinning: the lock file, verification at a pinned commit, AGENT_TOOLS specs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from hub_tools import (LockFileError, ToolHashMismatchError, ToolLock, ToolPinMismatchError,
                       ToolSpecError, load_pinned_tools, load_tool, parse_tools_spec, push_tool)
from tests.hub_tools import sample_tools


def test_changed_tool_py_at_pinned_revision_is_refused(hub, hf_api, hub_kwargs, tmp_path):
    result = push_tool(sample_tools.add, "alice/add-tool", api=hf_api)
    load_tool("alice/add-tool", trust_remote_code=True, **hub_kwargs)  # pins it
    marker = tmp_path / "evil.txt"
    hub.tamper_file("alice/add-tool", "tool.py", sample_tools.marker_tool_code(str(marker)).encode(),
                    revision=result.commit_sha, repo_type="space")
    assert hub.head("alice/add-tool", "space") == result.commit_sha  # same commit sha
    fresh = dict(hub_kwargs, cache_dir=str(tmp_path / "fresh-cache"))
    with pytest.raises(ToolHashMismatchError) as info:
        load_tool("alice/add-tool", trust_remote_code=True, **fresh)
    assert info.value.commit_sha == result.commit_sha
    assert "changed since it was pinned" in str(info.value)
    assert not marker.exists()
    # The pinned code still loads from the untouched cache.
    assert load_tool("alice/add-tool", trust_remote_code=True, **hub_kwargs)(a=1, b=0) == 10


def test_tampered_cache_is_refused(hf_api, hub_kwargs):
    push_tool(sample_tools.add, "alice/add-tool", api=hf_api)
    tool = load_tool("alice/add-tool", trust_remote_code=True, **hub_kwargs)
    cached = Path(sys.modules[type(tool).__module__].__file__)  # tool.py in the Hub cache
    cached.resolve().write_text(cached.read_text() + "\nprint('injected')\n")
    with pytest.raises(ToolHashMismatchError):
        load_tool("alice/add-tool", trust_remote_code=True, **hub_kwargs)


def test_pinned_repo_loads_the_pinned_commit_not_main(hf_api, hub_kwargs, tmp_path):
    v1 = push_tool(sample_tools.add, "alice/adder", api=hf_api)
    assert load_tool("alice/adder", trust_remote_code=True, **hub_kwargs)(a=1, b=1) == 20
    v2 = push_tool(sample_tools.add_v2, "alice/adder", api=hf_api)
    tool = load_tool("alice/adder", trust_remote_code=True, **hub_kwargs)
    assert tool(a=1, b=1) == 20 and tool.hub_origin.commit_sha == v1.commit_sha
    with pytest.raises(ToolPinMismatchError) as info:
        load_tool("alice/adder", trust_remote_code=True, revision="main", **hub_kwargs)
    assert v1.commit_sha in str(info.value) and v2.commit_sha in str(info.value)
    newer = load_tool("alice/adder", trust_remote_code=True, revision="main", update_lock=True,
                      **hub_kwargs)
    assert newer(a=1, b=1) == 3
    assert ToolLock(tmp_path / "tools.lock.json").get("alice/adder").commit_sha == v2.commit_sha


def test_lock_path_from_environment(hf_api, hub_kwargs, tmp_path, monkeypatch):
    push_tool(sample_tools.add, "alice/add-tool", api=hf_api)
    custom = tmp_path / "custom" / "my.lock.json"
    monkeypatch.setenv("AGENT_TOOLS_LOCK", str(custom))
    kwargs = {k: v for k, v in hub_kwargs.items() if k != "lock_file"}
    load_tool("alice/add-tool", trust_remote_code=True, **kwargs)
    assert "alice/add-tool" in json.loads(custom.read_text())["tools"]


def test_malformed_lock_file_is_a_clear_error(hf_api, hub_kwargs, tmp_path):
    (tmp_path / "tools.lock.json").write_text("{not json")
    push_tool(sample_tools.add, "alice/add-tool", api=hf_api)
    with pytest.raises(LockFileError, match="malformed"):
        load_tool("alice/add-tool", trust_remote_code=True, **hub_kwargs)


def test_lock_record_and_remove(tmp_path):
    lock = ToolLock(tmp_path / "l.json")
    lock.record("a/b", "1" * 40, "f" * 64, "main")
    lock.record("c/d", "2" * 40, "e" * 64)
    assert sorted(lock.entries()) == ["a/b", "c/d"]
    assert lock.remove("a/b") and not lock.remove("a/b")
    assert lock.get("c/d").sha256 == "e" * 64


def test_parse_tools_spec():
    sha = "a" * 40
    assert parse_tools_spec(f"alice/x@{sha}, bob/y@{sha}") == [("alice/x", sha), ("bob/y", sha)]
    assert parse_tools_spec("") == []
    with pytest.raises(ToolSpecError, match="not pinned"):
        parse_tools_spec("alice/x")
    with pytest.raises(ToolSpecError, match="40-character"):
        parse_tools_spec("alice/x@main")
    assert parse_tools_spec("alice/x@main", require_sha=False) == [("alice/x", "main")]
    with pytest.raises(ToolSpecError, match="owner/name"):
        parse_tools_spec(f"nobody@{sha}")


def test_load_pinned_tools_for_the_tools_tab(hf_api, hub_kwargs):
    add = push_tool(sample_tools.add, "alice/add-tool", api=hf_api)
    greet = push_tool(sample_tools.Greeter(), "tools-org/greeter", api=hf_api)
    spec = f"alice/add-tool@{add.commit_sha},tools-org/greeter@{greet.commit_sha}"
    tools, rows = load_pinned_tools(spec, **hub_kwargs)
    assert [t.name for t in tools] == ["add", "greeter"]
    assert [(r["repo"], r["sha"]) for r in rows] == [("alice/add-tool", add.commit_sha),
                                                     ("tools-org/greeter", greet.commit_sha)]
    assert all(len(r["sha256"]) == 64 for r in rows)
    assert tools[1](who="Vi") == "Hello, Vi! (10)"
