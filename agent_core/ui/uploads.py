"""Files a visitor sends with a message: checked, saved in their own folder, described.

Pure of Gradio: it takes file paths (Gradio's upload cache) and returns what the
agent needs — the saved paths, the images as PIL images — and readable messages
for the files it refused.

Example:
    >>> policy = UploadPolicy(max_file_mb=1)
    >>> batch = accept_uploads(["/tmp/cat.png"], "/tmp/session/uploads", policy)  # doctest: +SKIP
    >>> batch.errors, [p.name for p in batch.paths]                                # doctest: +SKIP
    ([], ['cat.png'])
"""

from __future__ import annotations

import mimetypes
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from .messages import AUDIO_EXTENSIONS, IMAGE_EXTENSIONS

__all__ = ["UploadPolicy", "AcceptedUploads", "accept_uploads", "describe_uploads",
           "DEFAULT_UPLOAD_EXTENSIONS"]

TEXT_EXTENSIONS = (".txt", ".csv", ".tsv", ".json", ".jsonl", ".md", ".py", ".xml", ".html",
                   ".yaml", ".yml")
DOCUMENT_EXTENSIONS = (".pdf",)
DEFAULT_UPLOAD_EXTENSIONS = IMAGE_EXTENSIONS + AUDIO_EXTENSIONS + TEXT_EXTENSIONS + \
    DOCUMENT_EXTENSIONS
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class UploadPolicy:
    """Limits on what a visitor may upload with one message.

    Attributes:
        max_file_mb: largest accepted file, in megabytes.
        max_files: most files per message.
        max_total_mb: most megabytes kept per session (all messages together).
        extensions: accepted file name extensions (lower case, with the dot).
    """

    max_file_mb: float = 10.0
    max_files: int = 5
    max_total_mb: float = 50.0
    extensions: tuple[str, ...] = DEFAULT_UPLOAD_EXTENSIONS

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    def describe(self) -> str:
        """One line for the side panel."""
        kinds = " ".join(self.extensions)
        return (f"Up to {self.max_files} files of at most {self.max_file_mb:g} MB each "
                f"({self.max_total_mb:g} MB per conversation): {kinds}")


@dataclass
class AcceptedUploads:
    """The outcome of :func:`accept_uploads`.

    Attributes:
        paths: the saved files, in the visitor's folder.
        images: the accepted images, opened (the agent gets them as images).
        errors: one readable sentence per refused file.
    """

    paths: list[Path] = field(default_factory=list)
    images: list[Any] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _safe_name(name: str, folder: Path) -> Path:
    stem, suffix = Path(name).stem, Path(name).suffix.lower()
    stem = _UNSAFE.sub("_", stem).strip("._") or "upload"
    candidate = folder / f"{stem[:80]}{suffix}"
    n = 1
    while candidate.exists():
        n += 1
        candidate = folder / f"{stem[:80]}-{n}{suffix}"
    return candidate


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.exists() \
        else 0


def _open_image(path: Path) -> Any:
    from PIL import Image

    with Image.open(path) as image:
        image.load()
        return image.copy()


def _check_content(path: Path, suffix: str) -> str | None:
    """A reason to refuse a file whose content does not match its name, else None."""
    if suffix in IMAGE_EXTENSIONS:
        try:
            _open_image(path)
        except Exception:
            return "is not a readable image"
    elif suffix in DOCUMENT_EXTENSIONS:
        with open(path, "rb") as f:
            if not f.read(5).startswith(b"%PDF"):
                return "is not a PDF file"
    return None


def accept_uploads(files: Iterable[str | Path], dest_dir: str | Path,
                   policy: UploadPolicy, names: Iterable[str | None] = ()) -> AcceptedUploads:
    """Check uploaded files against ``policy`` and copy the good ones to ``dest_dir``.

    Args:
        files: paths of the uploaded files (e.g. in Gradio's upload cache).
        dest_dir: the visitor's own folder (created if needed).
        policy: the limits.
        names: the original file names, if the paths do not carry them.

    Returns:
        The saved paths, the images opened, and an error sentence per refused file.
    """
    dest = Path(dest_dir)
    result = AcceptedUploads()
    files, names = [Path(f) for f in files], list(names)
    used = _folder_bytes(dest)
    for i, source in enumerate(files):
        name = (names[i] if i < len(names) and names[i] else None) or source.name
        suffix = Path(name).suffix.lower()
        if i >= policy.max_files:
            result.errors.append(f"“{name}” was not accepted: at most {policy.max_files} "
                                 "files per message.")
            continue
        if suffix not in policy.extensions:
            kind = f"{suffix} files are" if suffix else "files without an extension are"
            result.errors.append(f"“{name}” was not accepted: {kind} not allowed (allowed: "
                                 f"{' '.join(policy.extensions)}).")
            continue
        try:
            size = source.stat().st_size
        except OSError:
            result.errors.append(f"“{name}” could not be read; please upload it again.")
            continue
        if size > policy.max_file_bytes:
            result.errors.append(f"“{name}” was not accepted: it is {size / 1048576:.1f} MB, "
                                 f"more than the {policy.max_file_mb:g} MB limit.")
            continue
        if used + size > policy.max_total_mb * 1048576:
            result.errors.append(f"“{name}” was not accepted: this conversation already "
                                 f"holds {used / 1048576:.1f} MB of files (limit "
                                 f"{policy.max_total_mb:g} MB). Start a new conversation.")
            continue
        reason = _check_content(source, suffix)
        if reason:
            result.errors.append(f"“{name}” was not accepted: it {reason}.")
            continue
        dest.mkdir(parents=True, exist_ok=True)
        target = _safe_name(name, dest)
        shutil.copyfile(source, target)
        used += size
        result.paths.append(target)
        if suffix in IMAGE_EXTENSIONS:
            result.images.append(_open_image(target))
    return result


def describe_uploads(paths: Iterable[Path], shown_paths: Iterable[str] | None = None) -> str:
    """The text that tells the agent where the uploaded files are.

    Args:
        paths: the saved files.
        shown_paths: the same files as the agent's code sees them (e.g. inside a
            sandbox), if different from ``paths``.
    """
    paths = list(paths)
    shown = list(shown_paths) if shown_paths is not None else [str(p) for p in paths]
    if not paths:
        return ""
    lines = []
    for path, where in zip(paths, shown):
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        kind = "image, also attached to this message" if path.suffix.lower() in \
            IMAGE_EXTENSIONS else mime
        lines.append(f"- {where} ({kind}, {path.stat().st_size:,} bytes)")
    return "The user uploaded these files; your code can open them at these paths:\n" + \
        "\n".join(lines)
