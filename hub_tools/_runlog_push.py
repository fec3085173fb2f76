"""Pushing a runs folder to a Hub dataset: the dataset card and the commit scheduler.

``huggingface_hub`` is imported by this module, which :mod:`hub_tools.runlog` imports
only when a dataset is configured.
"""

from __future__ import annotations

import fnmatch
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from huggingface_hub import CommitOperationAdd, CommitScheduler
from huggingface_hub._commit_scheduler import PartialFileIO
from huggingface_hub.utils import filter_repo_objects

from ._runlog_files import DATA_GLOB, FILES_DIR, is_locked
from ._runlog_record import RECORD_FIELDS, SCHEMA_VERSION, STEP_FIELDS, TOTALS_FIELDS

__all__ = ["RunsScheduler", "dataset_card", "write_dataset_card", "IGNORE_PATTERNS"]

# Journals of runs in progress, temp files and locks never leave the machine.
IGNORE_PATTERNS = [".inflight/*", "*.tmp", "*.lock"]


def _features_yaml() -> str:
    lines = ["  features:"]
    for name, (dtype, _) in RECORD_FIELDS.items():
        lines.append(f"  - name: {name}")
        if dtype == "struct":
            lines.append("    struct:")
            for sub, sub_type in TOTALS_FIELDS.items():
                lines += [f"    - name: {sub}", f"      dtype: {sub_type}"]
        else:
            lines.append(f"    dtype: {dtype}")
    return "\n".join(lines)


def dataset_card(repo_id: str | None = None) -> str:
    """The README.md of a runs dataset: front matter (``configs``, features) and schema.

    Args:
        repo_id: the dataset's ``owner/name``, shown in the loading example.
    """
    fields = "\n".join(f"| `{name}` | {dtype} | {desc} |"
                       for name, (dtype, desc) in RECORD_FIELDS.items())
    steps = "\n".join(f"| `{name}` | {desc} |" for name, desc in STEP_FIELDS.items())
    target = repo_id or "owner/name"
    return f"""---
pretty_name: Agent runs
tags:
- agents
- logs
configs:
- config_name: default
  data_files:
  - split: train
    path: "{DATA_GLOB}"
dataset_info:
{_features_yaml()}
---

# Agent runs

Every run of the agent, one JSON object per line in `{DATA_GLOB}` (schema
version {SCHEMA_VERSION}). Secrets (values of tokens and keys) are redacted before a
record is written; `session` is an opaque hash, never an IP address. Images and audio
given as final answers are stored under `{FILES_DIR}/` and `final_answer` holds their
path.

```python
from datasets import load_dataset
runs = load_dataset("{target}", split="train")
```

| field | type | meaning |
| --- | --- | --- |
{fields}

`tools` and `steps` are JSON text (`json.loads(record["steps"])`), so that every file
has the same columns whatever the run did. Each step is an object with:

| key | meaning |
| --- | --- |
{steps}
"""


def write_dataset_card(runs_dir: Path, repo_id: str | None = None) -> bool:
    """Write README.md into the runs folder unless it is already the same text.

    Written atomically (temp file then rename) so the scheduler never uploads half of
    it; left untouched when unchanged, so it is not pushed again.

    Returns:
        Whether the file was (re)written.
    """
    path = Path(runs_dir) / "README.md"
    text = dataset_card(repo_id)
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".README.{secrets.token_hex(4)}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return True


@dataclass(frozen=True)
class _Upload:
    local_path: Path
    path_in_repo: str
    size: int
    mtime: float
    complete: bool


def _complete_size(path: Path, size: int) -> int:
    """Bytes up to the last newline: a line being appended right now is not uploaded."""
    if size == 0:
        return 0
    with open(path, "rb") as f:
        pos = size
        while pos > 0:
            start = max(0, pos - 65536)
            f.seek(start)
            chunk = f.read(pos - start)
            cut = chunk.rfind(b"\n")
            if cut >= 0:
                return start + cut + 1
            pos = start
    return 0


class RunsScheduler(CommitScheduler):
    """A ``CommitScheduler`` that uploads only whole lines, and only files it may push.

    The stock scheduler uploads each changed file up to its size at listing time. A
    record appended by another process (which cannot hold ``scheduler.lock``) may be
    half written at that moment; here JSONL files are cut at their last newline and
    a file cut short is uploaded again at the next tick. Data files that another live
    writer holds are left to that writer's own scheduler: two schedulers uploading
    one growing file could commit an older, shorter copy last. Files of dead writers
    no longer change, so any scheduler may push them. A failed commit (Hub down, 5xx)
    leaves ``last_uploaded`` unchanged, so the next tick retries everything.

    Args:
        writer_id: the id in the names of this process's own data files.
        (other arguments: see ``huggingface_hub.CommitScheduler``)
    """

    def __init__(self, *, writer_id: str, **kwargs: Any):
        self.writer_id = writer_id  # set first: the base class starts pushing at once
        super().__init__(**kwargs)

    def _may_push(self, rel: str, path: Path) -> bool:
        if not fnmatch.fnmatch(rel, DATA_GLOB) or rel.endswith(f"-{self.writer_id}.jsonl"):
            return True
        return not is_locked(path)

    def _changed_files(self) -> list[_Upload]:
        paths = {p.relative_to(self.folder_path).as_posix(): p
                 for p in sorted(self.folder_path.glob("**/*")) if p.is_file()}
        prefix = f"{self.path_in_repo.strip('/')}/" if self.path_in_repo else ""
        uploads = []
        for rel in filter_repo_objects(paths.keys(), allow_patterns=self.allow_patterns,
                                       ignore_patterns=self.ignore_patterns):
            path = paths[rel]
            if not self._may_push(rel, path):
                continue
            try:
                stat = path.stat()
                if self.last_uploaded.get(path) == stat.st_mtime:
                    continue
                size = _complete_size(path, stat.st_size) if rel.endswith(".jsonl") \
                    else stat.st_size
            except OSError:  # vanished meanwhile
                continue
            if size == 0 and stat.st_size > 0:
                continue
            uploads.append(_Upload(path, prefix + rel, size, stat.st_mtime,
                                   complete=size == stat.st_size))
        return uploads

    def push_to_hub(self) -> Any:
        """Commit the changed files (whole lines only); None when nothing changed."""
        with self.lock:
            uploads = self._changed_files()
        if not uploads:
            return None
        operations = [CommitOperationAdd(path_or_fileobj=PartialFileIO(u.local_path, u.size),
                                         path_in_repo=u.path_in_repo) for u in uploads]
        info = self.api.create_commit(repo_id=self.repo_id, repo_type=self.repo_type,
                                      operations=operations, revision=self.revision,
                                      commit_message=f"Log agent runs ({len(uploads)} files)")
        for u in uploads:
            if u.complete:
                self.last_uploaded[u.local_path] = u.mtime
        return info
