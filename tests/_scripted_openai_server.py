"""A scripted OpenAI-compatible chat-completions server on 127.0.0.1, for tests and benches.

It speaks ``POST /v1/chat/completions`` (plain JSON, or server-sent events with
``"stream": true``, including the usage chunk of ``stream_options.include_usage``)
and ``GET /v1/models``, so the real ``openai`` client (and through it
``OpenAIServerModel``) talks to it as to any server. What it replies comes from a
script, never from a model:

- ``replies=[...]``: one reply per request, in order, shared by every client;
- ``scripts={"task keyword": [...]}`` (see :func:`by_task`): each conversation gets
  the replies of the first keyword found in its latest task, indexed by the number of
  assistant turns since that task. Concurrent visitors each follow their own script;
- ``responder=fn``: ``fn(request_json) -> str | Reply`` decides.

A :class:`Reply` can be slow (``delay_s`` before the first byte, ``chunk_delay_s``
between chunks), fail with an HTTP status, or stream in chunks of ``chunk_size``
characters. Stop sequences of the request are honoured like a real server does.
Every request body is kept in :attr:`ScriptedOpenAIServer.requests`.

Example:
    >>> with ScriptedOpenAIServer(replies=["Hello!"]) as server:      # doctest: +SKIP
    ...     model = OpenAIServerModel("scripted", api_base=server.base_url, api_key="k")
    ...     model.generate([{"role": "user", "content": "Hi"}]).content
    'Hello!'
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Sequence

__all__ = ["ScriptedOpenAIServer", "Reply", "by_task", "last_task", "code_reply"]


@dataclass
class Reply:
    """One scripted reply.

    Attributes:
        text: the assistant's content.
        delay_s: wait before answering (a slow model).
        chunk_delay_s: wait between streamed chunks (slow tokens).
        status: an HTTP error status to answer with instead (e.g. 401, 500).
        error: the error message sent with ``status``.
        chunk_size: characters per streamed chunk (default: the server's).
    """

    text: str = ""
    delay_s: float = 0.0
    chunk_delay_s: float = 0.0
    status: int = 200
    error: str = "scripted error"
    chunk_size: int | None = None


def code_reply(code: str, thought: str = "I will run some code.") -> str:
    """A CodeAgent-style reply: a thought, then the code in a fenced block."""
    return f"Thought: {thought}\nCode:\n```py\n{code}\n```<end_code>"


def _text_of(content: Any) -> str:
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content or ""


def last_task(messages: list[dict]) -> tuple[str, int]:
    """The text of the latest user turn that starts a task, and the assistant turns since.

    Tasks are user messages containing ``New task:`` (agent_core's memory format);
    without any, the first user message counts as the task.
    """
    task_index = next((i for i in range(len(messages) - 1, -1, -1)
                       if messages[i].get("role") == "user"
                       and "New task:" in _text_of(messages[i].get("content"))), None)
    if task_index is None:
        task_index = next((i for i, m in enumerate(messages) if m.get("role") == "user"), 0)
    turns = sum(1 for m in messages[task_index + 1:] if m.get("role") == "assistant")
    task = _text_of(messages[task_index].get("content")) if messages else ""
    return task, turns


def by_task(scripts: dict[str, Sequence[str | Reply]],
            default: str | Reply | None = None) -> Callable[[dict], str | Reply]:
    """A responder that follows one script per task keyword.

    Args:
        scripts: keyword -> replies. The first keyword contained in the latest task
            picks the script; the number of assistant turns since that task picks
            the reply (the last reply repeats when the script runs out).
        default: the reply when no keyword matches (default: a final answer
            saying so, so that an unexpected task ends instead of hanging).
    """
    fallback = default if default is not None else code_reply(
        'final_answer("no script for this task")')

    def respond(request: dict) -> str | Reply:
        task, turns = last_task(request.get("messages") or [])
        task_head = task.split("You have been provided with these additional arguments")[0]
        for keyword, replies in scripts.items():
            if keyword in task_head and replies:
                return replies[min(turns, len(replies) - 1)]
        return fallback

    return respond


class ScriptedOpenAIServer:
    """An OpenAI-compatible server on 127.0.0.1 that replies from a script.

    Args:
        replies: replies served in order to every request (with ``loop`` they repeat).
        responder: ``fn(request_json) -> str | Reply``; takes precedence over ``replies``.
        scripts: keyword -> replies, per conversation (see :func:`by_task`).
        chunk_size: characters per streamed chunk.
        api_key: when set, requests must carry ``Authorization: Bearer <api_key>``
            (else 401, like a real server with a bad key).
        loop: start the ``replies`` over when they run out (else: HTTP 500).
        port: 0 picks a free port.
    """

    def __init__(self, replies: Sequence[str | Reply] = (), *,
                 responder: Callable[[dict], str | Reply] | None = None,
                 scripts: dict[str, Sequence[str | Reply]] | None = None,
                 chunk_size: int = 6, api_key: str | None = None, loop: bool = False,
                 port: int = 0):
        if responder is None and scripts is not None:
            responder = by_task(scripts)
        self.replies = list(replies)
        self.responder = responder
        self.chunk_size = chunk_size
        self.api_key = api_key
        self.loop = loop
        self.requests: list[dict] = []
        self._index = 0
        self._lock = threading.Lock()
        self._port = port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    @property
    def base_url(self) -> str:
        """The ``.../v1`` URL to give as ``api_base``."""
        return f"{self.url}/v1"

    def start(self) -> "ScriptedOpenAIServer":
        """Start serving in a background thread."""
        self._httpd = ThreadingHTTPServer(("127.0.0.1", self._port), _make_handler(self))
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True,
                                        name="scripted-openai-server")
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> "ScriptedOpenAIServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def next_reply(self, request: dict) -> Reply:
        """The reply for one request (recorded in :attr:`requests`)."""
        with self._lock:
            self.requests.append(request)
            if self.responder is None:
                if self._index >= len(self.replies):
                    if not (self.loop and self.replies):
                        return Reply(status=500, error="the script has no more replies")
                    self._index = 0
                reply = self.replies[self._index]
                self._index += 1
        if self.responder is not None:
            reply = self.responder(request)
        return reply if isinstance(reply, Reply) else Reply(text=str(reply))


def _apply_stop(text: str, stop: Any) -> str:
    stops = [stop] if isinstance(stop, str) else list(stop or [])
    cuts = [text.find(s) for s in stops if s and s in text]
    return text[:min(cuts)] if cuts else text


def _usage(request: dict, text: str) -> dict:
    prompt = sum(len(_text_of(m.get("content"))) for m in request.get("messages") or [])
    prompt_tokens, completion_tokens = prompt // 4 + 1, len(text) // 4 + 1
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


class _Handler(BaseHTTPRequestHandler):
    """The HTTP side; ``server_script`` is the :class:`ScriptedOpenAIServer`."""

    protocol_version = "HTTP/1.0"  # one request per connection: SSE ends at close
    server_script: ScriptedOpenAIServer

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _json(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorised(self) -> bool:
        key = self.server_script.api_key
        if key is None or self.headers.get("Authorization") == f"Bearer {key}":
            return True
        self._json(401, {"error": {"message": "Incorrect API key provided",
                                   "type": "invalid_request_error", "code": "invalid_api_key"}})
        return False

    def do_GET(self) -> None:  # noqa: N802
        if not self.path.rstrip("/").endswith("/models"):
            self._json(404, {"error": {"message": "not found"}})
        elif self._authorised():
            self._json(200, {"object": "list", "data": [
                {"id": "scripted", "object": "model", "owned_by": "tests"}]})

    def do_POST(self) -> None:  # noqa: N802
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._json(404, {"error": {"message": f"no route {self.path}"}})
            return
        length = int(self.headers.get("Content-Length") or 0)
        request = json.loads(self.rfile.read(length) or b"{}")
        if not self._authorised():
            return
        reply = self.server_script.next_reply(request)
        if reply.delay_s:
            time.sleep(reply.delay_s)
        if reply.status != 200:
            self._json(reply.status, {"error": {"message": reply.error, "type": "scripted_error"}})
            return
        text = _apply_stop(reply.text, request.get("stop"))
        if request.get("stream"):
            self._stream(request, reply, text)
        else:
            self._json(200, _completion(request, text))

    def _stream(self, request: dict, reply: Reply, text: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        cid, model = f"chatcmpl-{uuid.uuid4().hex[:12]}", request.get("model", "scripted")
        size = reply.chunk_size or self.server_script.chunk_size
        pieces = [text[i:i + size] for i in range(0, len(text), size)] or [""]
        try:
            for n, piece in enumerate(pieces):
                delta = {"content": piece, **({"role": "assistant"} if n == 0 else {})}
                self._event(_chunk(cid, model, delta, None))
                if reply.chunk_delay_s:
                    time.sleep(reply.chunk_delay_s)
            self._event(_chunk(cid, model, {}, "stop"))
            if (request.get("stream_options") or {}).get("include_usage"):
                self._event({**_chunk(cid, model, {}, None), "choices": [],
                             "usage": _usage(request, text)})
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away (an interrupted run): nothing to do

    def _event(self, payload: dict) -> None:
        self.wfile.write(b"data: " + json.dumps(payload).encode() + b"\n\n")
        self.wfile.flush()


def _make_handler(server: ScriptedOpenAIServer) -> type[BaseHTTPRequestHandler]:
    return type("ScriptedHandler", (_Handler,), {"server_script": server})


def _chunk(cid: str, model: str, delta: dict, finish: str | None) -> dict:
    return {"id": cid, "object": "chat.completion.chunk", "created": int(time.time()),
            "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def _completion(request: dict, text: str) -> dict:
    return {"id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion",
            "created": int(time.time()), "model": request.get("model", "scripted"),
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}],
            "usage": _usage(request, text)}
