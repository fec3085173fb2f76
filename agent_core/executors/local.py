"""The in-process executor: model code compiled to CPython bytecode, with guards."""

from __future__ import annotations

import threading
import traceback
from collections import OrderedDict
from typing import Any, Callable, Iterable

from ..exceptions import InterpreterError
from ._compiler import compile_restricted
from ._control import StepControl, StopSignal
from ._guards import REFUSED_BUILTINS, Guards, LogBuffer
from ._modules import ModulePolicy
from ._policy import CODE_FILENAME, DEFAULT_AUTHORIZED_IMPORTS, INTERNAL, normalise_imports
from .base import CodeOutput, Executor

__all__ = ["LocalPythonExecutor", "DEFAULT_AUTHORIZED_IMPORTS", "DEFAULT_MAX_PRINT_OUTPUTS_LENGTH"]

DEFAULT_MAX_PRINT_OUTPUTS_LENGTH = 50_000
_NOTHING = object()
_CACHE_SIZE = 64


def _default_final_answer(answer: Any) -> Any:
    return answer


class LocalPythonExecutor(Executor):
    """Runs model-written Python in this process, as compiled bytecode behind guards.

    The code is parsed and checked, risky constructs are rewritten into guard calls
    (see ``_compiler``), and the result runs at CPython speed. Model code gets:
    the tools, a small set of builtins, ``print`` (captured into ``logs``) and
    modules from the import allowlist, each as a proxy whose members are vetted.
    Variables and functions persist across calls; the value of the last expression
    statement is the step's output; ``final_answer(...)`` ends the step at once and
    cannot be swallowed by ``except``/``with``/``finally`` in the code.

    Refused at the language level: dunder attributes (by syntax, ``getattr``,
    ``str.format``/``string.Formatter`` field paths, ``operator.attrgetter``, match
    patterns), frames, tracebacks' frames, code objects and function globals; modules
    reached through an allowed module's internals (``random._os``, ``typing.sys``);
    writes to attributes of modules, classes, functions and tools the code did not
    create; rebinding a tool name; names that are not defined (no guessing).

    What it does NOT protect against (use :class:`SandboxExecutor` for untrusted
    input, e.g. a public Space):

    - library-level I/O and side effects of authorized third-party packages, e.g.
      ``pandas.read_csv("/etc/passwd")``, ``DataFrame.to_csv(path)``; such packages
      are trusted as a whole once authorized (only unpickling via ``numpy.load`` /
      ``pandas.read_pickle``, ``as_strided`` and ``ndarray.ctypes`` are refused);
    - shared interpreter state: the code's ``random.seed()`` or
      ``pandas.set_option()`` change the host's modules too;
    - explicitly authorized dangerous modules (``os``, ``subprocess``, ``"*"``);
    - memory exhaustion (``"x" * 10**10``), and long single C-level calls
      (``sum(range(10**12))``, a catastrophic regex): the time limit interrupts Python
      bytecode, not one C call;
    - special methods of the model's classes run later by the host (e.g. ``__repr__``
      when the output is rendered), outside the time limit.

    Args:
        additional_authorized_imports: modules allowed on top of
            :data:`DEFAULT_AUTHORIZED_IMPORTS` (``"pkg"``, ``"pkg.*"`` or ``"*"``).
        max_print_outputs_length: cap on the characters of ``print`` output kept.
        timeout: wall-clock seconds per step (time spent in tools excluded), or None.
        extra_builtins: builtins to add (the sandbox worker adds ``open`` there, where
            the OS confines it).

    Example:
        >>> ex = LocalPythonExecutor(additional_authorized_imports=["numpy"])
        >>> ex.send_tools({"final_answer": lambda answer: answer})
        >>> ex("x = 6 * 7\\nx").output
        42
    """

    def __init__(self, additional_authorized_imports: Iterable[str] = (),
                 max_print_outputs_length: int | None = None, timeout: float | None = 30,
                 *, extra_builtins: dict[str, Any] | None = None):
        self.authorized_imports = list(normalise_imports(additional_authorized_imports))
        self.max_print_outputs_length = max_print_outputs_length or DEFAULT_MAX_PRINT_OUTPUTS_LENGTH
        self.timeout = timeout
        self._guards = Guards()
        self._modules = ModulePolicy(self.authorized_imports, self._guards)
        self._builtins = self._guards.builtins(self._modules.import_, extra_builtins)
        self._handles: dict[str, Callable[..., Any]] = {}
        self._tools: dict[str, Callable[..., Any]] = {}
        self._lock = threading.Lock()
        self._owner: int | None = None
        self._control: StepControl | None = None
        self._final: Any = _NOTHING
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self._globals = self._fresh_globals()
        self.send_tools({})

    # --- the interface -----------------------------------------------------------

    def send_tools(self, tools: dict[str, Callable[..., Any]]) -> None:
        """Make ``tools`` callable by name; ``final_answer`` ends the step when called."""
        tools = dict(tools)
        tools.setdefault("final_answer", _default_final_answer)
        for name in self._handles:
            self._globals.pop(name, None)
        self._handles, self._tools = {}, tools
        for name, tool in tools.items():
            if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
                raise ValueError(f"Tool name {name!r} must be a public Python identifier")
            handle = self._make_handle(name, tool)
            self._guards.add_host_object(tool)
            self._guards.add_host_object(handle)
            self._handles[name] = handle
        self._globals.update(self._handles)
        self._cache.clear()

    def send_variables(self, variables: dict[str, Any]) -> None:
        """Inject variables (file paths, images...) into the code's namespace."""
        for name, value in variables.items():
            if not isinstance(name, str) or not name.isidentifier() or name.startswith("__"):
                raise ValueError(f"Variable name {name!r} must be a Python identifier not "
                                 "starting with '__'")
            if name in self._handles:
                raise ValueError(f"Variable name {name!r} is the name of a tool")
            self._guards.add_host_object(value)
            self._globals[name] = value

    def __call__(self, code: str) -> CodeOutput:
        """Run one step of code; see the class docstring.

        Raises:
            InterpreterError: refused code, an error in the code, the time limit or an
                interrupt; ``err.logs`` holds what was printed before.
        """
        if self._owner == threading.get_ident():
            raise InterpreterError("This executor is already running code in this thread.")
        with self._lock:
            self._owner = threading.get_ident()
            try:
                return self._run(code)
            finally:
                self._owner = None

    def interrupt(self) -> None:
        """Stop the running step (from another thread) within ~0.1 s of Python bytecode."""
        control = self._control
        if control is not None:
            control.stop("interrupt")

    def reset(self) -> None:
        """Forget variables, imports and definitions; tools stay."""
        self._globals = self._fresh_globals()
        self._globals.update(self._handles)
        self._guards.host_objects = {id(h): h for h in self._handles.values()}
        self._guards.host_objects.update((id(t), t) for t in self._tools.values())

    def describe(self) -> dict[str, Any]:
        return {
            "tier": type(self).__name__,
            "isolation": "in-process: AST checks, guarded attribute access, import allowlist "
                         "with vetted module proxies, time and output limits",
            "authorized_imports": list(self.authorized_imports),
            "timeout_s": self.timeout,
            "max_print_outputs_length": self.max_print_outputs_length,
            "not_protected": ["library-level I/O of authorized packages (pandas.read_csv...)",
                              "memory exhaustion", "long single C-level calls"],
        }

    # --- internals -----------------------------------------------------------------

    def _fresh_globals(self) -> dict[str, Any]:
        return {"__builtins__": self._builtins, "__name__": "__main__", **self._guards.hooks()}

    def _make_handle(self, name: str, tool: Callable[..., Any]) -> Callable[..., Any]:
        call_tool = self._call_tool

        def handle(*args: Any, **kwargs: Any) -> Any:
            return call_tool(name, tool, args, kwargs)
        handle.__name__ = handle.__qualname__ = name
        handle.__doc__ = getattr(tool, "description", None) or getattr(tool, "__doc__", None)
        return handle

    def _call_tool(self, name: str, tool: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
        control = self._control
        if control is None:
            return tool(*args, **kwargs)
        with control.paused():
            value = tool(*args, **kwargs)
        if name == "final_answer":
            self._final = value
            control.stop("final")
            raise StopSignal()
        return value

    def _compile(self, code: str) -> Any:
        compiled = self._cache.get(code)
        if compiled is None:
            compiled = compile_restricted(code, self._handles, self._modules.check_import)
            self._cache[code] = compiled
            if len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(code)
        return compiled

    def _run(self, code: str) -> CodeOutput:
        if not isinstance(code, str):
            raise InterpreterError(f"Code must be a string, got {type(code).__name__}")
        compiled = self._compile(code)
        self._guards.logs = LogBuffer(self.max_print_outputs_length)
        self._final = _NOTHING
        control = self._control = StepControl(self.timeout)
        error: BaseException | None = None
        control.start()
        try:
            try:
                exec(compiled, self._globals)  # noqa: S102 - checked and guarded above
            finally:
                control.disarm()
        except BaseException as err:  # noqa: BLE001 - every failure goes back to the model
            error = err
        finally:
            control.disarm()  # idempotent; again in case a late signal skipped the first
            self._control = None
        logs = self._guards.logs.getvalue()
        output = self._globals.pop(INTERNAL.output, None)
        if self._final is not _NOTHING:
            final, self._final = self._final, _NOTHING
            return CodeOutput(output=final, logs=logs, is_final_answer=True)
        if error is None:
            return CodeOutput(output=output, logs=logs, is_final_answer=False)
        failure = self._describe_error(error, control, code)
        failure.logs = logs  # type: ignore[attr-defined]
        raise failure from (None if isinstance(error, (StopSignal, InterpreterError)) else error)

    def _describe_error(self, error: BaseException, control: StepControl,
                        code: str) -> InterpreterError:
        if isinstance(error, StopSignal):
            if control.reason == "interrupt":
                return InterpreterError("The execution was interrupted.")
            return InterpreterError(
                f"Code execution exceeded the time limit of {self.timeout} seconds and was "
                "stopped. Variables assigned before the stop are kept. Make the code faster "
                "(smaller loops or inputs) or split the work across steps.")
        where = _error_location(error, code)
        if isinstance(error, NameError) and getattr(error, "name", None):
            name = error.name
            if name in REFUSED_BUILTINS:
                reason = f"'{name}' is not available in this environment."
            else:
                reason = (f"The variable `{name}` is not defined. Define it (or import it) "
                          "before using it; only the tools, imported modules and what "
                          "earlier code defined exist.")
            return InterpreterError(f"{where}NameError: {reason}")
        return InterpreterError(f"{where}{type(error).__name__}: {error}")


def _error_location(error: BaseException, code: str) -> str:
    """'Code execution failed at line N: `source` due to: ' for the deepest model frame."""
    line_no = None
    for frame in traceback.extract_tb(error.__traceback__):
        if frame.filename == CODE_FILENAME:
            line_no = frame.lineno
    if line_no is None:
        line_no = getattr(error, "lineno", None) if isinstance(error, SyntaxError) else None
    if not line_no:
        return "Code execution failed due to: "
    lines = code.splitlines()
    source = lines[line_no - 1].strip() if 0 < line_no <= len(lines) else ""
    return f"Code execution failed at line {line_no}: `{source}` due to: "
