"""Reading and writing audio and images, shared by the agent types and the transcriber.

numpy, PIL, requests and av are imported inside the functions that need them, so that
importing this module costs nothing.
"""

from __future__ import annotations

import io
import os
import wave
from pathlib import Path
from typing import Any

__all__ = ["fetch_bytes", "decode_audio", "encode_wav", "to_mono", "resample",
           "is_url", "DEFAULT_MAX_DOWNLOAD_BYTES"]

DEFAULT_MAX_DOWNLOAD_BYTES = 50_000_000


def is_url(value: Any) -> bool:
    """Whether ``value`` is an http(s) URL string."""
    return isinstance(value, str) and value.lower().startswith(("http://", "https://"))


def fetch_bytes(url: str, timeout: float = 30.0,
                max_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES) -> bytes:
    """Download ``url`` whole, refusing bodies larger than ``max_bytes``.

    Raises:
        OSError: on connection errors, HTTP errors or an oversized body, with a
            message that names the URL and the cause.
    """
    import requests

    try:
        with requests.get(url, timeout=timeout, stream=True) as resp:
            if resp.status_code >= 400:
                raise OSError(f"HTTP {resp.status_code} {resp.reason} fetching {url}")
            chunks, total = [], 0
            for chunk in resp.iter_content(64 * 1024):
                total += len(chunk)
                if total > max_bytes:
                    raise OSError(f"{url} is larger than {max_bytes:,} bytes; refusing it")
                chunks.append(chunk)
            return b"".join(chunks)
    except requests.Timeout as err:
        raise OSError(f"Timed out after {timeout:g}s fetching {url}") from err
    except requests.RequestException as err:
        raise OSError(f"Could not fetch {url}: {type(err).__name__}: {err}") from err


# --- audio -----------------------------------------------------------------


def decode_audio(source: str | os.PathLike | bytes, target_rate: int | None = None
                 ) -> tuple[Any, int]:
    """Decode an audio file (path or bytes) to float32 samples in [-1, 1].

    WAV is read with the standard library; other formats (mp3, flac, ogg, m4a...)
    need PyAV (``pip install av``, a dependency of faster-whisper).

    Args:
        source: a file path or the file's bytes.
        target_rate: resample to this rate (Hz); ``None`` keeps the file's rate.

    Returns:
        ``(samples, sample_rate)``; samples are shaped ``(n,)`` for mono or
        ``(n, channels)``.

    Raises:
        ValueError: the data is not audio in a format that can be decoded here.
        FileNotFoundError: the path does not exist.
    """
    data = source if isinstance(source, (bytes, bytearray)) else Path(source).read_bytes()
    data = bytes(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        try:
            samples, rate = _read_wav(data)
        except (wave.Error, ValueError, EOFError):
            samples, rate = _decode_with_av(data, target_rate)
    else:
        samples, rate = _decode_with_av(data, target_rate)
    if target_rate and rate != target_rate:
        samples, rate = resample(samples, rate, target_rate), target_rate
    return samples, rate


def _read_wav(data: bytes) -> tuple[Any, int]:
    import numpy as np

    with wave.open(io.BytesIO(data)) as wav:
        width, channels, rate = wav.getsampwidth(), wav.getnchannels(), wav.getframerate()
        frames = wav.readframes(wav.getnframes())
    if width == 1:
        samples = (np.frombuffer(frames, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        samples = np.frombuffer(frames, "<i2").astype(np.float32) / 32768.0
    elif width == 3:
        raw = np.frombuffer(frames, np.uint8).reshape(-1, 3)
        ints = (raw[:, 0].astype(np.int32) | (raw[:, 1].astype(np.int32) << 8)
                | (raw[:, 2].astype(np.int8).astype(np.int32) << 16))
        samples = ints.astype(np.float32) / 8388608.0
    elif width == 4:
        samples = np.frombuffer(frames, "<i4").astype(np.float32) / 2147483648.0
    else:
        raise ValueError(f"unsupported WAV sample width: {width} bytes")
    if channels > 1:
        samples = samples.reshape(-1, channels)
    return samples, rate


def _decode_with_av(data: bytes, target_rate: int | None) -> tuple[Any, int]:
    import numpy as np

    try:
        import av
    except ImportError as err:
        raise ValueError("this audio is not a PCM WAV file; decoding other formats needs "
                         "PyAV: pip install av") from err
    try:
        with av.open(io.BytesIO(data)) as container:
            if not container.streams.audio:
                raise ValueError("the file has no audio stream")
            stream = container.streams.audio[0]
            rate = target_rate or stream.rate or 16_000
            resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
            chunks = []
            for frame in container.decode(stream):
                chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
            chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    except av.error.FFmpegError as err:
        raise ValueError(f"not a readable audio file ({err})") from err
    samples = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    return samples.astype(np.float32), rate


def to_mono(samples: Any) -> Any:
    """Average the channels of ``(n, channels)`` samples; mono passes through.

    A ``(channels, n)`` array with few rows (as torchaudio returns) is handled too.
    """
    import numpy as np

    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim == 1:
        return samples
    if samples.ndim != 2:
        raise ValueError(f"audio samples must be 1-D or 2-D, got shape {samples.shape}")
    axis = 0 if samples.shape[0] <= 8 < samples.shape[1] else 1
    return samples.mean(axis=axis).astype(np.float32)


def resample(samples: Any, rate: int, target_rate: int) -> Any:
    """Resample float samples from ``rate`` to ``target_rate`` (polyphase when scipy is there)."""
    import numpy as np

    samples = np.asarray(samples, dtype=np.float32)
    if rate == target_rate or samples.shape[0] == 0:
        return samples
    try:
        from math import gcd

        from scipy.signal import resample_poly

        g = gcd(int(rate), int(target_rate))
        return resample_poly(samples, target_rate // g, rate // g, axis=0).astype(np.float32)
    except ImportError:
        n_out = int(round(samples.shape[0] * target_rate / rate))
        x_old = np.arange(samples.shape[0]) / rate
        x_new = np.arange(n_out) / target_rate
        if samples.ndim == 1:
            return np.interp(x_new, x_old, samples).astype(np.float32)
        return np.stack([np.interp(x_new, x_old, samples[:, c])
                         for c in range(samples.shape[1])], axis=1).astype(np.float32)


def encode_wav(samples: Any, rate: int) -> bytes:
    """16-bit PCM WAV bytes of float samples (clipped to [-1, 1]) or int16 samples."""
    import numpy as np

    samples = np.asarray(samples)
    if samples.ndim == 2 and samples.shape[0] <= 8 < samples.shape[1]:
        samples = samples.T  # (channels, n) -> (n, channels)
    channels = 1 if samples.ndim == 1 else samples.shape[1]
    if samples.dtype != np.int16:
        samples = (np.clip(samples.astype(np.float32), -1.0, 1.0) * 32767.0).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(int(rate))
        wav.writeframes(samples.astype("<i2").tobytes())
    return buf.getvalue()
