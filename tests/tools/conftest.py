"""Fixtures of the toolbox tests: a local HTTP server, spoken audio, an offline model cache."""

from __future__ import annotations

import http.server
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

SPOKEN_TEXT = "Please open the window and turn on the light."


@dataclass
class Route:
    """What the local server answers on one path."""

    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict = field(default_factory=dict)
    delay_s: float = 0.0
    drip_s: float = 0.0  # pause between 1 KiB pieces of the body


class LocalServer:
    """An http.server on 127.0.0.1 (a free port) serving :class:`Route` s.

    ``requests`` records ``(method, path, body)`` of every request received.
    """

    def __init__(self):
        self.routes: dict[str, Route | Callable[[bytes], Route]] = {}
        self.requests: list[tuple[str, str, bytes]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("content-length") or 0)
                data = self.rfile.read(length) if length else b""
                path = self.path.split("?")[0]
                server.requests.append((self.command, self.path, data))
                route = server.routes.get(path, Route(b"not found", 404, "text/plain"))
                if callable(route):
                    route = route(data)
                if route.delay_s:
                    time.sleep(route.delay_s)
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Content-Length", str(len(route.body)))
                for k, v in route.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    step = 1024 if route.drip_s else max(1, len(route.body))
                    for i in range(0, len(route.body), step):
                        self.wfile.write(route.body[i:i + step])
                        self.wfile.flush()
                        time.sleep(route.drip_s)
                except OSError:  # the client gave up (timeout tests)
                    pass

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    srv = LocalServer()
    yield srv
    srv.close()


@pytest.fixture
def closed_port_url():
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="session")
def spoken_wav(tmp_path_factory) -> Path:
    """A WAV of SPOKEN_TEXT made with espeak-ng (22.05 kHz mono 16-bit)."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        pytest.skip("espeak-ng is not installed: apt-get install -y espeak-ng")
    path = tmp_path_factory.mktemp("speech") / "speech.wav"
    subprocess.run([exe, "-s", "140", "-w", str(path), SPOKEN_TEXT], check=True,
                   capture_output=True, timeout=60)
    return path


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory) -> Path:
    """A fresh AGENT_CORE_CACHE for the session: offline models are assembled there."""
    return tmp_path_factory.mktemp("agent_core_cache")
