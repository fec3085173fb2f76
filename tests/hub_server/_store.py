"""Storage of the Hub test server: repos, git-style commits and blobs in a folder."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

__all__ = ["HubError", "Commit", "Repo", "HubStore", "git_blob_oid", "lfs_pointer", "tree_oids",
           "front_matter", "now", "REPO_TYPES", "URL_PREFIX", "LFS_EXTENSIONS", "LFS_THRESHOLD"]

REPO_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
URL_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}
LFS_EXTENSIONS = (".parquet", ".arrow", ".bin", ".safetensors", ".pt", ".pth", ".ckpt",
                  ".gguf", ".onnx", ".h5", ".npy", ".npz", ".zip", ".gz", ".tar", ".wav",
                  ".mp3", ".png", ".jpg", ".jpeg", ".webp")
LFS_THRESHOLD = 10 * 1024 * 1024
GITATTRIBUTES = "".join(f"*{ext} filter=lfs diff=lfs merge=lfs -text\n" for ext in LFS_EXTENSIONS)


class HubError(Exception):
    """An HTTP error answer: status, message and the ``X-Error-Code`` header."""

    def __init__(self, status: int, message: str, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


# --- git-style objects ------------------------------------------------------


def git_blob_oid(data: bytes) -> str:
    """The git blob sha1 of ``data`` (what ``git hash-object`` prints)."""
    return hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def tree_oids(files: dict[str, dict]) -> dict[str, str]:
    """Git tree sha1 of every folder (``""`` is the root) of a flat ``{path: entry}``."""
    children: dict[str, dict[str, tuple[str, str]]] = {"": {}}
    for path, entry in files.items():
        parts = path.split("/")
        for i in range(len(parts) - 1):
            sub = "/".join(parts[:i + 1])
            children.setdefault(sub, {})
            children.setdefault("/".join(parts[:i]), {})[parts[i]] = ("40000", sub)
        children["/".join(parts[:-1])][parts[-1]] = ("100644", entry["oid"])
    oids: dict[str, str] = {}
    for folder in sorted(children, key=lambda p: p.count("/") + 1 if p else 0, reverse=True):
        entries = sorted((name + ("/" if mode == "40000" else ""), mode, name,
                          oids[ref] if mode == "40000" else ref)
                         for name, (mode, ref) in children[folder].items())
        body = b"".join(f"{mode} {name}".encode() + b"\x00" + bytes.fromhex(oid)
                        for _, mode, name, oid in entries)
        oids[folder] = hashlib.sha1(b"tree %d\x00" % len(body) + body).hexdigest()
    return oids


def _commit_oid(tree: str, parents: list[str], author: str, ts: int, message: str) -> str:
    lines = [f"tree {tree}", *(f"parent {p}" for p in parents),
             f"author {author} <{author}@users.noreply.hf.co> {ts} +0000",
             f"committer {author} <{author}@users.noreply.hf.co> {ts} +0000", "", message]
    body = "\n".join(lines).encode()
    return hashlib.sha1(b"commit %d\x00" % len(body) + body).hexdigest()


@dataclass
class Commit:
    sha: str
    parents: list[str]
    files: dict[str, dict]  # path -> {"oid": git oid, "size": int, "lfs": sha256 | None}
    title: str
    message: str
    author: str
    date: str


@dataclass
class Repo:
    repo_type: str
    repo_id: str
    private: bool = False
    sdk: str | None = None
    created_at: str = ""
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)
    host: str | None = None
    stage: str | None = None
    secrets: dict[str, str] = field(default_factory=dict)
    variables: dict[str, dict] = field(default_factory=dict)

    @property
    def owner(self) -> str:
        return self.repo_id.split("/")[0]

    def resolve(self, revision: str) -> str:
        """Commit sha of a branch, tag, full sha or unique sha prefix (>= 7 chars)."""
        if revision in self.branches:
            return self.branches[revision]
        if revision in self.tags:
            return self.tags[revision]
        if revision in self.commits:
            return revision
        if re.fullmatch(r"[0-9a-f]{7,39}", revision):
            found = [sha for sha in self.commits if sha.startswith(revision)]
            if len(found) == 1:
                return found[0]
        raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def front_matter(text: str) -> dict | None:
    """The YAML front matter of a README, ``None`` when it has none.

    Raises:
        HubError: 400 when the YAML is malformed or not a mapping.
    """
    match = re.match(r"^---\s*\n(.*?)\n---\s*(\n|$)", text, re.S)
    if not match:
        return None
    import yaml

    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError as err:
        raise HubError(400, f"Invalid YAML in README front matter: {err}") from None
    if data is not None and not isinstance(data, dict):
        raise HubError(400, "README front matter must be a YAML mapping")
    return data or {}


# --- storage ----------------------------------------------------------------


class HubStore:
    """Repos, commits and blobs under one folder; every method is thread-safe."""

    def __init__(self, root: Path, orgs: dict[str, tuple[str, ...]]):
        self.root = root
        self.orgs = orgs
        (root / "objects").mkdir(parents=True, exist_ok=True)
        (root / "lfs").mkdir(exist_ok=True)
        self.repos: dict[tuple[str, str], Repo] = {}
        self.lock = threading.RLock()

    # blobs
    def put_blob(self, data: bytes) -> str:
        oid = git_blob_oid(data)
        path = self.root / "objects" / oid
        if not path.exists():
            path.write_bytes(data)
        return oid

    def put_lfs(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        (self.root / "lfs" / sha).write_bytes(data)
        return sha

    def has_lfs(self, sha256: str) -> bool:
        return (self.root / "lfs" / sha256).exists()

    def read(self, entry: dict) -> bytes:
        if entry.get("lfs"):
            return (self.root / "lfs" / entry["lfs"]).read_bytes()
        return (self.root / "objects" / entry["oid"]).read_bytes()

    def lfs_entry(self, sha256: str) -> dict:
        size = (self.root / "lfs" / sha256).stat().st_size
        return {"oid": self.put_blob(lfs_pointer(sha256, size)), "size": size, "lfs": sha256}

    # repos
    def get(self, repo_type: str, repo_id: str, user: str | None = None) -> Repo:
        repo = self.repos.get((repo_type, repo_id))
        if repo is None or (repo.private and not self.can_read(user, repo)):
            raise HubError(404, f"Repository {repo_id} not found", "RepoNotFound")
        return repo

    def create(self, repo_type: str, repo_id: str, private: bool, sdk: str | None,
               author: str) -> Repo:
        if (repo_type, repo_id) in self.repos:
            raise HubError(409, f"You already created this {repo_type} repo")
        repo = Repo(repo_type, repo_id, private=private, sdk=sdk, created_at=now())
        self.repos[(repo_type, repo_id)] = repo
        files = {".gitattributes": GITATTRIBUTES.encode()}
        if repo_type == "space":
            name = repo_id.split("/")[1]
            files["README.md"] = (f"---\ntitle: {name}\nemoji: 🚀\ncolorFrom: blue\ncolorTo: green\n"
                                  f"sdk: {sdk}\npinned: false\n---\n\nCheck out the configuration "
                                  "reference at https://huggingface.co/docs/hub/spaces-config-reference\n"
                                  ).encode()
        entries = {path: {"oid": self.put_blob(data), "size": len(data), "lfs": None}
                   for path, data in files.items()}
        self.add_commit(repo, "main", entries, "initial commit", "", author)
        return repo

    def add_commit(self, repo: Repo, branch: str, files: dict[str, dict], title: str,
                   message: str, author: str) -> Commit:
        parent = repo.branches.get(branch)
        tree = tree_oids(files)[""]
        ts = int(time.time())
        full = title + ("\n\n" + message if message else "")
        sha = _commit_oid(tree, [parent] if parent else [], author, ts, full)
        while sha in repo.commits:  # same tree, parent and second: keep shas unique
            ts += 1
            sha = _commit_oid(tree, [parent] if parent else [], author, ts, full)
        commit = Commit(sha, [parent] if parent else [], dict(files), title, message, author,
                        datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z"))
        repo.commits[sha] = commit
        repo.branches[branch] = sha
        return commit

    def save(self) -> None:
        """Write every repo's metadata to ``root/repos.json`` (blobs are already on disk)."""
        data = [asdict(repo) for repo in self.repos.values()]
        (self.root / "repos.json").write_text(json.dumps(data))

    def load(self) -> None:
        """Read back what :meth:`save` wrote, if anything."""
        path = self.root / "repos.json"
        if not path.exists():
            return
        for raw in json.loads(path.read_text()):
            raw["commits"] = {sha: Commit(**c) for sha, c in raw["commits"].items()}
            repo = Repo(**raw)
            self.repos[(repo.repo_type, repo.repo_id)] = repo

    def can_read(self, user: str | None, repo: Repo) -> bool:
        return user is not None and (user == repo.owner or repo.owner in self.orgs.get(user, ()))

    def history(self, repo: Repo, sha: str) -> list[Commit]:
        out = []
        while sha:
            commit = repo.commits[sha]
            out.append(commit)
            sha = commit.parents[0] if commit.parents else ""
        return out
