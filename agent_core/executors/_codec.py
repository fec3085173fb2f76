"""Values as tagged JSON: how outputs and tool arguments cross a process boundary.

Never pickle from the sandboxed side: whatever the worker (or an E2B sandbox) sends
is decoded by building plain values, PIL images from PNG bytes, numpy arrays from
raw numeric buffers and pandas objects from JSON. Anything else arrives as its
``repr`` string. Pickle is accepted only in the trusted direction (host to worker),
for values sent with ``send_variables`` or returned by tools that JSON cannot carry.

This module imports only the standard library at top level, so that its source can
be sent as-is to a remote sandbox (see ``e2b.py``).
"""

from __future__ import annotations

import base64
import datetime as _dt
import decimal
import fractions
import io
import json
import sys
from typing import Any

__all__ = ["encode", "decode", "dumps", "loads", "RemoteRepr"]

TAG = "__ac__"
_MAX_DEPTH = 64
_REPR_LIMIT = 10_000
_NUMERIC_KINDS = set("biufcmM")


class RemoteRepr(str):
    """The ``repr`` of a value that could not be sent as data (a str subclass)."""

    type_name: str = ""


def dumps(value: Any, allow_pickle: bool = False) -> str:
    """Encode then serialise ``value`` to a JSON string."""
    return json.dumps(encode(value, allow_pickle=allow_pickle), separators=(",", ":"),
                      ensure_ascii=False)


def loads(text: str | bytes, allow_pickle: bool = False) -> Any:
    """Parse a JSON string made by :func:`dumps` and decode it."""
    return decode(json.loads(text), allow_pickle=allow_pickle)


def encode(value: Any, allow_pickle: bool = False, _depth: int = 0) -> Any:
    """A JSON-able, tagged form of ``value``."""
    if value is None or type(value) in (bool, str):
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if _depth > _MAX_DEPTH:
        return _as_repr(value)
    encoded = _encode_container(value, allow_pickle, _depth + 1)
    if encoded is not None:
        return encoded
    encoded = _encode_known(value)
    if encoded is not None:
        return encoded
    if allow_pickle:
        try:
            import pickle

            return {TAG: "pickle", "b64": base64.b64encode(pickle.dumps(value)).decode()}
        except Exception:  # noqa: BLE001 - unpicklable: fall back to repr
            pass
    return _as_repr(value)


def _encode_container(value: Any, allow_pickle: bool, depth: int) -> Any:
    def enc(item: Any) -> Any:
        return encode(item, allow_pickle, depth)

    if isinstance(value, list):
        return [enc(v) for v in value]
    if isinstance(value, tuple):
        return {TAG: "tuple", "items": [enc(v) for v in value]}
    if isinstance(value, (set, frozenset)):
        kind = "frozenset" if isinstance(value, frozenset) else "set"
        return {TAG: kind, "items": [enc(v) for v in value]}
    if isinstance(value, dict):
        if all(type(k) is str for k in value) and TAG not in value:
            return {k: enc(v) for k, v in value.items()}
        return {TAG: "dict", "items": [[enc(k), enc(v)] for k, v in value.items()]}
    return None


