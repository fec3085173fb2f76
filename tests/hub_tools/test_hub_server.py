"""The Hub-protocol test server itself, driven by the real client (other suites use it for
run logs in dataset repos and for deploying Spaces)."""

from __future__ import annotations

import json
import os
import textwrap

import pytest
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from tests.hub_server import HubServer, git_blob_oid
from tests.hub_tools._helpers import BOB_TOKEN, TOKEN, run_python, subprocess_env


def test_git_object_ids_match_git():
    assert git_blob_oid(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"
    assert git_blob_oid(b"") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"


def test_branches_tags_history_tree_and_paths(hf_api, tmp_path):
    hf_api.create_repo("alice/model")
    files = {"a.txt": b"a", "dir/b.txt": b"b", "dir/sub/c.txt": b"c", "z.txt": b"z"}
    first = hf_api.create_commit("alice/model", [CommitOperationAdd(p, d) for p, d in files.items()],
                                 commit_message="add files")
    hf_api.create_branch("alice/model", branch="dev")
    second = hf_api.create_commit("alice/model", [CommitOperationDelete("z.txt")],
                                  commit_message="drop z", revision="dev")
    hf_api.create_tag("alice/model", tag="v1", revision=first.oid)
    refs = hf_api.list_repo_refs("alice/model")
    assert {b.name: b.target_commit for b in refs.branches} == {"main": first.oid,
                                                                 "dev": second.oid}
    assert [t.target_commit for t in refs.tags] == [first.oid]
    titles = [c.title for c in hf_api.list_repo_commits("alice/model", revision="dev")]
    assert titles == ["drop z", "add files", "initial commit"]
    paths = {f.path for f in hf_api.list_repo_tree("alice/model", recursive=True, revision="v1")}
    assert paths == {".gitattributes", "a.txt", "dir", "dir/b.txt", "dir/sub", "dir/sub/c.txt",
                     "z.txt"}
    top = {f.path for f in hf_api.list_repo_tree("alice/model", revision="dev")}
    assert top == {".gitattributes", "a.txt", "dir"}
    info = hf_api.get_paths_info("alice/model", ["a.txt", "dir", "missing"], revision="dev")
    assert [type(i).__name__ for i in info] == ["RepoFile", "RepoFolder"]
    path = hf_api.hf_hub_download("alice/model", "dir/sub/c.txt", revision="v1",
                                  cache_dir=str(tmp_path))
    assert open(path).read() == "c"


def test_tree_listing_is_paginated():
    with HubServer(users={TOKEN: "alice"}, page_size=2) as hub:
        api = HfApi(endpoint=hub.url, token=TOKEN)
        api.create_repo("alice/many", repo_type="dataset")
        api.create_commit("alice/many", [CommitOperationAdd(f"f{i}.txt", b"x") for i in range(5)],
                          commit_message="five", repo_type="dataset")
        listed = [f.path for f in api.list_repo_tree("alice/many", repo_type="dataset")]
        assert len(listed) == 6  # five files and .gitattributes, over three pages
        assert sum(r.route.startswith("GET /api/{type}s/{repo_id}/tree") for r in hub.requests) == 3


def test_lfs_files_go_through_the_batch_api(hub, hf_api, tmp_path):
    data = os.urandom(50_000)
    hf_api.create_repo("alice/weights")
    hf_api.upload_file(path_or_fileobj=data, path_in_repo="model.bin", repo_id="alice/weights")
    routes = hub.routes()
    assert "POST /{prefix}{repo_id}.git/info/lfs/objects/batch" in routes
    assert "PUT /_lfs/{oid}" in routes
    (entry,) = [f for f in hf_api.list_repo_tree("alice/weights") if f.path == "model.bin"]
    assert entry.lfs is not None and entry.lfs.size == len(data)
    path = hf_api.hf_hub_download("alice/weights", "model.bin", cache_dir=str(tmp_path))
    assert open(path, "rb").read() == data


def test_private_repos_are_invisible_to_others(hub, hf_api):
    hf_api.create_repo("alice/secret-data", repo_type="dataset", private=True)
    assert hf_api.dataset_info("alice/secret-data").private
    for token in (BOB_TOKEN, False):
        with pytest.raises(RepositoryNotFoundError):
            HfApi(endpoint=hub.url, token=token).dataset_info("alice/secret-data")


def test_injected_failures_and_recorded_requests(hub, hf_api):
    hf_api.create_repo("alice/flaky")
    rule = hub.fail(r"/preupload/", status=503, times=1)  # the client retries preupload
    hf_api.upload_file(path_or_fileobj=b"ok", path_in_repo="f.txt", repo_id="alice/flaky")
    pre = [r for r in hub.requests if "preupload" in r.route]
    assert [(r.status, r.injected) for r in pre] == [(503, True), (200, False)]
    assert rule.hits == 1
    hub.fail_next_commits(2, status=500)
    for _ in range(2):
        with pytest.raises(HfHubHTTPError):
            hf_api.upload_file(path_or_fileobj=b"x", path_in_repo="g.txt", repo_id="alice/flaky")
    hf_api.upload_file(path_or_fileobj=b"x", path_in_repo="g.txt", repo_id="alice/flaky")
    assert hub.read_file("alice/flaky", "g.txt") == b"x"


def test_parent_commit_guards_concurrent_writes(hf_api):
    hf_api.create_repo("alice/race")
    head = hf_api.model_info("alice/race").sha
    hf_api.upload_file(path_or_fileobj=b"1", path_in_repo="a.txt", repo_id="alice/race")
    with pytest.raises(HfHubHTTPError) as info:
        hf_api.create_commit("alice/race", [CommitOperationAdd("b.txt", b"2")],
                             commit_message="stale", parent_commit=head)
    assert info.value.response.status_code == 412


def test_space_runtime_secrets_and_variables(hub, hf_api):
    hf_api.create_repo("alice/app", repo_type="space", space_sdk="gradio")
    assert hf_api.get_space_runtime("alice/app").stage == "NO_APP_FILE"
    hf_api.upload_file(path_or_fileobj=b"print(1)", path_in_repo="app.py", repo_id="alice/app",
                       repo_type="space")
    hf_api.add_space_secret("alice/app", "HF_TOKEN", "hf_secretvalue_abcdefghijklmnop")
    hf_api.add_space_variable("alice/app", "AGENT_MODEL", "local")
    assert hub.space_secrets("alice/app") == {"HF_TOKEN": "hf_secretvalue_abcdefghijklmnop"}
    assert hf_api.get_space_variables("alice/app")["AGENT_MODEL"].value == "local"
    assert all("hf_secretvalue" not in json.dumps(r.path) for r in hub.requests)
    hub.set_space_host("alice/app", "http://127.0.0.1:9/")
    info = hf_api.space_info("alice/app")
    assert info.host == "http://127.0.0.1:9" and info.runtime.stage == "RUNNING"


def test_commit_scheduler_and_load_dataset_through_hf_endpoint(hub, tmp_path):
    code = textwrap.dedent(f"""
        import json, pathlib
        from huggingface_hub import CommitScheduler, HfApi
        import datasets
        folder = pathlib.Path({str(tmp_path / "runs")!r})
        (folder / "runs").mkdir(parents=True)
        scheduler = CommitScheduler(repo_id="alice/run-logs", repo_type="dataset",
                                    folder_path=folder, every=60, hf_api=HfApi())
        with scheduler.lock:
            with open(folder / "runs" / "a.jsonl", "a") as fh:
                for i in range(3):
                    fh.write(json.dumps({{"run_id": i, "status": "success"}}) + "\\n")
        scheduler.push_to_hub()
        scheduler.stop()
        ds = datasets.load_dataset("alice/run-logs", split="train")
        print(json.dumps(sorted(ds["run_id"])))
    """)
    proc = run_python(code, subprocess_env(hub, tmp_path / "home"), tmp_path, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == "[0, 1, 2]"
    assert hub.list_files("alice/run-logs", repo_type="dataset") == [".gitattributes",
                                                                     "runs/a.jsonl"]


def test_a_given_root_keeps_repos_across_restarts(tmp_path):
    root = tmp_path / "hub-root"
    with HubServer(users={TOKEN: "alice"}, root=root) as hub:
        api = HfApi(endpoint=hub.url, token=TOKEN)
        api.create_repo("alice/kept", repo_type="dataset")
        sha = api.upload_file(path_or_fileobj=b"data", path_in_repo="d.txt",
                              repo_id="alice/kept", repo_type="dataset").oid
        api.create_tag("alice/kept", tag="v1", repo_type="dataset")
    with HubServer(users={TOKEN: "alice"}, root=root) as hub:
        api = HfApi(endpoint=hub.url, token=TOKEN)
        assert api.dataset_info("alice/kept", revision="v1").sha == sha
        assert hub.read_file("alice/kept", "d.txt", repo_type="dataset") == b"data"
