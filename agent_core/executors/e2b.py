"""The E2B executor: model code in an E2B cloud sandbox (a Firecracker microVM)."""

from __future__ import annotations

import base64
import inspect
import io
import json
import logging
import os
import re
import sys
import threading
import textwrap
from typing import Any, Callable, Iterable

from ..exceptions import InterpreterError, MissingDependencyError
from . import _codec
from ._policy import normalise_imports
from .base import CodeOutput, Executor
from .local import DEFAULT_MAX_PRINT_OUTPUTS_LENGTH

__all__ = ["E2BExecutor"]

logger = logging.getLogger(__name__)

_FINAL_MARKER = "__AC_FINAL__"
_FINAL_LINE = re.compile(re.escape(_FINAL_MARKER) + r"(.*)\n?")
_TOOL_SHIM = '''
class Tool:
    """Minimal stand-in for agent_core.Tool inside the sandbox."""
    def __init__(self, *args, **kwargs):
        self.is_initialized = False
    def setup(self):
        pass
    def __call__(self, *args, **kwargs):
        if not getattr(self, "is_initialized", False):
            self.setup()
            self.is_initialized = True
        return self.forward(*args, **kwargs)
'''
_FINAL_STUB = f'''
class _ACFinalAnswer(BaseException):
    pass

def final_answer(answer):
    print("\\n{_FINAL_MARKER}" + _ac_codec.dumps(answer), flush=True)
    raise _ACFinalAnswer()
'''