def _encode_known(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return {TAG: "bytes", "b64": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, complex):
        return {TAG: "complex", "re": value.real, "im": value.imag}
    if isinstance(value, decimal.Decimal):
        return {TAG: "decimal", "v": str(value)}
    if isinstance(value, fractions.Fraction):
        return {TAG: "fraction", "v": str(value)}
    if isinstance(value, _dt.datetime):
        return {TAG: "datetime", "v": value.isoformat()}
    if isinstance(value, _dt.date):
        return {TAG: "date", "v": value.isoformat()}
    if isinstance(value, _dt.time):
        return {TAG: "time", "v": value.isoformat()}
    if isinstance(value, _dt.timedelta):
        return {TAG: "timedelta", "v": value.total_seconds()}
    # Third-party types, only if their package is already loaded (never import it).
    media = _encode_agent_type(value)
    if media is not None:
        return media
    pil = sys.modules.get("PIL.Image")
    if pil is not None and isinstance(value, pil.Image):
        buffer = io.BytesIO()
        value.save(buffer, format="PNG")
        return {TAG: "image", "png": base64.b64encode(buffer.getvalue()).decode()}
    np = sys.modules.get("numpy")
    if np is not None:
        if isinstance(value, np.ndarray):
            return _encode_array(value, np)
        if isinstance(value, np.generic):
            return encode(value.item())
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(value, (pd.DataFrame, pd.Series)):
        kind = "dataframe" if isinstance(value, pd.DataFrame) else "series"
        try:
            return {TAG: kind, "json": value.to_json(orient="split", date_format="iso")}
        except Exception:  # noqa: BLE001 - odd dtypes: repr below
            return None
    return None


def _encode_agent_type(value: Any) -> Any:
    """Agent types (what tools return) cross as media, not as their repr."""
    types = sys.modules.get("agent_core.agent_types")
    if types is None:
        return None
    if isinstance(value, types.AgentImage):
        return encode(value.to_raw())
    if isinstance(value, types.AgentAudio):
        return {TAG: "audio", "wav": base64.b64encode(value.wav_bytes()).decode()}
    if isinstance(value, types.AgentText):
        return str(value)
    return None


def _decode_audio(b64: str) -> Any:
    from agent_core.agent_types import AgentAudio

    return AgentAudio(base64.b64decode(b64))


def _encode_array(array: Any, np: Any) -> Any:
    if array.dtype.kind in _NUMERIC_KINDS and not array.dtype.fields:
        data = np.ascontiguousarray(array)
        return {TAG: "ndarray", "dtype": data.dtype.str, "shape": list(data.shape),
                "b64": base64.b64encode(data.tobytes()).decode()}
    return {TAG: "ndarray_list", "items": encode(array.tolist())}


def _as_repr(value: Any) -> Any:
    try:
        text = repr(value)
    except Exception as err:  # noqa: BLE001 - a broken __repr__ must not break the step
        text = f"<unrepresentable {type(value).__name__}: {err}>"
    if len(text) > _REPR_LIMIT:
        text = text[:_REPR_LIMIT] + "...[truncated]"
    return {TAG: "repr", "type": type(value).__name__, "text": text}


def decode(obj: Any, allow_pickle: bool = False) -> Any:
    """Rebuild a value from :func:`encode`'s output."""
    if isinstance(obj, list):
        return [decode(v, allow_pickle) for v in obj]
    if not isinstance(obj, dict):
        return obj
    tag = obj.get(TAG)
    if tag is None:
        return {k: decode(v, allow_pickle) for k, v in obj.items()}
    items = obj.get("items")
    if tag in ("tuple", "set", "frozenset"):
        values = [decode(v, allow_pickle) for v in items]
        return {"tuple": tuple, "set": set, "frozenset": frozenset}[tag](values)
    if tag == "dict":
        return {decode(k, allow_pickle): decode(v, allow_pickle) for k, v in items}
    return _decode_leaf(tag, obj, allow_pickle)


def _decode_leaf(tag: str, obj: dict, allow_pickle: bool) -> Any:
    simple = {
        "bytes": lambda: base64.b64decode(obj["b64"]),
        "complex": lambda: complex(obj["re"], obj["im"]),
        "decimal": lambda: decimal.Decimal(obj["v"]),
        "fraction": lambda: fractions.Fraction(obj["v"]),
        "datetime": lambda: _dt.datetime.fromisoformat(obj["v"]),
        "date": lambda: _dt.date.fromisoformat(obj["v"]),
        "time": lambda: _dt.time.fromisoformat(obj["v"]),
        "timedelta": lambda: _dt.timedelta(seconds=obj["v"]),
        "image": lambda: _decode_image(obj["png"]),
        "audio": lambda: _decode_audio(obj["wav"]),
        "ndarray": lambda: _decode_array(obj),
        "ndarray_list": lambda: __import__("numpy").array(decode(obj["items"])),
        "dataframe": lambda: _decode_pandas(obj["json"], "frame"),
        "series": lambda: _decode_pandas(obj["json"], "series"),
    }
    if tag in simple:
        return simple[tag]()
    if tag == "pickle":
        if not allow_pickle:
            raise ValueError("refusing to unpickle data from the sandboxed side")
        import pickle

        return pickle.loads(base64.b64decode(obj["b64"]))  # noqa: S301 - trusted direction
    if tag == "repr":
        text = RemoteRepr(obj.get("text", ""))
        text.type_name = str(obj.get("type", ""))
        return text
    raise ValueError(f"unknown value tag {tag!r}")


def _decode_image(b64: str) -> Any:
    from PIL import Image

    image = Image.open(io.BytesIO(base64.b64decode(b64)), formats=["PNG"])
    image.load()
    return image


def _decode_array(obj: dict) -> Any:
    import numpy as np

    dtype = np.dtype(obj["dtype"])
    if dtype.kind not in _NUMERIC_KINDS or dtype.fields:
        raise ValueError(f"refusing array dtype {dtype!r}")
    shape = tuple(int(n) for n in obj["shape"])
    return np.frombuffer(base64.b64decode(obj["b64"]), dtype=dtype).reshape(shape).copy()


def _decode_pandas(text: str, typ: str) -> Any:
    import pandas as pd

    return pd.read_json(io.StringIO(text), orient="split", typ=typ)
