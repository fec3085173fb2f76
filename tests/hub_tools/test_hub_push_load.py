"""Push tools to Space repos and load them back, with the real huggingface_hub client."""

from __future__ import annotations

import hashlib
import json
import logging

import pytest
import yaml

import agent_core
from agent_core import Tool
from hub_tools import (AmbiguousToolClassError, HubRequestError, ToolClassNotFoundError,
                       ToolFileNotFoundError, ToolNotSelfContainedError,
                       ToolRepoNotFoundError, ToolRevisionNotFoundError, UntrustedToolError,
                       inspect_tool, load_tool, push_tool)
from tests.hub_tools import sample_tools
from tests.hub_tools._helpers import TOKEN


def upload_tool_py(hf_api, repo_id: str, code: str) -> str:
    """Create a Space holding ``code`` as tool.py; returns the commit sha."""
    hf_api.create_repo(repo_id, repo_type="space", space_sdk="gradio", exist_ok=True)
    info = hf_api.upload_file(path_or_fileobj=code.encode(), path_in_repo="tool.py",
                              repo_id=repo_id, repo_type="space")
    return info.oid


def test_push_function_tool_creates_gradio_space(hub, hf_api):
    result = push_tool(sample_tools.add, "alice/add-tool", api=hf_api)
    assert result.created_commit
    assert result.commit_sha == hub.head("alice/add-tool", "space")
    assert result.commit_url.endswith(f"/spaces/alice/add-tool/commit/{result.commit_sha}")
    info = hf_api.space_info("alice/add-tool")
    assert info.sdk == "gradio"
    assert {"tool.py", "app.py", "requirements.txt", "README.md"} <= \
        {s.rfilename for s in info.siblings}
    readme = hub.read_file("alice/add-tool", "README.md", repo_type="space").decode()
    assert "tool" in yaml.safe_load(readme.split("---")[1])["tags"]
    assert "tool" in info.tags


def test_same_tool_pushed_twice_makes_no_empty_commit(hub, hf_api):
    first = push_tool(sample_tools.add, "alice/add-tool", api=hf_api)
    commits = hub.commit_count("alice/add-tool", "space")
    second = push_tool(sample_tools.add, "alice/add-tool", api=hf_api)
    assert not second.created_commit
    assert second.commit_sha == first.commit_sha
    assert hub.commit_count("alice/add-tool", "space") == commits


def test_round_trip_function_tool_and_tool_subclass(hf_api, hub_kwargs):
    push_tool(sample_tools.add, "alice/add-tool", api=hf_api)
    push_tool(sample_tools.Greeter(), "tools-org/greeter", api=hf_api)
    add = load_tool("alice/add-tool", trust_remote_code=True, **hub_kwargs)
    greeter = load_tool("tools-org/greeter", trust_remote_code=True, **hub_kwargs)
    assert isinstance(add, Tool) and isinstance(greeter, Tool)
    assert add(a=2, b=3) == 50 and add(a=2, b=3, c=1) == 60
    assert greeter(who="Zoe") == "Hello, Zoe! (10)"
    assert type(add).__module__.startswith("hub_tools_remote.")  # the class tool.py defines


def test_tool_method_and_agent_core_load_tool(hf_api, hub_kwargs):
    result = sample_tools.Greeter().push_to_hub("alice/greeter", api=hf_api)
    tool = agent_core.load_tool("alice/greeter", trust_remote_code=True,
                                revision=result.commit_sha, **hub_kwargs)
    assert tool(who="Al") == "Hello, Al! (10)"
    assert tool.hub_origin.commit_sha == result.commit_sha


def test_load_without_trust_executes_nothing(hf_api, hub_kwargs, tmp_path):
    marker = tmp_path / "marker.txt"
    code = sample_tools.marker_tool_code(str(marker))
    sha = upload_tool_py(hf_api, "alice/marker", code)
    with pytest.raises(UntrustedToolError) as info:
        load_tool("alice/marker", **hub_kwargs)
    err = info.value
    assert not marker.exists()
    digest = hashlib.sha256(code.encode()).hexdigest()
    assert (err.repo_id, err.commit_sha, err.sha256) == ("alice/marker", sha, digest)
    for part in ("alice/marker", sha, digest, "trust_remote_code=True", "/blob/"):
        assert part in str(err)
    assert not (tmp_path / "tools.lock.json").exists()  # nothing pinned either
    assert inspect_tool("alice/marker", api=hub_kwargs["api"]).sha256 == digest
    assert not marker.exists()
    # The marker does prove execution: a trusted load writes it.
    assert load_tool("alice/marker", trust_remote_code=True, **hub_kwargs)() == "ran"
    assert marker.exists()


def test_older_revision_after_second_push(hf_api, hub_kwargs):
    v1 = push_tool(sample_tools.add, "alice/adder", api=hf_api)
    hf_api.create_tag("alice/adder", tag="v1", repo_type="space")
    v2 = push_tool(sample_tools.add_v2, "alice/adder", api=hf_api)
    assert v2.created_commit and v2.commit_sha != v1.commit_sha
    kwargs = dict(hub_kwargs, lock_file=False)
    assert load_tool("alice/adder", True, revision=v1.commit_sha, **kwargs)(a=1, b=1) == 20
    assert load_tool("alice/adder", True, revision="v1", **kwargs)(a=1, b=1) == 20
    assert load_tool("alice/adder", True, **kwargs)(a=1, b=1) == 3
    hf_api.create_branch("alice/adder", branch="stable", revision=v1.commit_sha,
                         repo_type="space")
    assert load_tool("alice/adder", True, revision="stable", **kwargs)(a=1, b=1) == 20