class E2BExecutor(Executor):
    """Runs model code in an E2B sandbox; isolation is E2B's microVM.

    Tools are re-created inside the sandbox from their source code (functions made
    with ``@tool``, plain functions, and ``Tool`` subclasses whose module-level
    dependencies are imported inside ``forward``); tools whose code cannot be sent
    (managed agents, closures) are reported by ``describe()`` as unavailable.
    ``final_answer`` is detected from a marker the sandbox prints, even if the code
    catches the exception that stops it; its value comes back as tagged JSON (never
    pickle) and is passed to the host's ``final_answer`` tool.

    Args:
        additional_authorized_imports: packages to ``pip install`` in the sandbox
            (stdlib modules are skipped).
        api_key: the E2B API key (default: ``E2B_API_KEY``).
        timeout: seconds per step.
        max_print_outputs_length: cap on captured stdout per step.
        sandbox: an existing ``e2b_code_interpreter.Sandbox`` (or a compatible object).
        **sandbox_kwargs: passed to ``Sandbox.create`` (``template``, ``timeout``...).

    Raises:
        MissingDependencyError: ``e2b-code-interpreter`` is not installed.
        ValueError: no API key.

    Example:
        >>> ex = E2BExecutor(additional_authorized_imports=["pandas"])  # E2B_API_KEY set
        >>> ex.send_tools({"final_answer": lambda answer: answer})
        >>> ex("final_answer(6 * 7)").output
        42
        >>> ex.close()
    """

    def __init__(self, additional_authorized_imports: Iterable[str] = (),
                 api_key: str | None = None, timeout: float | None = 30,
                 max_print_outputs_length: int | None = None, sandbox: Any = None,
                 **sandbox_kwargs: Any):
        self.authorized_imports = list(normalise_imports(additional_authorized_imports))
        self.additional_imports = list(additional_authorized_imports)
        self.timeout = timeout
        self.max_print_outputs_length = max_print_outputs_length or DEFAULT_MAX_PRINT_OUTPUTS_LENGTH
        self._sandbox_kwargs = sandbox_kwargs
        self._api_key = api_key or os.environ.get("E2B_API_KEY")
        self._tools: dict[str, Callable[..., Any]] = {}
        self.tools_unavailable: dict[str, str] = {}
        self._running = False
        self._lock = threading.Lock()
        self.sandbox = sandbox if sandbox is not None else self._create_sandbox()
        self._install_packages()
        self._bootstrap()

    # --- the interface -------------------------------------------------------------

    def send_tools(self, tools: dict[str, Callable[..., Any]]) -> None:
        """Define the tools inside the sandbox from their source code."""
        self._tools = dict(tools)
        self._tools.setdefault("final_answer", lambda answer: answer)
        self.tools_unavailable = {}
        for name, tool in self._tools.items():
            if name == "final_answer":
                continue
            try:
                source = _tool_source(name, tool)
            except (TypeError, OSError) as err:
                self.tools_unavailable[name] = f"no source code to send ({err})"
                continue
            execution = self.sandbox.run_code(source)
            if getattr(execution, "error", None) is not None:
                error = execution.error
                self.tools_unavailable[name] = f"{error.name}: {error.value}"
        if self.tools_unavailable:
            logger.warning("Tools not available in the E2B sandbox: %s", self.tools_unavailable)

    def send_variables(self, variables: dict[str, Any]) -> None:
        payload = _codec.dumps(dict(variables), allow_pickle=True)
        execution = self.sandbox.run_code(
            f"globals().update(_ac_codec.loads({payload!r}, allow_pickle=True))")
        if getattr(execution, "error", None) is not None:
            raise InterpreterError(f"Could not send variables: {execution.error.value}")

    def __call__(self, code: str) -> CodeOutput:
        """Run one step in the sandbox.

        Raises:
            InterpreterError: the code failed or timed out; ``err.logs`` holds stdout.
        """
        with self._lock:
            self._running = True
            try:
                execution = self.sandbox.run_code(code, timeout=self.timeout)
            except Exception as err:  # noqa: BLE001 - SDK timeouts and transport errors
                failure = InterpreterError(f"The E2B sandbox failed to run the code: "
                                           f"{type(err).__name__}: {err}")
                failure.logs = ""  # type: ignore[attr-defined]
                raise failure from None
            finally:
                self._running = False
        stdout = "".join(execution.logs.stdout)
        match = _FINAL_LINE.search(stdout)
        logs = _FINAL_LINE.sub("", stdout)
        if len(logs) > self.max_print_outputs_length:
            dropped = len(logs) - self.max_print_outputs_length
            logs = logs[:self.max_print_outputs_length] + \
                f"\n[... output truncated: {dropped} more characters ...]"
        if match:
            value = _codec.loads(match.group(1))
            return CodeOutput(output=self._tools["final_answer"](value), logs=logs,
                              is_final_answer=True)
        if execution.error is not None:
            failure = InterpreterError(f"{execution.error.name}: {execution.error.value}")
            failure.logs = logs  # type: ignore[attr-defined]
            raise failure
        return CodeOutput(output=_main_result(execution), logs=logs)

    def interrupt(self) -> None:
        """E2B offers no way to cancel one cell: the sandbox is killed and recreated."""
        if self._running:
            self.sandbox.kill()
            self.sandbox = self._create_sandbox()
            self._bootstrap()

    def reset(self) -> None:
        self.sandbox.run_code("%reset -f")
        self._bootstrap()

    def close(self) -> None:
        self.sandbox.kill()

    def describe(self) -> dict[str, Any]:
        return {"tier": type(self).__name__, "isolation": "E2B cloud sandbox (microVM)",
                "tools_in_sandbox": [n for n in self._tools if n not in self.tools_unavailable],
                "tools_unavailable": dict(self.tools_unavailable),
                "timeout_s": self.timeout}

    # --- internals -----------------------------------------------------------------

    def _create_sandbox(self) -> Any:
        try:
            from e2b_code_interpreter import Sandbox
        except ImportError:
            raise MissingDependencyError("E2BExecutor", "e2b-code-interpreter") from None
        if not self._api_key:
            raise ValueError("E2BExecutor needs an E2B API key: set E2B_API_KEY or pass "
                             "api_key=...")
        return Sandbox.create(api_key=self._api_key, **self._sandbox_kwargs)

    def _install_packages(self) -> None:
        packages = sorted({name.split(".")[0] for name in self.additional_imports
                           if name != "*" and name.split(".")[0] not in sys.stdlib_module_names})
        if packages:
            self.sandbox.commands.run("pip install --quiet " + " ".join(packages), timeout=300)

    def _bootstrap(self) -> None:
        codec_source = inspect.getsource(_codec)
        setup = ("import sys as _ac_sys, types as _ac_types\n"
                 "_ac_codec = _ac_types.ModuleType('_ac_codec')\n"
                 f"exec(compile({codec_source!r}, '_ac_codec', 'exec'), _ac_codec.__dict__)\n"
                 "_ac_sys.modules['_ac_codec'] = _ac_codec\n" + _TOOL_SHIM + _FINAL_STUB)
        execution = self.sandbox.run_code(setup)
        if getattr(execution, "error", None) is not None:
            raise RuntimeError(f"E2B sandbox set-up failed: {execution.error.value}")
        if self._tools:
            self.send_tools(self._tools)


def _tool_source(name: str, tool: Callable[..., Any]) -> str:
    """Python source that defines ``name`` in the sandbox."""
    fn = getattr(tool, "_source_function", None)
    if fn is None and inspect.isfunction(tool):
        fn = tool
    if fn is not None:
        source = _strip_decorators(textwrap.dedent(inspect.getsource(fn)))
        return source + (f"\n{name} = {fn.__name__}\n" if fn.__name__ != name else "")
    cls = type(tool)
    source = textwrap.dedent(inspect.getsource(cls))
    source = "\n".join(line for line in source.splitlines()
                       if not re.match(r"\s*from agent_core[\w.]* import", line))
    return f"{source}\n{name} = {cls.__name__}()\n"


def _strip_decorators(source: str) -> str:
    lines = source.splitlines()
    while lines and lines[0].lstrip().startswith("@"):
        lines.pop(0)
    return "\n".join(lines) + "\n"


def _main_result(execution: Any) -> Any:
    for result in getattr(execution, "results", []):
        if getattr(result, "is_main_result", False):
            if getattr(result, "png", None):
                from PIL import Image

                return Image.open(io.BytesIO(base64.b64decode(result.png)), formats=["PNG"])
            if getattr(result, "json", None) is not None:
                return result.json if not isinstance(result.json, str) else json.loads(result.json)
            return result.text
    return None
