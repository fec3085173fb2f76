"""Agent types: raw and text forms, console display, run-log serialisation, UI helpers."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from agent_core.agent_types import (AgentAudio, AgentImage, AgentText, AgentType,
                                    handle_agent_input_types, handle_agent_output_types,
                                    media_kind, media_path, to_serialisable)
from agent_core.memory import render_value

from .conftest import Route


def red_image(w=6, h=4):
    return Image.new("RGB", (w, h), (255, 0, 0))


def tone(seconds=0.5, rate=16_000):
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def test_agent_text_is_a_str():
    text = AgentText("hello")
    assert isinstance(text, str) and isinstance(text, AgentType)
    assert text == "hello" and text.upper() == "HELLO"
    assert text.to_raw() == "hello" and text.to_string() == "hello" and str(text) == "hello"
    assert type(text.to_raw()) is str


def test_agent_image_from_pil_saves_a_png_once():
    image = AgentImage(red_image())
    assert image.to_raw().size == (6, 4)
    path = image.to_string()
    assert path.endswith(".png") and image.to_string() == path
    reloaded = Image.open(path)
    assert reloaded.format == "PNG" and reloaded.getpixel((0, 0)) == (255, 0, 0)
    assert image._repr_png_().startswith(b"\x89PNG")
    assert image.size == (6, 4) and image.mode == "RGB"  # falls through to PIL


def test_agent_image_from_path_bytes_and_arrays(tmp_path):
    path = tmp_path / "in.jpg"
    red_image().save(path)
    from_path = AgentImage(str(path))
    assert from_path.to_string() == str(path)  # no copy of an existing file
    assert from_path.to_raw().size == (6, 4)
    png = io.BytesIO()
    red_image().save(png, format="PNG")
    assert AgentImage(png.getvalue()).to_raw().getpixel((1, 1)) == (255, 0, 0)
    arr = np.zeros((4, 6, 3), np.uint8)
    arr[..., 1] = 255
    assert AgentImage(arr).to_raw().getpixel((0, 0)) == (0, 255, 0)
    floats = np.ones((4, 6), np.float32)  # 0..1 floats become 0..255
    assert AgentImage(floats).to_raw().getpixel((0, 0)) == 255
    torch = pytest.importorskip("torch")
    chw = torch.zeros(3, 4, 6)
    chw[2] = 1.0
    assert AgentImage(chw).to_raw().getpixel((0, 0)) == (0, 0, 255)


def test_agent_image_from_a_url(server):
    png = io.BytesIO()
    red_image(3, 2).save(png, format="PNG")
    server.routes["/img.png"] = Route(png.getvalue(), content_type="image/png")
    image = AgentImage(server.url("/img.png"))
    assert image.to_raw().size == (3, 2) and Path(image.to_string()).is_file()


def test_agent_image_rejects_what_is_not_an_image(tmp_path):
    with pytest.raises(FileNotFoundError, match="no image file"):
        AgentImage(str(tmp_path / "missing.png"))
    with pytest.raises(TypeError, match="AgentImage takes"):
        AgentImage(3.5)


def test_agent_audio_from_samples_writes_a_wav_that_reads_back():
    samples = tone()
    audio = AgentAudio(samples, samplerate=16_000)
    assert audio.samplerate == 16_000 and audio.duration_s == pytest.approx(0.5)
    path = audio.to_string()
    assert path.endswith(".wav") and Path(path).read_bytes()[:4] == b"RIFF"
    back = AgentAudio(path)
    assert back.samplerate == 16_000
    np.testing.assert_allclose(back.to_raw(), samples, atol=1e-3)


def test_agent_audio_from_gradio_tuples_tensors_and_urls(server):
    samples = tone(0.25, 8000)
    gradio = AgentAudio((8000, (samples * 32767).astype(np.int16)))
    assert gradio.samplerate == 8000 and gradio.to_raw().shape == (2000,)
    torch = pytest.importorskip("torch")
    assert AgentAudio(torch.from_numpy(samples), samplerate=8000).duration_s == pytest.approx(0.25)
    wav = AgentAudio(samples, samplerate=8000).wav_bytes()
    server.routes["/a.wav"] = Route(wav, content_type="audio/wav")
    remote = AgentAudio(server.url("/a.wav"))
    assert remote.samplerate == 8000
    np.testing.assert_allclose(remote.to_raw(), samples, atol=1e-3)


def test_agent_audio_stereo_and_flac(tmp_path):
    av = pytest.importorskip("av")
    samples = tone(0.2, 16_000)
    stereo = np.stack([samples, samples], axis=1)
    audio = AgentAudio(stereo, samplerate=16_000)
    assert AgentAudio(audio.to_string()).to_raw().shape == (3200, 2)
    path = tmp_path / "tone.flac"  # a non-WAV file goes through PyAV
    with av.open(str(path), "w") as out:
        stream = out.add_stream("flac", rate=16_000, layout="mono")
        frame = av.AudioFrame.from_ndarray((samples * 32767).astype(np.int16)[None, :],
                                           format="s16", layout="mono")
        frame.sample_rate = 16_000
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    flac = AgentAudio(str(path))
    assert flac.samplerate == 16_000 and flac.to_raw().shape[0] == pytest.approx(3200, abs=10)


def test_output_types_are_wrapped_by_declared_or_inferred_type():
    assert isinstance(handle_agent_output_types("x", "string"), AgentText)
    assert isinstance(handle_agent_output_types(5, "string"), AgentText)
    assert isinstance(handle_agent_output_types(red_image(), "image"), AgentImage)
    assert isinstance(handle_agent_output_types(tone(), "audio"), AgentAudio)
    assert isinstance(handle_agent_output_types("y"), AgentText)
    assert isinstance(handle_agent_output_types(red_image()), AgentImage)
    assert handle_agent_output_types(42) == 42 and handle_agent_output_types(None, "image") is None
    image = AgentImage(red_image())
    assert handle_agent_output_types(image, "image") is image
    args, kwargs = handle_agent_input_types(AgentText("a"), x=image, y=3)
    assert type(args[0]) is str and kwargs["x"] is image.to_raw() and kwargs["y"] == 3


def test_run_log_gets_text_or_a_file_reference(tmp_path):
    assert to_serialisable(AgentText("hi"), tmp_path) == "hi"
    assert to_serialisable(42, tmp_path) == "42"
    assert json.loads(to_serialisable({"a": [1, 2]}, tmp_path)) == {"a": [1, 2]}
    ref = to_serialisable(AgentImage(red_image()), tmp_path)
    assert ref["type"] == "image" and ref["mime_type"] == "image/png"
    assert (ref["width"], ref["height"]) == (6, 4)
    data = (tmp_path / ref["path"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == ref["sha256"] and len(data) == ref["size_bytes"]
    assert to_serialisable(red_image(), tmp_path) == ref  # same content, same file
    audio_ref = to_serialisable(AgentAudio(tone(), samplerate=16_000), tmp_path)
    assert audio_ref["type"] == "audio" and audio_ref["sample_rate"] == 16_000
    assert audio_ref["duration_s"] == 0.5 and (tmp_path / audio_ref["path"]).is_file()
    json.dumps([ref, audio_ref])  # the references are JSON
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([ref["path"], audio_ref["path"]])


def test_ui_helpers_give_kind_and_path():
    image, audio = AgentImage(red_image()), AgentAudio(tone(), samplerate=16_000)
    assert media_kind(image) == "image" and media_kind(red_image()) == "image"
    assert media_kind(audio) == "audio" and media_kind("text") is None
    assert Path(media_path(image)).suffix == ".png" and Path(media_path(red_image())).is_file()
    assert media_path(audio).endswith(".wav") and media_path(3) is None


def test_console_shows_a_short_form():
    from rich.console import Console

    console = Console(record=True, width=100)
    console.print(AgentImage(red_image()), AgentAudio(tone(), samplerate=16_000),
                  AgentText("[bold]not markup[/bold]"))
    text = console.export_text()
    assert "AgentImage(6x4 RGB)" in text and "AgentAudio(0.50 s, 16000 Hz)" in text
    assert "[bold]not markup[/bold]" in text
    # what the console printer and observations show: the file path
    assert render_value(AgentImage(red_image())).endswith(".png")
