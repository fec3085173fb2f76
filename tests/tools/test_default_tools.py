"""The toolbox as a whole, the Python interpreter tool and the user input tool."""

from __future__ import annotations

import importlib.util
import io
import json
import subprocess
import sys

import pytest

from agent_core import (CodeAgent, PythonInterpreterTool, ScriptedModel, ToolCallingAgent,
                        UserInputTool)
from agent_core.exceptions import AgentToolExecutionError, InterpreterError
from agent_core.executors.base import CodeOutput, Executor
from agent_core.tools import TOOL_MAPPING, _speech

HAS_LOCAL_EXECUTOR = importlib.util.find_spec("agent_core.executors.local") is not None
needs_local = pytest.mark.skipif(not HAS_LOCAL_EXECUTOR,
                                 reason="agent_core.executors.local is not written yet")


def test_tool_mapping_holds_the_base_tools_by_name():
    assert sorted(TOOL_MAPPING) == ["python_interpreter", "transcriber", "visit_webpage",
                                    "web_search"]
    for name, cls in TOOL_MAPPING.items():
        assert cls.name == name and cls().name == name


def test_importing_the_toolbox_loads_no_heavy_library():
    code = ("import sys, agent_core.tools.default_tools, agent_core.agent_types;"
            "heavy = [m for m in ('ddgs', 'requests', 'markdownify', 'faster_whisper',"
            " 'transformers', 'torch', 'numpy', 'PIL') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_tool_calling_agent_gets_the_base_tools_without_loading_a_model(monkeypatch):
    monkeypatch.setattr(_speech, "load_backend", lambda *a, **k: pytest.fail("loaded a model"))
    agent = ToolCallingAgent(tools=[], model=ScriptedModel([]), add_base_tools=True,
                             verbosity_level=0)
    assert {"web_search", "visit_webpage", "transcriber", "python_interpreter"} <= \
        set(agent.tools)


@needs_local
def test_code_agent_gets_the_base_tools_but_not_the_interpreter():
    agent = CodeAgent(tools=[], model=ScriptedModel([]), add_base_tools=True, verbosity_level=0)
    assert {"web_search", "visit_webpage", "transcriber"} <= set(agent.tools)
    assert "python_interpreter" not in agent.tools


@needs_local
def test_a_code_agent_calls_the_web_tools_from_its_code(server, monkeypatch):
    """The search engine is ddgs' DuckDuckGo engine pointed at a fake page on 127.0.0.1."""
    from ddgs.engines.duckduckgo import Duckduckgo

    from agent_core import DuckDuckGoSearchTool, VisitWebpageTool

    from .conftest import Route
    from .test_web_search import ddg_html

    monkeypatch.setattr(Duckduckgo, "search_url", server.url("/html/"))
    server.routes["/html/"] = Route(ddg_html([("Agent docs", server.url("/docs"), "docs")]))
    server.routes["/docs"] = Route(b"<h2>Install</h2><p>pip install agents</p>")
    code = ("```python\nfound = web_search('agent docs')\nprint(found)\n"
            f"print(visit_webpage('{server.url('/docs')}'))\n```<end_code>")
    model = ScriptedModel([code, "```python\nfinal_answer('done')\n```<end_code>"])
    tools = [DuckDuckGoSearchTool(backend="duckduckgo", rate_limit=None),
             VisitWebpageTool(allow_private_addresses=True)]
    agent = CodeAgent(tools=tools, model=model, verbosity_level=0)
    assert agent.run("find the install command") == "done"
    observation = [s for s in agent.logs if s["type"] == "action"][0]["observations"]
    assert f"[Agent docs]({server.url('/docs')})" in observation
    assert "## Install\n\npip install agents" in observation


class RecordingExecutor(Executor):
    """A minimal executor: evaluates with exec/eval (the tool's formatting is under test)."""

    def __init__(self):
        self.tools, self.variables, self.codes = None, None, []

    def send_tools(self, tools):
        self.tools = tools

    def send_variables(self, variables):
        self.variables = variables

    def __call__(self, code):
        self.codes.append(code)
        if "boom" in code:
            err = InterpreterError("NameError: name 'boom' is not defined")
            err.logs = "before the error\n"
            raise err
        out = io.StringIO()
        *body, last = code.strip().splitlines()
        namespace = {"print": lambda *a: print(*a, file=out)}
        exec("\n".join(body), namespace)
        return CodeOutput(eval(last, namespace), out.getvalue())


def test_interpreter_formats_stdout_and_output_of_a_given_executor():
    executor = RecordingExecutor()
    tool = PythonInterpreterTool(executor=executor)
    assert tool("print(6 * 7)\n1 + 1") == "Stdout:\n42\n\nOutput: 2"
    assert executor.codes == ["print(6 * 7)\n1 + 1"]
    assert executor.tools is None  # an executor handed over is used as it is


def test_interpreter_errors_keep_the_logs_printed_before_them():
    tool = PythonInterpreterTool(executor=RecordingExecutor())
    with pytest.raises(InterpreterError) as info:
        tool("boom")
    assert "NameError" in str(info.value) and "before the error" in str(info.value)


def test_an_agent_feeds_interpreter_errors_back():
    calls = [json.dumps({"name": "python_interpreter", "arguments": {"code": "boom"}}),
             json.dumps({"name": "final_answer", "arguments": {"answer": "ok"}})]
    agent = ToolCallingAgent(tools=[PythonInterpreterTool(executor=RecordingExecutor())],
                             model=ScriptedModel(calls), verbosity_level=0)
    assert agent.run("compute") == "ok"
    step = [s for s in agent.logs if s["type"] == "action"][0]
    assert "NameError" in step["error"]


@needs_local
def test_interpreter_runs_code_in_the_local_executor():
    tool = PythonInterpreterTool()
    assert tool("import math\nprint(math.sqrt(16))\n6 * 7") == "Stdout:\n4.0\n\nOutput: 42"
    assert "math" in tool.inputs["code"]["description"]


@needs_local
def test_interpreter_refuses_unauthorized_imports_unless_allowed():
    with pytest.raises(InterpreterError, match="subprocess"):
        PythonInterpreterTool()("import subprocess")
    tool = PythonInterpreterTool(authorized_imports=["fnmatch"])
    assert "fnmatch" in tool.inputs["code"]["description"]
    assert tool("import fnmatch\nfnmatch.fnmatch('a.py', '*.py')").endswith("Output: True")


@needs_local
def test_interpreter_takes_an_executor_tier_by_name():
    tool = PythonInterpreterTool(executor="local")
    assert tool("1 + 2").endswith("Output: 3")
    assert type(tool.executor).__name__ == "LocalPythonExecutor"


@pytest.mark.skipif(importlib.util.find_spec("agent_core.executors.sandbox") is None,
                    reason="agent_core.executors.sandbox is not written yet")
def test_interpreter_runs_code_in_the_sandbox_tier_with_state_between_calls():
    tool = PythonInterpreterTool(executor="sandbox")
    try:
        assert tool("x = 20\nprint('set')\nx + 1") == "Stdout:\nset\n\nOutput: 21"
        assert tool("x * 2").endswith("Output: 40")
        assert type(tool.executor).__name__ == "SandboxExecutor"
        with pytest.raises(InterpreterError, match=r"\bos\b"):
            tool("import os")
    finally:
        tool.close()
    assert tool.executor is None


def test_user_input_reads_stdin(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("blue\n"))
    assert UserInputTool()("Favourite colour?") == "blue"
    assert "Favourite colour? => Type your answer here:" in capsys.readouterr().out


def test_user_input_without_a_user_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    with pytest.raises(AgentToolExecutionError, match="standard input is closed"):
        UserInputTool()("Anyone?")
