"""HTTP layer of the Hub test server: routes, the request handler and the endpoints."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from ._store import (LFS_EXTENSIONS, LFS_THRESHOLD, REPO_TYPES, URL_PREFIX, Commit, HubError, Repo,
                     front_matter, lfs_pointer, now, tree_oids)

if TYPE_CHECKING:
    from . import HubServer

__all__ = ["FaultRule", "RecordedRequest", "make_handler"]


# --- test hooks -------------------------------------------------------------


@dataclass
class FaultRule:
    """Answer ``status`` (after ``delay_s``) to the next ``times`` matching requests."""

    method: str | None
    path_regex: str
    status: int = 500
    times: int = 1
    delay_s: float = 0.0
    message: str = "Injected failure"
    error_code: str | None = None
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        return (self.hits < self.times and (self.method is None or self.method == method)
                and re.search(self.path_regex, path) is not None)


@dataclass
class RecordedRequest:
    """One request as the server saw it; ``route`` is its template, e.g.
    ``POST /api/{type}s/{repo_id}/commit/{rev}``."""

    method: str
    path: str
    query: str
    route: str
    status: int = 0
    injected: bool = False

    def __str__(self) -> str:
        return f"{self.route} -> {self.status}"


# --- HTTP layer -------------------------------------------------------------

_ID = r"(?P<ns>[^/]+)/(?P<name>[^/]+?)"
_API = r"^/api/(?P<types>models|datasets|spaces)/" + _ID
_ROUTES: list[tuple[str, str, str]] = [
    # (method, regex, handler name)
    ("GET", r"^/api/whoami-v2$", "whoami"),
    ("POST", r"^/api/repos/create$", "create_repo"),
    ("DELETE", r"^/api/repos/delete$", "delete_repo"),
    ("POST", r"^/api/repos/move$", "move_repo"),
    ("POST", r"^/api/validate-yaml$", "validate_yaml"),
    ("GET", r"^/api/(?P<types>models|datasets|spaces)$", "list_repos"),
    ("GET", _API + r"/tree/(?P<rev>[^/]+)(?:/(?P<path>.*))?$", "tree"),
    ("POST", _API + r"/paths-info/(?P<rev>[^/]+)$", "paths_info"),
    ("POST", _API + r"/preupload/(?P<rev>[^/]+)$", "preupload"),
    ("POST", _API + r"/commit/(?P<rev>[^/]+)$", "commit"),
    ("GET", _API + r"/refs$", "refs"),
    ("GET", _API + r"/commits/(?P<rev>[^/]+)$", "commits"),
    ("POST", _API + r"/branch/(?P<rev>[^/]+)$", "create_branch"),
    ("DELETE", _API + r"/branch/(?P<rev>[^/]+)$", "delete_branch"),
    ("POST", _API + r"/tag/(?P<rev>[^/]+)$", "create_tag"),
    ("DELETE", _API + r"/tag/(?P<rev>[^/]+)$", "delete_tag"),
    ("PUT", _API + r"/settings$", "settings"),
    ("GET", r"^/api/spaces/" + _ID + r"/runtime$", "runtime"),
    ("POST", r"^/api/spaces/" + _ID + r"/restart$", "runtime"),
    ("GET", r"^/api/spaces/" + _ID + r"/(?P<kind>secrets|variables)$", "space_kv"),
    ("POST", r"^/api/spaces/" + _ID + r"/(?P<kind>secrets|variables)$", "space_kv"),
    ("DELETE", r"^/api/spaces/" + _ID + r"/(?P<kind>secrets|variables)$", "space_kv"),
    ("GET", _API + r"(?:/revision/(?P<rev>[^/]+))?$", "repo_info"),
    ("POST", r"^/(?:(?P<types>datasets|spaces)/)?" + _ID + r"\.git/info/lfs/objects/batch$",
     "lfs_batch"),
    ("PUT", r"^/_lfs/(?P<oid>[0-9a-f]{64})$", "lfs_upload"),
    ("POST", r"^/_lfs/(?P<oid>[0-9a-f]{64})/verify$", "lfs_verify"),
    ("HEAD", r"^/(?:(?P<types>datasets|spaces)/)?" + _ID + r"/resolve/(?P<rev>[^/]+)/(?P<path>.+)$",
     "resolve"),
    ("GET", r"^/(?:(?P<types>datasets|spaces)/)?" + _ID + r"/resolve/(?P<rev>[^/]+)/(?P<path>.+)$",
     "resolve"),
]
_COMPILED = [(m, re.compile(rx), name) for m, rx, name in _ROUTES]
_TEMPLATE_SUBS = [("(?P<types>models|datasets|spaces)", "{type}s"), ("(?:(?P<types>datasets|spaces)/)?",
                  "{prefix}"), (_ID, "{repo_id}"), ("(?P<rev>[^/]+)", "{rev}"),
                  ("(?:/(?P<path>.*))?", "[/{path}]"), ("(?P<path>.+)", "{path}"),
                  ("(?P<kind>secrets|variables)", "{kind}"), ("(?P<oid>[0-9a-f]{64})", "{oid}"),
                  ("(?:/revision/{rev})?", "[/revision/{rev}]"), ("\\.git", ".git")]


def _template(regex: str) -> str:
    out = regex.strip("^$")
    for pattern, repl in _TEMPLATE_SUBS:
        out = out.replace(pattern, repl)
    return out


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms stalls
    hub: "HubServer"  # set on the subclass made per server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def setup(self) -> None:
        super().setup()
        self.hub._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.hub._track(self.connection, False)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        if self.hub.stopped:  # a kept-alive connection outliving stop(): refuse, close
            self.close_connection = True
            self._send(method, 503, {"error": "Hub test server stopped"}, {"Connection": "close"})
            return
        raw_path, _, query = self.path.partition("?")
        record = RecordedRequest(method, raw_path, query, f"{method} {raw_path}")
        self.body = self._read_body()
        try:
            for route_method, regex, name in _COMPILED:
                match = regex.match(raw_path)
                if match and route_method == method:
                    record.route = f"{method} {_template(regex.pattern)}"
                    fault = self.hub._take_fault(method, raw_path)
                    if fault is not None:
                        record.injected = True
                        raise HubError(fault.status, fault.message, fault.error_code)
                    params = {k: urllib.parse.unquote(v) for k, v in match.groupdict().items()
                              if v is not None}
                    self.query = urllib.parse.parse_qs(query)
                    with self.hub.store.lock:
                        result = getattr(self.api, name)(self, **params)
                    status, payload, headers = result if isinstance(result, tuple) else (200, result, {})
                    break
            else:
                raise HubError(404, f"No route for {method} {raw_path}")
        except HubError as err:
            status, headers = err.status, {"X-Error-Message": err.message}
            if err.code:
                headers["X-Error-Code"] = err.code
            payload = {"error": err.message}
        except Exception as err:  # a bug in the server: answer 500 with the reason
            status, payload, headers = 500, {"error": f"server error: {err!r}"}, {}
        record.status = status
        self.hub._record(record)
        self._send(method, status, payload, headers)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, method: str, status: int, payload: Any, headers: dict) -> None:
        if isinstance(payload, bytes):
            data, ctype = payload, headers.pop("Content-Type", "application/octet-stream")
        else:
            data, ctype = json.dumps(payload).encode(), "application/json"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(data)

    # helpers for the API
    def json(self) -> Any:
        try:
            return json.loads(self.body or b"{}")
        except ValueError:
            raise HubError(400, "Body is not valid JSON") from None

    def user(self, required: bool = False) -> str | None:
        auth = self.headers.get("Authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        if token:
            user = self.hub.users.get(token)
            if user is None:
                raise HubError(401, "Invalid credentials in Authorization header")
            return user
        if required:
            raise HubError(401, "You must be authenticated to do this (no token given)")
        return None


class _Api:
    """The Hub endpoints; each takes the handler and the route's named groups."""

    def __init__(self, hub: "HubServer"):
        self.hub = hub
        self.store = hub.store

    # -- users and repos --
    def whoami(self, h: _Handler) -> dict:
        user = h.user(required=True)
        orgs = [{"name": o, "type": "org", "roleInOrg": "write"} for o in self.hub.orgs.get(user, ())]
        return {"type": "user", "id": f"id-{user}", "name": user, "fullname": user.title(),
                "email": f"{user}@example.com", "emailVerified": True, "canPay": False,
                "isPro": False, "orgs": orgs,
                "auth": {"type": "access_token",
                         "accessToken": {"displayName": "test", "role": "write"}}}

    def _writable(self, h: _Handler, owner: str) -> str:
        user = h.user(required=True)
        if owner != user and owner not in self.hub.orgs.get(user, ()):
            raise HubError(403, f"You don't have the rights to create or write to repos under {owner}")
        return user

    def _repo(self, h: _Handler, types: str | None, ns: str, name: str, write: bool = False) -> Repo:
        repo = self.store.get(REPO_TYPES[types or "models"], f"{ns}/{name}", h.user())
        if write:
            self._writable(h, ns)
        return repo

    def create_repo(self, h: _Handler) -> tuple:
        body = h.json()
        user = h.user(required=True)
        owner = body.get("organization") or user
        self._writable(h, owner)
        repo_type = body.get("type") or "model"
        repo_id = f"{owner}/{body['name']}"
        if repo_type == "space" and not body.get("sdk"):
            raise HubError(400, "Spaces need an sdk (gradio, docker, static)")
        private = bool(body.get("private")) or body.get("visibility") == "private"
        url = f"{self.hub.url}/{URL_PREFIX[repo_type]}{repo_id}"
        try:
            self.store.create(repo_type, repo_id, private, body.get("sdk"), user)
        except HubError as err:
            if err.status != 409:
                raise
            return 409, {"error": err.message, "url": url}, {"X-Error-Message": err.message}
        return 200, {"url": url, "name": repo_id, "id": repo_id}, {}

    def delete_repo(self, h: _Handler) -> dict:
        body = h.json()
        repo_type = body.get("type") or "model"
        owner = body.get("organization") or h.user(required=True)
        repo_id = f"{owner}/{body['name']}"
        self.store.get(repo_type, repo_id, h.user())
        self._writable(h, owner)
        del self.store.repos[(repo_type, repo_id)]
        return {}

    def move_repo(self, h: _Handler) -> dict:
        body = h.json()
        repo_type = body.get("type") or "model"
        repo = self.store.get(repo_type, body["fromRepo"], h.user())
        self._writable(h, repo.owner)
        self._writable(h, body["toRepo"].split("/")[0])
        del self.store.repos[(repo_type, repo.repo_id)]
        repo.repo_id = body["toRepo"]
        self.store.repos[(repo_type, repo.repo_id)] = repo
        return {}

    def settings(self, h: _Handler, types: str, ns: str, name: str) -> dict:
        repo = self._repo(h, types, ns, name, write=True)
        body = h.json()
        if "private" in body:
            repo.private = bool(body["private"])
        if "visibility" in body:
            repo.private = body["visibility"] == "private"
        return {}

    def validate_yaml(self, h: _Handler) -> tuple:
        content = h.json().get("content", "")
        try:
            front_matter(content)
        except HubError as err:
            return 400, {"errors": [{"message": err.message}], "warnings": []}, {}
        return 200, {"errors": [], "warnings": []}, {}

    def list_repos(self, h: _Handler, types: str) -> list:
        user, out = h.user(), []
        author = (h.query.get("author") or [None])[0]
        search = (h.query.get("search") or [""])[0].lower()
        for (repo_type, repo_id), repo in sorted(self.store.repos.items()):
            if repo_type != REPO_TYPES[types] or (repo.private and not self.store.can_read(user, repo)):
                continue
            if (author and repo.owner != author) or search not in repo_id.lower():
                continue
            out.append(self._info(repo, repo.branches["main"], siblings=False))
        limit = (h.query.get("limit") or [None])[0]
        return out[: int(limit)] if limit else out

    def _info(self, repo: Repo, sha: str, siblings: bool = True, blobs: bool = False) -> dict:
        commit = repo.commits[sha]
        card = {}
        if "README.md" in commit.files:
            try:
                card = front_matter(self.store.read(commit.files["README.md"]).decode("utf-8",
                                                                                       "replace")) or {}
            except HubError:
                card = {}
        tags = list(card.get("tags") or []) if isinstance(card.get("tags"), list) else []
        info: dict[str, Any] = {
            "_id": hashlib.md5(repo.repo_id.encode()).hexdigest()[:24], "id": repo.repo_id,
            "author": repo.owner, "sha": sha, "lastModified": commit.date,
            "createdAt": repo.created_at, "private": repo.private, "gated": False,
            "disabled": False, "likes": 0, "downloads": 0, "tags": tags, "cardData": card}
        if siblings:
            info["siblings"] = [self._sibling(p, e, blobs) for p, e in sorted(commit.files.items())]
        if repo.repo_type == "space":
            info.update(sdk=repo.sdk or card.get("sdk"), host=repo.host,
                        subdomain=repo.repo_id.replace("/", "-").lower(),
                        runtime=self._runtime(repo))
            info["tags"] = [*tags, repo.sdk] if repo.sdk and repo.sdk not in tags else tags
        if repo.repo_type == "model":
            info.update(modelId=repo.repo_id, library_name=card.get("library_name"),
                        pipeline_tag=card.get("pipeline_tag"))
        if repo.repo_type == "dataset":
            info["description"] = card.get("pretty_name")
        return info

    @staticmethod
    def _sibling(path: str, entry: dict, blobs: bool) -> dict:
        sib: dict[str, Any] = {"rfilename": path}
        if blobs:
            sib.update(size=entry["size"], blobId=entry["oid"])
            if entry.get("lfs"):
                sib["lfs"] = {"sha256": entry["lfs"], "size": entry["size"],
                              "pointerSize": len(lfs_pointer(entry["lfs"], entry["size"]))}
        return sib

    def _runtime(self, repo: Repo) -> dict:
        files = repo.commits[repo.branches["main"]].files
        has_app = any(p in files for p in ("app.py", "Dockerfile", "index.html"))
        stage = repo.stage or ("RUNNING" if repo.host else ("STOPPED" if has_app else "NO_APP_FILE"))
        return {"stage": stage, "hardware": {"current": "cpu-basic", "requested": "cpu-basic"},
                "storage": None, "gcTimeout": 172800, "replicas": {"current": 1, "requested": 1},
                "devMode": False, "domains": [{"domain": (repo.host or "").split("://")[-1],
                                               "stage": "READY"}] if repo.host else []}

    def repo_info(self, h: _Handler, types: str, ns: str, name: str, rev: str = "main") -> dict:
        repo = self._repo(h, types, ns, name)
        blobs = (h.query.get("blobs") or ["false"])[0].lower() == "true"
        return self._info(repo, repo.resolve(rev), blobs=blobs)

    def runtime(self, h: _Handler, ns: str, name: str) -> dict:
        return self._runtime(self._repo(h, "spaces", ns, name))

    def space_kv(self, h: _Handler, ns: str, name: str, kind: str) -> Any:
        repo = self._repo(h, "spaces", ns, name, write=True)
        store = repo.secrets if kind == "secrets" else repo.variables
        method = h.command
        if method == "GET":
            if kind == "secrets":  # values of secrets are never returned
                return [{"key": k, "updatedAt": now()} for k in store]
            return {k: {"value": v["value"], "description": v.get("description"),
                        "updatedAt": now()} for k, v in store.items()}
        body = h.json()
        if method == "DELETE":
            store.pop(body.get("key"), None)
            return {}
        store[body["key"]] = body["value"] if kind == "secrets" else \
            {"value": body["value"], "description": body.get("description")}
        return {}

    # -- listing --
    def _commit(self, h: _Handler, types: str, ns: str, name: str, rev: str) -> tuple[Repo, Commit]:
        repo = self._repo(h, types, ns, name)
        return repo, repo.commits[repo.resolve(rev)]

    def _entry(self, repo: Repo, commit: Commit, path: str, folder_oids: dict) -> dict:
        if path in commit.files:
            entry = commit.files[path]
            out = {"type": "file", "oid": entry["oid"], "size": entry["size"], "path": path}
            if entry.get("lfs"):
                out["lfs"] = {"oid": entry["lfs"], "size": entry["size"],
                              "pointerSize": len(lfs_pointer(entry["lfs"], entry["size"]))}
            return out
        return {"type": "directory", "oid": folder_oids[path], "size": 0, "path": path}

    def _with_last_commit(self, repo: Repo, commit: Commit, item: dict) -> dict:
        """Add the last commit that changed a file (for folders: the listed commit)."""
        last = commit
        entry = commit.files.get(item["path"])
        while entry is not None and last.parents:
            parent = repo.commits[last.parents[0]]
            if parent.files.get(item["path"]) != entry:
                break
            last = parent
        item["lastCommit"] = {"id": last.sha, "title": last.title, "date": last.date}
        return item

    def tree(self, h: _Handler, types: str, ns: str, name: str, rev: str, path: str = "") -> tuple:
        repo, commit = self._commit(h, types, ns, name, rev)
        path = path.strip("/")
        folders = tree_oids(commit.files)
        if path and path not in folders:
            raise HubError(404, f"Entry not found: {path}", "EntryNotFound")
        recursive = (h.query.get("recursive") or ["false"])[0].lower() in ("true", "1")
        prefix = path + "/" if path else ""
        names = set()
        for p in [*commit.files, *[f for f in folders if f]]:
            if not p.startswith(prefix) or p == path:
                continue
            rest = p[len(prefix):]
            if recursive or "/" not in rest:
                names.add(p)
        items = [self._entry(repo, commit, p, folders) for p in sorted(names)]
        if (h.query.get("expand") or ["false"])[0].lower() in ("true", "1"):
            items = [self._with_last_commit(repo, commit, i) for i in items]
        start = int((h.query.get("cursor") or ["0"])[0])
        page = items[start:start + self.hub.page_size]
        headers = {}
        if start + self.hub.page_size < len(items):
            query = dict(h.query, cursor=[str(start + self.hub.page_size)])
            url = f"{self.hub.url}{h.path.split('?')[0]}?{urllib.parse.urlencode(query, doseq=True)}"
            headers["Link"] = f'<{url}>; rel="next"'
        return 200, page, headers

    def paths_info(self, h: _Handler, types: str, ns: str, name: str, rev: str) -> list:
        repo, commit = self._commit(h, types, ns, name, rev)
        form = urllib.parse.parse_qs(h.body.decode())
        if not form and h.body.startswith(b"{"):
            form = {k: v if isinstance(v, list) else [v] for k, v in h.json().items()}
        folders = tree_oids(commit.files)
        out = [self._entry(repo, commit, p.strip("/"), folders) for p in form.get("paths", [])
               if p.strip("/") in commit.files or (p.strip("/") in folders and p.strip("/"))]
        if str((form.get("expand") or ["false"])[0]).lower() in ("true", "1"):
            out = [self._with_last_commit(repo, commit, i) for i in out]
        return out

    def refs(self, h: _Handler, types: str, ns: str, name: str) -> dict:
        repo = self._repo(h, types, ns, name)
        branches = [{"name": b, "ref": f"refs/heads/{b}", "targetCommit": s}
                    for b, s in repo.branches.items() if not b.startswith("refs/pr/")]
        prs = [{"name": b, "ref": b, "targetCommit": s}
               for b, s in repo.branches.items() if b.startswith("refs/pr/")]
        tags = [{"name": t, "ref": f"refs/tags/{t}", "targetCommit": s} for t, s in repo.tags.items()]
        return {"branches": branches, "converts": [], "tags": tags, "pullRequests": prs}

    def commits(self, h: _Handler, types: str, ns: str, name: str, rev: str) -> list:
        repo, commit = self._commit(h, types, ns, name, rev)
        return [{"id": c.sha, "title": c.title, "message": c.message, "date": c.date,
                 "authors": [{"user": c.author}], "parents": c.parents}
                for c in self.store.history(repo, commit.sha)]

    # -- branches and tags --
    def create_branch(self, h: _Handler, types: str, ns: str, name: str, rev: str) -> dict:
        repo = self._repo(h, types, ns, name, write=True)
        if rev in repo.branches:
            raise HubError(409, f"Reference refs/heads/{rev} already exists")
        start = h.json().get("startingPoint") or "main"
        repo.branches[rev] = repo.resolve(start)
        return {}

    def delete_branch(self, h: _Handler, types: str, ns: str, name: str, rev: str) -> dict:
        repo = self._repo(h, types, ns, name, write=True)
        if rev not in repo.branches or rev == "main":
            raise HubError(404 if rev != "main" else 403, f"Cannot delete branch {rev}",
                           "RevisionNotFound" if rev != "main" else None)
        del repo.branches[rev]
        return {}

    def create_tag(self, h: _Handler, types: str, ns: str, name: str, rev: str) -> dict:
        repo = self._repo(h, types, ns, name, write=True)
        tag = h.json()["tag"]
        if tag in repo.tags:
            raise HubError(409, f"Tag {tag} already exists")
        repo.tags[tag] = repo.resolve(rev)
        return {}

    def delete_tag(self, h: _Handler, types: str, ns: str, name: str, rev: str) -> dict:
        repo = self._repo(h, types, ns, name, write=True)
        if repo.tags.pop(rev, None) is None:
            raise HubError(404, f"Tag {rev} not found", "RevisionNotFound")
        return {}

    # -- uploads --
    def preupload(self, h: _Handler, types: str, ns: str, name: str, rev: str) -> dict:
        repo, commit = self._commit(h, types, ns, name, rev)
        self._writable(h, repo.owner)
        out = []
        for f in h.json().get("files", []):
            sample = base64.b64decode(f.get("sample", ""))
            lfs = (f.get("size", 0) >= LFS_THRESHOLD or b"\x00" in sample
                   or f["path"].lower().endswith(LFS_EXTENSIONS))
            existing = commit.files.get(f["path"])
            oid = None
            if existing:
                oid = existing["lfs"] if existing.get("lfs") else existing["oid"]
            out.append({"path": f["path"], "uploadMode": "lfs" if lfs else "regular",
                        "shouldIgnore": False, "oid": oid})
        return {"files": out, "commitOid": commit.sha}

    def lfs_batch(self, h: _Handler, ns: str, name: str, types: str | None = None) -> tuple:
        self._repo(h, types, ns, name, write=True)  # exists, and the caller may write
        objects = []
        for obj in h.json().get("objects", []):
            item: dict[str, Any] = {"oid": obj["oid"], "size": obj["size"]}
            if not self.store.has_lfs(obj["oid"]):
                href = f"{self.hub.url}/_lfs/{obj['oid']}"
                item["actions"] = {"upload": {"href": href, "header": {}},
                                   "verify": {"href": href + "/verify", "header": {}}}
            objects.append(item)
        return 200, {"transfer": "basic", "objects": objects, "hash_algo": "sha256"}, {}

    def lfs_upload(self, h: _Handler, oid: str) -> dict:
        if hashlib.sha256(h.body).hexdigest() != oid:
            raise HubError(400, "LFS upload content does not match its oid")
        self.store.put_lfs(h.body)
        return {}

    def lfs_verify(self, h: _Handler, oid: str) -> dict:
        if not self.store.has_lfs(oid):
            raise HubError(404, f"LFS object {oid} was not uploaded")
        return {}

    def commit(self, h: _Handler, types: str, ns: str, name: str, rev: str) -> dict:
        repo = self._repo(h, types, ns, name, write=True)
        user = h.user(required=True)
        branch = rev
        if (h.query.get("create_pr") or ["0"])[0] in ("1", "true"):
            base = repo.resolve(rev)
            branch = f"refs/pr/{sum(b.startswith('refs/pr/') for b in repo.branches) + 1}"
            repo.branches[branch] = base
        elif branch not in repo.branches:
            raise HubError(404 if branch not in repo.tags else 400,
                           f"Cannot commit to {branch}: it is not a branch", "RevisionNotFound")
        lines = [json.loads(line) for line in h.body.decode().splitlines() if line.strip()]
        header = next((x["value"] for x in lines if x["key"] == "header"), {})
        parent = header.get("parentCommit")
        if parent and parent != repo.branches[branch]:
            raise HubError(412, "A commit has happened since. Please refresh and try again.")
        files = dict(repo.commits[repo.branches[branch]].files)
        for item in lines:
            self._apply(files, item["key"], item["value"])
        commit = self.store.add_commit(repo, branch, files, header.get("summary") or "Commit",
                                       header.get("description") or "", user)
        base = f"{self.hub.url}/{URL_PREFIX[repo.repo_type]}{repo.repo_id}"
        pr = f"{base}/discussions/{branch.split('/')[-1]}" if branch.startswith("refs/pr/") else None
        return {"success": True, "commitOid": commit.sha, "commitUrl": f"{base}/commit/{commit.sha}",
                "pullRequestUrl": pr}

    def _apply(self, files: dict, key: str, value: dict) -> None:
        path = value.get("path", "").strip("/")
        if key == "file":
            data = base64.b64decode(value["content"]) if value.get("encoding") == "base64" \
                else value["content"].encode()
            files[path] = {"oid": self.store.put_blob(data), "size": len(data), "lfs": None}
        elif key == "lfsFile":
            if not self.store.has_lfs(value["oid"]):
                raise HubError(422, f"LFS file {path} was not uploaded (oid {value['oid']})")
            files[path] = self.store.lfs_entry(value["oid"])
        elif key == "deletedFile":
            if files.pop(path, None) is None:
                raise HubError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
        elif key == "deletedFolder":
            for p in [p for p in files if p.startswith(path + "/")]:
                del files[p]

    # -- downloads --
    def resolve(self, h: _Handler, ns: str, name: str, rev: str, path: str,
                types: str | None = None) -> tuple:
        repo = self._repo(h, types, ns, name)
        sha = repo.resolve(rev)
        entry = repo.commits[sha].files.get(path)
        if entry is None:
            raise HubError(404, f"Entry not found: {path}", "EntryNotFound")
        data = self.store.read(entry)
        etag = entry["lfs"] or entry["oid"]
        headers = {"X-Repo-Commit": sha, "ETag": f'"{etag}"', "Accept-Ranges": "bytes"}
        if entry.get("lfs"):
            headers.update({"X-Linked-Etag": f'"{etag}"', "X-Linked-Size": str(len(data))})
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", h.headers.get("Range", ""))
        if match and h.command == "GET":
            start, end = int(match.group(1)), int(match.group(2) or len(data) - 1)
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            return 206, data[start:end + 1], headers
        return 200, data, headers


def make_handler(hub: "HubServer") -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to ``hub`` (its store, users, faults and log)."""
    return type("HubHandler", (_Handler,), {"hub": hub, "api": _Api(hub)})
