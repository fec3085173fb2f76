"""Fixtures of the hub_tools tests: a Hub-protocol server on 127.0.0.1 and a real client.

huggingface_hub reads its endpoint at import, so the tests pass ``endpoint=`` to
``HfApi`` (and set ``HF_ENDPOINT`` in the environment of the subprocesses they start).
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_DISABLE_XET", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from tests.hub_server import HubServer  # noqa: E402
from tests.hub_tools._helpers import BOB_TOKEN, TOKEN, USER  # noqa: E402


@pytest.fixture
def hub():
    """A fresh Hub-protocol server (user ``alice``, org ``tools-org``), stopped after."""
    server = HubServer(users={TOKEN: USER, BOB_TOKEN: "bob"},
                       orgs={USER: ["tools-org"]})
    with server:
        yield server


@pytest.fixture
def hf_api(hub, monkeypatch):
    """The real huggingface_hub client, pointed at ``hub`` with alice's token."""
    import huggingface_hub.constants as constants
    from huggingface_hub import HfApi

    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    return HfApi(endpoint=hub.url, token=TOKEN)


@pytest.fixture(autouse=True)
def _isolated_lock_and_cache(tmp_path, monkeypatch):
    """Never touch ./tools.lock.json or the user's Hub cache."""
    monkeypatch.setenv("AGENT_TOOLS_LOCK", str(tmp_path / "tools.lock.json"))


@pytest.fixture
def hub_kwargs(hf_api, tmp_path):
    """What load_tool needs to use the test server, a private cache and lock file."""
    return {"api": hf_api, "cache_dir": str(tmp_path / "hf-cache"),
            "lock_file": str(tmp_path / "tools.lock.json")}
