"""E2BExecutor against a fake of the e2b-code-interpreter ``Sandbox``.

E2B's cloud cannot be reached from here (no network, no API key), so these tests use
``FakeSandbox``: it implements the part of the SDK's ``Sandbox`` the executor uses
(``create``, ``run_code``, ``commands.run``, ``kill``) by running the code in a local
namespace like a Jupyter kernel would, and returns the SDK's real ``Execution``,
``Result``, ``Logs`` and ``ExecutionError`` objects. What is tested is the executor's
side: tool code sent over, variables, final-answer detection, outputs and errors.
"""

from __future__ import annotations

import ast
import base64
import contextlib
import io
import traceback

import pytest

e2b_models = pytest.importorskip("e2b_code_interpreter.models")
import e2b_code_interpreter  # noqa: E402

from agent_core.exceptions import InterpreterError, MissingDependencyError  # noqa: E402
from agent_core.executors.e2b import E2BExecutor  # noqa: E402


class FakeCommands:
    def __init__(self):
        self.runs = []

    def run(self, cmd, timeout=None, **kwargs):
        self.runs.append(cmd)


class FakeSandbox:
    """Stands in for ``e2b_code_interpreter.Sandbox`` (see the module docstring)."""

    created = []

    def __init__(self, **kwargs):
        self.kwargs = kwargs
        self.namespace = {"__name__": "__main__"}
        self.commands = FakeCommands()
        self.killed = False
        self.codes = []

    @classmethod
    def create(cls, **kwargs):
        sandbox = cls(**kwargs)
        cls.created.append(sandbox)
        return sandbox

    def run_code(self, code, timeout=None, **kwargs):
        self.codes.append(code)
        execution = e2b_models.Execution()
        if code.strip() == "%reset -f":
            self.namespace = {"__name__": "__main__"}
            return execution
        stdout = io.StringIO()
        try:
            tree = ast.parse(code)
            last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
            with contextlib.redirect_stdout(stdout):
                exec(compile(tree, "<cell>", "exec"), self.namespace)
                if last is not None:
                    value = eval(compile(ast.Expression(last.value), "<cell>", "eval"),
                                 self.namespace)
                    if value is not None:
                        execution.results.append(self._result(value))
        except BaseException as err:  # noqa: BLE001 - like a kernel, report everything
            execution.error = e2b_models.ExecutionError(
                type(err).__name__, str(err), traceback.format_exc())
        execution.logs.stdout.extend(stdout.getvalue().splitlines(keepends=True))
        return execution

    @staticmethod
    def _result(value):
        png = None
        if type(value).__module__.startswith("PIL."):
            buffer = io.BytesIO()
            value.save(buffer, format="PNG")
            png = base64.b64encode(buffer.getvalue()).decode()
        return e2b_models.Result(text=repr(value), png=png, is_main_result=True)

    def kill(self):
        self.killed = True


@pytest.fixture
def fake_sdk(monkeypatch):
    FakeSandbox.created = []
    monkeypatch.setattr(e2b_code_interpreter, "Sandbox", FakeSandbox)
    monkeypatch.setenv("E2B_API_KEY", "e2b_" + "k" * 24)
    return FakeSandbox


def double(x: int) -> int:
    """Doubles a number.

    Args:
        x: the number.
    """
    return 2 * x


def test_runs_code_and_keeps_state(fake_sdk):
    ex = E2BExecutor()
    assert fake_sdk.created[0].kwargs["api_key"].startswith("e2b_")
    ex("y = 20")
    out = ex("print('hello')\ny + 1")
    assert out.output == "21" and out.logs == "hello\n" and not out.is_final_answer


def test_tools_are_sent_as_source_and_callable(fake_sdk):
    from agent_core.tools.base import tool

    ex = E2BExecutor()
    ex.send_tools({"final_answer": lambda answer: answer, "double": tool(double),
                   "plain": double, "closure": (lambda: (lambda: 1))()})
    assert ex("double(4) + plain(1)").output == "10"
    assert "closure" in ex.describe()["tools_unavailable"]


def test_final_answer_is_detected_even_if_swallowed(fake_sdk):
    ex = E2BExecutor()
    ex.send_tools({"final_answer": lambda answer: {"answer": answer}})
    out = ex("try:\n    final_answer({'k': (1, 2)})\nexcept BaseException:\n    pass\nprint('x')")
    assert out.is_final_answer and out.output == {"answer": {"k": (1, 2)}}
    assert "__AC_FINAL__" not in out.logs


def test_errors_become_interpreter_errors_with_logs(fake_sdk):
    ex = E2BExecutor()
    with pytest.raises(InterpreterError, match="ZeroDivisionError") as info:
        ex("print('before')\n1 / 0")
    assert info.value.logs == "before\n"


def test_variables_and_images(fake_sdk):
    from PIL import Image

    ex = E2BExecutor()
    ex.send_variables({"size": (3, 2)})
    out = ex("from PIL import Image\nImage.new('RGB', size)")
    assert isinstance(out.output, Image.Image) and out.output.size == (3, 2)


def test_additional_imports_are_installed_and_stdlib_skipped(fake_sdk):
    E2BExecutor(additional_authorized_imports=["pandas", "json", "numpy.linalg"])
    assert fake_sdk.created[0].commands.runs == ["pip install --quiet numpy pandas"]


def test_reset_and_close(fake_sdk):
    ex = E2BExecutor()
    ex("z = 1")
    ex.reset()
    with pytest.raises(InterpreterError, match="NameError"):
        ex("z")
    ex.close()
    assert fake_sdk.created[0].killed


def test_missing_api_key_is_a_clear_error(fake_sdk, monkeypatch):
    monkeypatch.delenv("E2B_API_KEY")
    with pytest.raises(ValueError, match="E2B_API_KEY"):
        E2BExecutor()


def test_missing_sdk_says_what_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "e2b_code_interpreter", None)
    with pytest.raises(MissingDependencyError, match="pip install e2b-code-interpreter"):
        E2BExecutor(api_key="k")
