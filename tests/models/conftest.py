"""Fixtures of the model backend tests.

- ``embedded_gguf`` / ``embedded_gguf_05b``: the real embedded GGUFs (assembled once).
- ``llama_model``: one in-process LlamaCppModel on the 1.5B GGUF, shared by the session.
- ``llama_server``: ``python -m llama_cpp.server`` on 127.0.0.1 serving the same GGUF.
- ``chat_server``: a tiny scripted OpenAI-style HTTP server, for failures a real
  server will not produce on demand (429, 5xx, 401) and for Azure's URL shape.
- ``weather_tool``: a real agent_core tool (or a stub with ``to_json_schema``).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests._llama_server import LlamaServer

SERVED_MODEL = "qwen2.5-coder-1.5b"


@pytest.fixture(scope="session")
def embedded_gguf():
    from agent_core.models import embedded_gguf_path

    return embedded_gguf_path("1.5b")


@pytest.fixture(scope="session")
def embedded_gguf_05b():
    from agent_core.models import embedded_gguf_path

    return embedded_gguf_path("0.5b")


@pytest.fixture(scope="session")
def llama_model(embedded_gguf):
    from agent_core.models import LlamaCppModel

    return LlamaCppModel(max_tokens=48, temperature=0.0, seed=0)


@pytest.fixture(scope="session")
def llama_server(embedded_gguf):
    with LlamaServer(embedded_gguf, model_alias=SERVED_MODEL, n_ctx=4096) as server:
        yield server


class _StubTool:
    name = "get_weather"

    def to_json_schema(self) -> dict:
        return {"name": "get_weather", "description": "Get the current weather in a city.",
                "parameters": {"type": "object", "required": ["city"], "properties": {
                    "city": {"type": "string", "description": "the city"}}}}


@pytest.fixture(scope="session")
def weather_tool():
    try:
        from agent_core.tools.base import tool
    except ImportError:
        return _StubTool()

    @tool
    def get_weather(city: str) -> str:
        """Get the current weather in a city.

        Args:
            city: the city.
        """
        return f"Sunny in {city}"

    return get_weather


# --- a scripted OpenAI-style server ------------------------------------------------


def completion_body(content: str = "ok", prompt_tokens: int = 7,
                    completion_tokens: int = 2) -> dict:
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens}}


def _stream_events(content: str) -> list[dict]:
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0, "model": "m"}
    events = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": c},
                                    "finish_reason": None}]} for c in content]
    events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    usage = {"prompt_tokens": 7, "completion_tokens": len(content),
             "total_tokens": 7 + len(content)}
    events.append({**base, "choices": [], "usage": usage})
    return events


class ChatServer:
    """Answers ``POST .../chat/completions`` from a script of ``(status, body)``.

    A 200 answers with ``body`` (or a default completion), as SSE when the request
    asks to stream. Once the script is used up, ``default`` answers. An error body
    may contain ``{key}``: it is replaced by the bearer token the client sent, as a
    careless server would echo it.
    """

    def __init__(self) -> None:
        self.script: list[tuple[int, Any]] = []
        self.default: tuple[int, Any] = (200, None)
        self.requests: list[dict] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _next(self) -> tuple[int, Any]:
        return self.script.pop(0) if self.script else self.default

    def _handler(self) -> type:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                url = urlsplit(self.path)
                server.requests.append({"path": url.path, "query": parse_qs(url.query),
                                        "headers": dict(self.headers), "json": body})
                status, answer = server._next()
                key = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                key = key or self.headers.get("api-key", "")
                if status != 200:
                    text = json.dumps(answer or {"error": {"message": f"error {status}"}})
                    return self._send(status, text.replace("{key}", key), "application/json")
                if body.get("stream"):
                    return self._stream(answer)
                self._send(200, json.dumps(answer or completion_body()), "application/json")

            def _send(self, status: int, text: str, ctype: str) -> None:
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, answer: Any) -> None:
                events = _stream_events(answer if isinstance(answer, str) else "ok!")
                text = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
                self._send(200, text, "text/event-stream")

        return Handler

    def start(self) -> "ChatServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def chat_server():
    server = ChatServer().start()
    yield server
    server.stop()