def test_unpinned_load_reports_resolved_sha(hf_api, hub_kwargs, caplog):
    result = push_tool(sample_tools.add, "alice/add-tool", api=hf_api)
    with caplog.at_level(logging.INFO, logger="hub_tools"):
        tool = load_tool("alice/add-tool", trust_remote_code=True, **hub_kwargs)
    assert tool.hub_origin.commit_sha == result.commit_sha
    assert any(result.commit_sha in r.getMessage() and r.levelno == logging.WARNING
               for r in caplog.records)


def test_smolagents_format_tool_loads_into_agent_core(hf_api, hub_kwargs):
    upload_tool_py(hf_api, "tools-org/sqrt", sample_tools.SMOLAGENTS_FORMAT)
    tool = load_tool("tools-org/sqrt", trust_remote_code=True, precision=2, **hub_kwargs)
    assert isinstance(tool, agent_core.Tool)
    assert type(tool).__name__ == "SquareRootTool"
    assert tool(x=2.0) == 1.41


def test_smolagents_push_format_of_a_function_tool_loads(hf_api, hub_kwargs):
    upload_tool_py(hf_api, "tools-org/weather", sample_tools.SMOLAGENTS_SIMPLE_TOOL)
    tool = load_tool("tools-org/weather", trust_remote_code=True, **hub_kwargs)
    assert tool.name == "get_weather" and tool(city="Oslo") == "sunny in Oslo (c)"


def test_class_is_the_one_defined_in_tool_py(hf_api, hub_kwargs):
    upload_tool_py(hf_api, "alice/echo", sample_tools.IMPORTS_ANOTHER_TOOL)
    tool = load_tool("alice/echo", trust_remote_code=True, **hub_kwargs)
    assert type(tool).__name__ == "EchoTool" and tool(text="hi") == "hi"


def test_non_self_contained_tool_is_refused_before_any_request(hub, hf_api):
    with pytest.raises(ToolNotSelfContainedError, match="closes over 'factor'"):
        push_tool(sample_tools.make_closure_tool(), "alice/closure", api=hf_api)
    assert hub.requests == []


# --- bad input ---------------------------------------------------------------------


def test_missing_repo(hub_kwargs):
    with pytest.raises(ToolRepoNotFoundError, match="alice/nope"):
        load_tool("alice/nope", trust_remote_code=True, **hub_kwargs)


def test_missing_revision(hf_api, hub_kwargs):
    push_tool(sample_tools.add, "alice/add-tool", api=hf_api)
    with pytest.raises(ToolRevisionNotFoundError) as info:
        load_tool("alice/add-tool", trust_remote_code=True, revision="v9", **hub_kwargs)
    assert "'v9'" in str(info.value) and "alice/add-tool" in str(info.value)
    with pytest.raises(ToolRevisionNotFoundError):
        load_tool("alice/add-tool", trust_remote_code=True, revision="f" * 40, **hub_kwargs)


def test_space_without_tool_py(hf_api, hub_kwargs):
    hf_api.create_repo("alice/just-an-app", repo_type="space", space_sdk="gradio")
    with pytest.raises(ToolFileNotFoundError, match="has no tool.py") as info:
        load_tool("alice/just-an-app", trust_remote_code=True, **hub_kwargs)
    assert "README.md" in str(info.value)


def test_tool_py_without_tool_class(hf_api, hub_kwargs):
    upload_tool_py(hf_api, "alice/no-class", sample_tools.NO_TOOL_CLASS)
    with pytest.raises(ToolClassNotFoundError, match="defines no subclass of Tool"):
        load_tool("alice/no-class", trust_remote_code=True, **hub_kwargs)


def test_tool_py_with_two_tool_classes(hf_api, hub_kwargs):
    upload_tool_py(hf_api, "alice/two", sample_tools.TWO_TOOL_CLASSES)
    with pytest.raises(AmbiguousToolClassError) as info:
        load_tool("alice/two", trust_remote_code=True, **hub_kwargs)
    assert info.value.names == ["OneTool", "TwoTool"] and "exactly one" in str(info.value)


def test_push_errors_are_typed_and_never_show_the_token(hub, hf_api):
    with pytest.raises(HubRequestError) as info:
        push_tool(sample_tools.add, "bob/not-alices", api=hf_api)
    assert info.value.status == 403 and TOKEN not in str(info.value)
    hub.fail_next_commits(1, status=500)
    with pytest.raises(HubRequestError) as info:
        push_tool(sample_tools.add, "alice/flaky", api=hf_api)
    assert info.value.status == 500 and isinstance(info.value, OSError)
    assert push_tool(sample_tools.add, "alice/flaky", api=hf_api).created_commit


def test_lock_file_records_first_trusted_load(hf_api, hub_kwargs, tmp_path):
    result = push_tool(sample_tools.add, "alice/add-tool", api=hf_api)
    load_tool("alice/add-tool", trust_remote_code=True, **hub_kwargs)
    data = json.loads((tmp_path / "tools.lock.json").read_text())
    entry = data["tools"]["alice/add-tool"]
    code = hf_api.hf_hub_download("alice/add-tool", "tool.py", repo_type="space",
                                  revision=result.commit_sha, cache_dir=str(tmp_path / "c2"))
    assert entry["commit_sha"] == result.commit_sha
    assert entry["sha256"] == hashlib.sha256(open(code, "rb").read()).hexdigest()
