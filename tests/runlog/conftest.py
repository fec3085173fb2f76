"""Fixtures of the run log tests: a clean environment, a runs folder, a Hub server."""

from __future__ import annotations

import pytest

# A secret in the environment, shaped like a real token, that must never be written.
FAKE_HF_TOKEN = "hf_runlogSecretValue0123456789abcdefXYZ"


@pytest.fixture(autouse=True)
def _runlog_env(monkeypatch, tmp_path):
    """No run log config leaks in from the machine; HF_TOKEN holds a known secret."""
    for name in ("RUNS_DIR", "RUNS_DATASET", "RUNS_LOGGING", "RUNS_EVERY_MINUTES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_TOKEN", FAKE_HF_TOKEN)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))


@pytest.fixture
def runs_dir(tmp_path):
    return tmp_path / "runs"


@pytest.fixture
def hub():
    """A Hub-protocol server on 127.0.0.1 whose only user's token is FAKE_HF_TOKEN."""
    from tests.hub_server import HubServer

    with HubServer(users={FAKE_HF_TOKEN: "alice"}) as server:
        yield server


@pytest.fixture
def hf_api(hub):
    from huggingface_hub import HfApi

    return HfApi(endpoint=hub.url, token=hub.token)
