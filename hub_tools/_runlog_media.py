"""Final answers that are images or audio: saved as files beside the JSONL records."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ._runlog_files import FILES_DIR
from ._runlog_record import truncate

__all__ = ["serialise_answer"]

logger = logging.getLogger(__name__)


def _is_audio_tuple(value: Any) -> bool:
    """Gradio's ``(sample_rate, samples)`` form of plain numpy audio."""
    return (isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], int)
            and hasattr(value[1], "__array__"))


def serialise_answer(value: Any, runs_dir: Path) -> tuple[str, str]:
    """How a final answer goes into a record: ``(type, text or file path)``.

    Images (``AgentImage``, PIL) and audio (``AgentAudio``, ``(rate, samples)``) are
    written under ``<runs_dir>/files/`` by ``agent_core.agent_types.to_serialisable``
    (named by content hash, written atomically) and referenced by their path relative
    to the runs folder; everything else becomes text.

    Returns:
        ``("none", "")``, ``("text", text)``, ``("image", "files/...png")`` or
        ``("audio", "files/...wav")``.
    """
    if value is None:
        return "none", ""
    if isinstance(value, str):
        return "text", str.__str__(value)
    try:
        from agent_core.agent_types import AgentAudio, to_serialisable
    except ImportError:  # an agent_core without agent types: text only
        return "text", truncate(repr(value) if not isinstance(value, (int, float)) else
                                str(value), 20_000)
    if _is_audio_tuple(value):
        value = AgentAudio(value)
    try:
        ref = to_serialisable(value, Path(runs_dir) / FILES_DIR)
    except Exception as err:  # an unreadable image must not lose the run
        logger.warning("Could not save the final answer as a file: %s", err)
        return "text", truncate(f"<{type(value).__name__} that could not be saved: {err}>",
                                2_000)
    if isinstance(ref, dict):
        return str(ref.get("type", "file")), f"{FILES_DIR}/{ref['path']}"
    return "text", ref
