"""A Hugging Face Hub-protocol server for tests, on 127.0.0.1, driven by the real client.

It speaks the subset of the Hub HTTP protocol that ``huggingface_hub`` (and through it
smolagents, gradio_client, ``datasets`` and ``CommitScheduler``) uses: whoami, repo
creation and deletion, repo info (Spaces with ``sdk``/``host``/``runtime``), tree and
paths-info listings, preupload, ndjson commits (regular files, git-LFS files through the
batch API, deletions), resolve (HEAD/GET with ``X-Repo-Commit``/``ETag``), refs,
branches, tags, commit history, Space secrets/variables/runtime, and README
``validate-yaml``. Repos live in a temporary folder; commits get real git-style shas
(sha1 over git tree and commit objects), so an unchanged tree pushed twice is detected
by the client exactly as on the Hub.

Test hooks: :meth:`HubServer.fail` injects failures (e.g. answer 500 to the next N
commits), :attr:`HubServer.requests` records every request (with a route template for
contract tests), :meth:`HubServer.tamper_file` changes a file at an existing commit
without changing its sha (a compromised mirror), :meth:`HubServer.set_space_host`
points a Space at a running Gradio app.

Example:
    >>> with HubServer(users={"hf_testtoken123456": "alice"}) as hub:   # doctest: +SKIP
    ...     api = HfApi(endpoint=hub.url, token="hf_testtoken123456")
    ...     api.create_repo("alice/demo", repo_type="dataset")

Not supported: Xet storage (set ``HF_HUB_DISABLE_XET=1``; the client then uses git-LFS),
multipart LFS uploads, discussions (``create_pr`` only makes a ``refs/pr/N`` branch),
gated repos, and the real Hub's rate limits.

Run it by hand with ``python -m tests.hub_server --port 8900 [--root DIR]``.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ._api import FaultRule, RecordedRequest, make_handler
from ._store import HubError, HubStore, Repo, git_blob_oid

__all__ = ["HubServer", "HubError", "FaultRule", "RecordedRequest", "Repo", "git_blob_oid"]


# --- the server -------------------------------------------------------------


class HubServer:
    """A Hub-protocol server on 127.0.0.1; use as a context manager or start()/stop().

    Args:
        users: token -> user name; requests with an unknown token get 401.
        orgs: user -> organisations the user can write to.
        root: folder for repos and blobs. By default a temporary one, removed at stop;
            a folder given here keeps its repos across restarts (saved at stop).
        port: 0 picks a free port.
        page_size: entries per page of tree listings (small values test pagination).
    """

    def __init__(self, users: dict[str, str] | None = None, orgs: dict[str, list[str]] | None = None,
                 root: str | Path | None = None, port: int = 0, page_size: int = 1000):
        self.users = dict(users or {"hf_test_token_0123456789abcdef": "test-user"})
        self.orgs = {u: tuple(o) for u, o in (orgs or {}).items()}
        self._own_root = root is None
        self.root = Path(root) if root else Path(tempfile.mkdtemp(prefix="hub-server-"))
        self.store = HubStore(self.root, self.orgs)
        self.store.load()  # a root given by the caller keeps its repos across restarts
        self.page_size = page_size
        self.requests: list[RecordedRequest] = []
        self._faults: list[FaultRule] = []
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self.stopped = False
        self._port = port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    @property
    def token(self) -> str:
        """The first user's token (handy for tests with one user)."""
        return next(iter(self.users))

    @property
    def user(self) -> str:
        return self.users[self.token]

    def start(self) -> "HubServer":
        self.stopped = False
        self._httpd = ThreadingHTTPServer(("127.0.0.1", self._port), make_handler(self))
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="hub-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close kept-alive connections, remove a temporary root."""
        self.stopped = True
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        with self.store.lock:
            if self._own_root:
                self.store.repos.clear()
            else:
                self.store.save()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "HubServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def env(self) -> dict[str, str]:
        """Environment variables pointing ``huggingface_hub`` at this server."""
        return {"HF_ENDPOINT": self.url, "HF_TOKEN": self.token, "HF_HUB_DISABLE_XET": "1",
                "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_DISABLE_IMPLICIT_TOKEN": "",
                "HF_HUB_ENABLE_HF_TRANSFER": "0"}

    # -- test hooks --
    def fail(self, path_regex: str, status: int = 500, times: int = 1, method: str | None = None,
             delay_s: float = 0.0, message: str = "Injected failure",
             error_code: str | None = None) -> FaultRule:
        """Answer ``status`` to the next ``times`` requests whose path matches.

        Example: ``hub.fail(r"/commit/", status=500, times=2)`` fails the next two commits.
        """
        rule = FaultRule(method, path_regex, status, times, delay_s, message, error_code)
        with self._lock:
            self._faults.append(rule)
        return rule

    def fail_next_commits(self, times: int = 1, status: int = 500) -> FaultRule:
        return self.fail(r"/commit/", status=status, times=times, method="POST")

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take_fault(self, method: str, path: str) -> FaultRule | None:
        with self._lock:
            for rule in self._faults:
                if rule.matches(method, path):
                    rule.hits += 1
                    break
            else:
                return None
        if rule.delay_s:
            time.sleep(rule.delay_s)
        return rule

    def _track(self, connection: socket.socket, opened: bool) -> None:
        with self._lock:
            (self._connections.add if opened else self._connections.discard)(connection)

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    def routes(self, since: int = 0) -> list[str]:
        """Route templates of the recorded requests (from index ``since``)."""
        with self._lock:
            return [r.route for r in self.requests[since:]]

    # -- direct access, no HTTP --
    def repo(self, repo_id: str, repo_type: str = "model") -> Repo:
        """The stored repo (commits, branches, tags...), for assertions."""
        return self._get(repo_type, repo_id)

    def _get(self, repo_type: str, repo_id: str) -> Repo:
        repo = self.store.repos.get((repo_type, repo_id))
        if repo is None:
            raise KeyError(f"no {repo_type} repo {repo_id}")
        return repo

    def read_file(self, repo_id: str, path: str, revision: str = "main",
                  repo_type: str = "model") -> bytes:
        with self.store.lock:
            repo = self._get(repo_type, repo_id)
            return self.store.read(repo.commits[repo.resolve(revision)].files[path])

    def list_files(self, repo_id: str, revision: str = "main", repo_type: str = "model") -> list[str]:
        with self.store.lock:
            repo = self._get(repo_type, repo_id)
            return sorted(repo.commits[repo.resolve(revision)].files)

    def head(self, repo_id: str, repo_type: str = "model", branch: str = "main") -> str:
        with self.store.lock:
            return self._get(repo_type, repo_id).branches[branch]

    def commit_count(self, repo_id: str, repo_type: str = "model", branch: str = "main") -> int:
        with self.store.lock:
            repo = self._get(repo_type, repo_id)
            return len(self.store.history(repo, repo.branches[branch]))

    def tamper_file(self, repo_id: str, path: str, content: bytes, revision: str = "main",
                    repo_type: str = "model") -> str:
        """Replace a file's content at an existing commit, keeping the commit sha.

        This is what a compromised server or mirror could do; returns the commit sha.
        """
        with self.store.lock:
            repo = self._get(repo_type, repo_id)
            sha = repo.resolve(revision)
            repo.commits[sha].files[path] = {"oid": self.store.put_blob(content),
                                             "size": len(content), "lfs": None}
            return sha

    def set_space_host(self, repo_id: str, host: str | None, stage: str | None = None) -> None:
        """Point a Space at a running app (what ``gradio_client`` connects to)."""
        with self.store.lock:
            repo = self._get("space", repo_id)
            repo.host, repo.stage = (host.rstrip("/") if host else None), stage

    def space_secrets(self, repo_id: str) -> dict[str, str]:
        with self.store.lock:
            return dict(self._get("space", repo_id).secrets)

    def space_variables(self, repo_id: str) -> dict[str, str]:
        with self.store.lock:
            return {k: v["value"] for k, v in self._get("space", repo_id).variables.items()}


def _main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Run the Hub-protocol test server.")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--token", default="hf_test_token_0123456789abcdef")
    parser.add_argument("--user", default="test-user")
    parser.add_argument("--root", default=None)
    args = parser.parse_args(argv)
    hub = HubServer(users={args.token: args.user}, root=args.root, port=args.port).start()
    print(f"Hub-protocol server on {hub.url} (user {args.user}); HF_ENDPOINT={hub.url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        hub.stop()
