"""Agent types: text, images and audio that tools take and return.

They wrap a value so that every consumer of a run can show it: the console prints
a short text form (``str()`` / ``to_string()``), the run log stores text or a file
reference (:func:`to_serialisable`), and the Gradio app shows images and audio from
the file path :meth:`AgentType.to_string` returns (:func:`media_kind`,
:func:`media_path`).

Example:
    >>> from agent_core.agent_types import AgentText, handle_agent_output_types
    >>> answer = handle_agent_output_types("42", "string")
    >>> isinstance(answer, AgentText), answer == "42"
    (True, True)
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import numbers
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

from .tools import _media

__all__ = ["AgentType", "AgentText", "AgentImage", "AgentAudio", "AGENT_TYPE_MAPPING",
           "handle_agent_input_types", "handle_agent_output_types", "to_serialisable",
           "media_kind", "media_path"]


@functools.lru_cache(maxsize=1)
def _media_dir() -> Path:
    # One private folder per process for the files agent types write for display.
    return Path(tempfile.mkdtemp(prefix="agent_core_media_"))


def _new_media_path(suffix: str) -> Path:
    return _media_dir() / f"{uuid.uuid4().hex}{suffix}"


def _is_pil_image(value: Any) -> bool:
    # Checked by module name so that PIL is not imported for every value.
    return any(c.__module__.startswith("PIL.") and c.__name__ == "Image"
               for c in type(value).__mro__)


def _is_local_file(value: Any) -> bool:
    if isinstance(value, os.PathLike):
        return Path(value).is_file()
    return isinstance(value, str) and not _media.is_url(value) and len(value) < 4096 \
        and "\n" not in value and Path(value).is_file()


def _to_numpy(value: Any) -> Any:
    import numpy as np

    if type(value).__module__.startswith("torch"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


class AgentType:
    """Base of the agent types: a wrapped value with a raw form and a text form.

    Subclasses implement :meth:`to_raw` (the value for Python code: ``str``, a PIL
    image, a numpy array) and :meth:`to_string` (text, or the path of a file that
    holds the value). ``str()`` is ``to_string()``, which is what the console prints.
    """

    def to_raw(self) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement to_raw()")

    def to_string(self) -> str:
        raise NotImplementedError(f"{type(self).__name__} must implement to_string()")

    def __str__(self) -> str:
        return self.to_string()

    def __rich__(self) -> Any:
        # A short plain form for rich consoles: paths must not be read as markup.
        from rich.text import Text

        return Text(repr(self))


class AgentText(str, AgentType):
    """Text returned by a tool or an agent. It *is* a ``str``."""

    def to_raw(self) -> str:
        return str.__str__(self)

    def to_string(self) -> str:
        return str.__str__(self)

    def __str__(self) -> str:
        return str.__str__(self)

    def __rich__(self) -> Any:
        from rich.text import Text

        return Text(str.__str__(self))


class AgentImage(AgentType):
    """An image: wraps a PIL image, a file path or URL, encoded bytes or an array.

    ``to_raw()`` gives the PIL image, ``to_string()`` the path of a file that holds it
    (the original file, or a PNG written on first use). Attribute access falls
    through to the PIL image, so ``AgentImage(x).size`` works.

    Example:
        >>> from PIL import Image
        >>> img = AgentImage(Image.new("RGB", (4, 3)))
        >>> img.size, img.to_string().endswith(".png")
        ((4, 3), True)
    """

    def __init__(self, value: Any):
        if isinstance(value, AgentImage):
            self._raw, self._path, self._source = value._raw, value._path, value._source
            return
        self._raw: Any = None
        self._path: str | None = None
        self._source: Any = value
        if _is_pil_image(value):
            self._raw = value
        elif isinstance(value, (str, os.PathLike)):
            if not _media.is_url(str(value)) and not Path(value).is_file():
                raise FileNotFoundError(f"AgentImage: no image file at {str(value)!r}")
            self._path = None if _media.is_url(str(value)) else str(value)
        elif not isinstance(value, (bytes, bytearray)) and not hasattr(value, "__array__") \
                and not type(value).__module__.startswith("torch"):
            raise TypeError(f"AgentImage takes a PIL image, a path, a URL, bytes or an "
                            f"array; got {type(value).__name__}")

    def to_raw(self) -> Any:
        """The image as a ``PIL.Image.Image`` (loaded on first use)."""
        if self._raw is None:
            self._raw = self._load()
        return self._raw

    def _load(self) -> Any:
        from PIL import Image

        src = self._source
        if isinstance(src, (bytes, bytearray)) or _media.is_url(src):
            data = bytes(src) if isinstance(src, (bytes, bytearray)) else _media.fetch_bytes(src)
            image = Image.open(io.BytesIO(data))
        elif isinstance(src, (str, os.PathLike)):
            image = Image.open(src)
        else:
            return _array_to_image(_to_numpy(src))
        image.load()
        return image

    def to_string(self) -> str:
        """The path of a file holding the image (a PNG written on first use)."""
        if self._path is None:
            path = _new_media_path(".png")
            self.to_raw().save(path, format="PNG")
            self._path = str(path)
        return self._path

    def png_bytes(self) -> bytes:
        """The image encoded as PNG."""
        buf = io.BytesIO()
        self.to_raw().save(buf, format="PNG")
        return buf.getvalue()

    def _repr_png_(self) -> bytes:
        return self.png_bytes()

    def save(self, fp: Any, format: str | None = None, **params: Any) -> None:
        """Save like ``PIL.Image.Image.save``."""
        self.to_raw().save(fp, format=format, **params)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.to_raw(), name)

    def __repr__(self) -> str:
        if self._raw is not None:
            w, h = self._raw.size
            return f"AgentImage({w}x{h} {self._raw.mode})"
        if isinstance(self._source, (str, os.PathLike)):
            return f"AgentImage({str(self._source)!r})"
        return "AgentImage(<unloaded>)"


def _array_to_image(arr: Any) -> Any:
    import numpy as np
    from PIL import Image

    if arr.ndim == 3 and arr.shape[0] in (1, 3, 4) and arr.shape[-1] not in (1, 3, 4):
        arr = np.transpose(arr, (1, 2, 0))  # channels-first (torch) -> channels-last
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.dtype != np.uint8:
        scale = 255.0 if arr.size and float(np.nanmax(arr)) <= 1.0 else 1.0
        arr = np.clip(arr.astype(np.float32) * scale, 0, 255).astype(np.uint8)
    return Image.fromarray(arr)


class AgentAudio(AgentType):
    """Audio: samples with a sample rate, or a file path or URL, or encoded bytes.

    ``to_raw()`` gives float32 samples in [-1, 1] (``(n,)`` or ``(n, channels)``),
    ``samplerate`` the rate in Hz, ``to_string()`` the path of a file holding the
    audio (the original local file, or a 16-bit WAV written on first use).
    A ``(sample_rate, samples)`` tuple, as Gradio gives, is accepted too.

    Args:
        value: samples (numpy array, torch tensor, list), a path, a URL or bytes.
        samplerate: the rate of raw samples; files carry their own.

    Example:
        >>> import numpy as np
        >>> audio = AgentAudio(np.zeros(8000, dtype="float32"), samplerate=16000)
        >>> audio.duration_s, audio.to_string().endswith(".wav")
        (0.5, True)
    """

    def __init__(self, value: Any, samplerate: int = 16_000):
        if isinstance(value, AgentAudio):
            self.__dict__.update(value.__dict__)
            return
        if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], numbers.Integral):
            samplerate, value = value  # Gradio's (sample_rate, samples)
        self._samplerate = int(samplerate)
        self._raw: Any = None
        self._path: str | None = None
        self._source: Any = value
        if isinstance(value, (str, os.PathLike)):
            if not _media.is_url(str(value)) and not Path(value).is_file():
                raise FileNotFoundError(f"AgentAudio: no audio file at {str(value)!r}")
            self._path = None if _media.is_url(str(value)) else str(value)
        elif not isinstance(value, (bytes, bytearray)):
            self._raw = _pcm_to_float(_to_numpy(value))

    @property
    def samplerate(self) -> int:
        """The sample rate in Hz (decodes a file on first use)."""
        if self._raw is None:
            self.to_raw()
        return self._samplerate

    sample_rate = samplerate

    @property
    def duration_s(self) -> float:
        return float(self.to_raw().shape[0]) / self.samplerate

    def to_raw(self) -> Any:
        """The samples as a float32 numpy array (decoded on first use)."""
        if self._raw is None:
            src = self._source
            data = _media.fetch_bytes(src) if _media.is_url(src) else src
            self._raw, self._samplerate = _media.decode_audio(data)
        return self._raw

    def to_string(self) -> str:
        """The path of a file holding the audio (a WAV written on first use)."""
        if self._path is None:
            path = _new_media_path(".wav")
            path.write_bytes(self.wav_bytes())
            self._path = str(path)
        return self._path

    def wav_bytes(self) -> bytes:
        """The audio as 16-bit PCM WAV."""
        return _media.encode_wav(self.to_raw(), self.samplerate)

    def __repr__(self) -> str:
        if isinstance(self._source, (str, os.PathLike)):
            return f"AgentAudio({str(self._source)!r})"
        if self._raw is not None:
            return f"AgentAudio({self._raw.shape[0] / self._samplerate:.2f} s, " \
                   f"{self._samplerate} Hz)"
        return "AgentAudio(<undecoded>)"


def _pcm_to_float(samples: Any) -> Any:
    # Integer PCM (int16 from Gradio, int32...) is scaled to floats in [-1, 1].
    import numpy as np

    if np.issubdtype(samples.dtype, np.integer):
        info = np.iinfo(samples.dtype)
        if info.min == 0:  # unsigned: 8-bit WAV style, centred on the midpoint
            return ((samples.astype(np.float32) - (info.max + 1) / 2) /
                    ((info.max + 1) / 2)).astype(np.float32)
        return (samples.astype(np.float32) / float(-int(info.min))).astype(np.float32)
    return samples.astype(np.float32)


AGENT_TYPE_MAPPING: dict[str, type] = {"string": AgentText, "text": AgentText,
                                       "image": AgentImage, "audio": AgentAudio}


def handle_agent_input_types(*args: Any, **kwargs: Any) -> tuple[list, dict]:
    """Unwrap agent types in tool arguments to their raw values.

    Returns:
        ``(args, kwargs)`` with every :class:`AgentType` replaced by ``to_raw()``.
    """
    def raw(v: Any) -> Any:
        return v.to_raw() if isinstance(v, AgentType) else v

    return [raw(a) for a in args], {k: raw(v) for k, v in kwargs.items()}


def handle_agent_output_types(value: Any, output_type: str | None = None) -> Any:
    """Wrap a tool's or agent's output in the agent type of ``output_type``.

    With no (or an unknown) ``output_type`` the type is inferred: ``str`` becomes
    :class:`AgentText`, a PIL image :class:`AgentImage`; anything else is returned
    as is.

    Args:
        value: the output.
        output_type: a tool output type (``"string"``, ``"image"``, ``"audio"``...).

    Raises:
        TypeError, FileNotFoundError: ``value`` cannot be the declared type.
    """
    cls = AGENT_TYPE_MAPPING.get(output_type or "")
    if cls is not None:
        return value if isinstance(value, cls) or value is None else cls(value)
    if isinstance(value, AgentType):
        return value
    if isinstance(value, str):
        return AgentText(value)
    if _is_pil_image(value):
        return AgentImage(value)
    return value


def media_kind(value: Any) -> str | None:
    """``"image"``, ``"audio"`` or ``None``: how a UI should show ``value``."""
    if isinstance(value, AgentImage) or _is_pil_image(value):
        return "image"
    if isinstance(value, AgentAudio):
        return "audio"
    return None


def media_path(value: Any) -> str | None:
    """The file path a UI can show for an image or audio value, else ``None``.

    Example (Gradio): ``gr.Image(media_path(x))`` when ``media_kind(x) == "image"``.
    """
    kind = media_kind(value)
    if kind == "image":
        return AgentImage(value).to_string()
    if kind == "audio":
        return value.to_string()
    return None


def to_serialisable(value: Any, out_dir: str | os.PathLike | None) -> str | dict[str, Any]:
    """The form of ``value`` that goes into the run log: text, or a file reference.

    Images are written to ``out_dir`` as PNG, audio as WAV, under a name made of
    their content hash (the same media is written once). Everything else becomes
    text: strings as they are, JSON-able containers as JSON, the rest with ``str``.

    Args:
        value: a final answer or tool output.
        out_dir: the folder that receives media files (created if needed); with
            ``None``, the file stays where :meth:`AgentType.to_string` put it and the
            reference holds its absolute path.

    Returns:
        A ``str``, or ``{"type": "image"|"audio", "path", "mime_type", "sha256",
        "size_bytes", ...}`` where ``path`` is relative to ``out_dir``.
    """
    kind = media_kind(value)
    if kind == "image":
        image = AgentImage(value)
        data = image.png_bytes()
        w, h = image.to_raw().size
        return _file_reference("image", data, ".png", "image/png", out_dir,
                               width=w, height=h)
    if kind == "audio":
        data = value.wav_bytes()
        return _file_reference("audio", data, ".wav", "audio/wav", out_dir,
                               sample_rate=value.samplerate,
                               duration_s=round(value.duration_s, 3))
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, (dict, list, tuple)):
        try:
            return json.dumps(value, ensure_ascii=False, default=_json_default)
        except (TypeError, ValueError):
            pass
    try:
        return str(value)
    except Exception:
        return repr(value)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, AgentType):
        return obj.to_string()
    raise TypeError(type(obj).__name__)


def _file_reference(kind: str, data: bytes, suffix: str, mime: str,
                    out_dir: str | os.PathLike | None, **extra: Any) -> dict[str, Any]:
    digest = hashlib.sha256(data).hexdigest()
    name = f"{kind}-{digest[:16]}{suffix}"
    folder = Path(out_dir) if out_dir is not None else _media_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    if not target.exists():
        tmp = folder / f".{name}.{uuid.uuid4().hex}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, target)  # atomic: concurrent writers of one file are fine
    path = name if out_dir is not None else str(target)
    return {"type": kind, "path": path, "mime_type": mime, "sha256": digest,
            "size_bytes": len(data), **extra}
