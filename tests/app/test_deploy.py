"""``python -m hub_tools.deploy`` against the Hub-protocol test server on 127.0.0.1."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hub_tools.deploy import main, space_files, space_readme

hub_server = pytest.importorskip("tests.hub_server")
ROOT = Path(__file__).resolve().parents[2]
SECRET = "hf_deploysecretvalue0123456789"


@pytest.fixture()
def hub(monkeypatch):
    with hub_server.HubServer() as server:
        for key, value in server.env().items():
            monkeypatch.setenv(key, value)
        import huggingface_hub.constants as constants

        # The endpoint is read at import: point the already-imported client at the server.
        monkeypatch.setattr(constants, "ENDPOINT", server.url)
        monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE",
                            server.url + "/{repo_id}/resolve/{revision}/{filename}")
        yield server


def test_deploy_creates_a_gradio_space_with_the_app_variables_and_secrets(hub, capsys,
                                                                          monkeypatch):
    space = f"{hub.user}/my-agent"
    monkeypatch.setenv("MY_SECRET", SECRET)
    code = main([space, "--private", "--var", "AGENT_MODEL=hf:Qwen/Qwen2.5-Coder-32B-Instruct",
                 "--var", "AGENT_EXECUTOR=sandbox", "--secret", "HF_TOKEN=" + SECRET,
                 "--secret", "MY_SECRET", "--token", hub.token])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert SECRET not in out.out + out.err
    repo = hub.repo(space, "space")
    assert repo.sdk == "gradio" and repo.private
    files = set(hub.list_files(space, repo_type="space"))
    assert {"app.py", "requirements.txt", "README.md", "agent_core/__init__.py",
            "agent_core/ui/gradio_ui.py", "hub_tools/deploy.py"} <= files
    assert not any("__pycache__" in f or f.endswith(".pyc") for f in files)
    assert hub.read_file(space, "app.py", repo_type="space") == (ROOT / "app.py").read_bytes()
    readme = hub.read_file(space, "README.md", repo_type="space").decode()
    assert readme.startswith("---\n") and "sdk: gradio" in readme and "app_file: app.py" in readme
    assert repo.variables["AGENT_MODEL"]["value"] == "hf:Qwen/Qwen2.5-Coder-32B-Instruct"
    assert set(repo.secrets) == {"HF_TOKEN", "MY_SECRET"} and repo.secrets["MY_SECRET"] == SECRET
    routes = hub.routes()
    assert routes[0] == "POST /api/repos/create" and "POST /api/validate-yaml" in routes


def test_redeploy_removes_stale_package_files(hub, tmp_path):
    from huggingface_hub import HfApi

    from hub_tools.deploy import deploy

    root = tmp_path / "project"
    root.mkdir()
    for name in ("app.py", "requirements.txt"):
        shutil.copy(ROOT / name, root / name)
    for package in ("agent_core", "hub_tools"):
        (root / package).mkdir()
        (root / package / "__init__.py").write_text("")
    (root / "agent_core" / "old.py").write_text("x = 1\n")
    api = HfApi(endpoint=hub.url, token=hub.token)
    space = f"{hub.user}/redeploy"
    first = deploy(space, api=api, root=root, title="Mine")
    assert "agent_core/old.py" in first.files and first.deleted == []
    (root / "agent_core" / "old.py").unlink()
    second = deploy(space, api=api, root=root)
    assert second.deleted == ["agent_core/old.py"]
    assert "agent_core/old.py" not in hub.list_files(space, repo_type="space")
    readme = hub.read_file(space, "README.md", repo_type="space").decode()
    assert "sdk: gradio" in readme  # made for a project without a README


def test_bad_arguments_are_clear_errors(capsys):
    assert main(["not-a-space-id"]) == 2
    assert "owner/name" in capsys.readouterr().err
    assert main(["me/x", "--var", "NOVALUE"]) == 2
    assert "write NOVALUE=value" in capsys.readouterr().err
    assert main(["me/x", "--secret", "UNSET_SECRET_NAME_XYZ"]) == 2
    assert "export UNSET_SECRET_NAME_XYZ" in capsys.readouterr().err


def test_space_files_and_readme_helpers():
    files = space_files(ROOT)
    assert "app.py" in files and "agent_core/ui/app_factory.py" in files
    assert "tests/conftest.py" not in files and "Dockerfile" not in files
    assert space_readme("---\ntitle: X\nsdk: gradio\napp_file: app.py\nemoji: 🤖\ncolorFrom: red\n"
                        "colorTo: red\npinned: false\nshort_description: s\n---\n# X\n") \
        .startswith("---\ntitle: X")
    fixed = space_readme("---\ntitle: X\nsdk: docker\n---\nbody\n")
    assert "sdk: gradio" in fixed and fixed.rstrip().endswith("body")
