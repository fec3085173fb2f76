"""The tagged-JSON codec that carries values across the sandbox boundary."""

from __future__ import annotations

import datetime
import decimal
import fractions

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from agent_core.executors import _codec


@pytest.mark.parametrize("value", [
    None, True, 3, 2**80, 1.5, "text", [1, [2]], (1, "a"), {"a": 1}, {1: "int key"},
    {"__ac__": "looks like a tag"}, {1, 2}, frozenset({3}), b"\x00bytes", 1 + 2j,
    decimal.Decimal("1.10"), fractions.Fraction(1, 3), datetime.date(2024, 5, 1),
    datetime.datetime(2024, 5, 1, 12, 30), datetime.timedelta(seconds=90),
])
def test_round_trip(value):
    assert _codec.loads(_codec.dumps(value)) == value


def test_numpy_pandas_and_images_round_trip():
    array = np.arange(6, dtype="int16").reshape(2, 3)
    assert (_codec.loads(_codec.dumps(array)) == array).all()
    assert _codec.loads(_codec.dumps(np.float32(1.5))) == 1.5
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    assert _codec.loads(_codec.dumps(frame)).equals(frame)
    image = Image.new("RGB", (2, 2), "blue")
    back = _codec.loads(_codec.dumps(image))
    assert back.size == (2, 2) and back.getpixel((0, 0)) == (0, 0, 255)


def test_unknown_objects_arrive_as_their_repr():
    class Thing:
        def __repr__(self):
            return "<thing>"
    back = _codec.loads(_codec.dumps(Thing()))
    assert back == "<thing>" and back.type_name == "Thing"


def test_pickle_is_refused_unless_trusted():
    data = _codec.dumps(fractions, allow_pickle=True)  # a module cannot be pickled: repr
    assert "module" in _codec.loads(data)
    payload = _codec.dumps(decimal.Context(prec=5), allow_pickle=True)
    assert '"pickle"' in payload
    with pytest.raises(ValueError, match="unpickle"):
        _codec.loads(payload)
    assert _codec.loads(payload, allow_pickle=True).prec == 5


def test_object_arrays_are_refused_from_raw_buffers():
    forged = {"__ac__": "ndarray", "dtype": "|O", "shape": [1], "b64": "AAAAAAAAAAA="}
    with pytest.raises(ValueError, match="refusing"):
        _codec.decode(forged)


def test_agent_types_cross_as_media_not_as_text():
    import numpy as np
    from PIL import Image

    from agent_core.agent_types import AgentAudio, AgentImage, AgentText
    from agent_core.executors import _codec

    image = _codec.loads(_codec.dumps(AgentImage(Image.new("RGB", (5, 3), "red"))))
    assert isinstance(image, Image.Image) and image.size == (5, 3)
    tone = np.sin(np.linspace(0, 100, 1600)).astype("float32")
    audio = _codec.loads(_codec.dumps(AgentAudio(tone, samplerate=16000)))
    assert isinstance(audio, AgentAudio) and audio.samplerate == 16000
    assert abs(audio.duration_s - 0.1) < 0.01
    assert _codec.loads(_codec.dumps(AgentText("hi"))) == "hi"
