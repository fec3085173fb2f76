"""Tools: @tool and Tool subclasses build schemas, validate at definition time, run by hand."""

from typing import Any, Optional

import pytest

from agent_core import Tool, ToolDefinitionError, tool
from agent_core.exceptions import AgentToolCallError


def test_tool_decorator_builds_schema_from_hints_and_docstring():
    @tool
    def model_download_tool(task: str, limit: Optional[int] = None) -> str:
        """
        This is a tool that returns the most downloaded model of a given task on the Hub.
        It returns the name of the checkpoint.

        Args:
            task: The task for which to get the download count.
            limit: How many models to look at.
        """
        return f"best-for-{task}"

    assert model_download_tool.name == "model_download_tool"
    assert model_download_tool.description.startswith("This is a tool that returns")
    assert "name of the checkpoint" in model_download_tool.description
    assert model_download_tool.inputs == {
        "task": {"type": "string", "description": "The task for which to get the download count."},
        "limit": {"type": "integer", "description": "How many models to look at.",
                  "nullable": True},
    }
    assert model_download_tool.output_type == "string"
    assert model_download_tool(task="text-to-video") == "best-for-text-to-video"
    assert model_download_tool("asr") == "best-for-asr"
    schema = model_download_tool.to_json_schema()
    assert schema["parameters"]["required"] == ["task"]
    prompt = model_download_tool.to_code_prompt()
    assert prompt.startswith("def model_download_tool(task: str, limit: int) -> str:")
    assert "task: The task for which" in prompt


def test_tool_subclass_works_like_decorated_function():
    class ModelDownloadTool(Tool):
        name = "model_download_tool"
        description = "Returns the most downloaded model of a given task."
        inputs = {"task": {"type": "string", "description": "The task."}}
        output_type = "string"

        def forward(self, task: str) -> str:
            return task.upper()

    t = ModelDownloadTool()
    assert t(task="asr") == "ASR"
    assert t("asr") == "ASR"
    assert t.to_json_schema()["name"] == "model_download_tool"


def test_setup_runs_once_before_first_call():
    class Heavy(Tool):
        name = "heavy"
        description = "Loads something heavy once."
        inputs = {"x": {"type": "integer", "description": "A number."}}
        output_type = "integer"
        setups = 0

        def setup(self):
            type(self).setups += 1

        def forward(self, x: int) -> int:
            return x + 1

    h = Heavy()
    assert Heavy.setups == 0
    assert h(x=1) == 2 and h(x=2) == 3
    assert Heavy.setups == 1


@pytest.mark.parametrize("body, message", [
    ('def f(task: str) -> str:\n    """Does it.\n\n    Args:\n        other: x\n    """',
     "'task' is not described"),
    ('def f(task: str) -> str:\n    return task', "no docstring"),
    ('def f(task) -> str:\n    """Does it.\n\n    Args:\n        task: x\n    """', "no type hint"),
    ('def f(task: str):\n    """Does it.\n\n    Args:\n        task: x\n    """', "no return type"),
    ('def f(task: set[complex]) -> str:\n    """Does it.\n\n    Args:\n        task: x\n    """',
     None),
    ('def f(task: bytes) -> str:\n    """Does it.\n\n    Args:\n        task: x\n    """',
     "unsupported type"),
])
def test_invalid_tool_functions_fail_at_definition_time(body, message):
    namespace: dict[str, Any] = {}
    exec(body, namespace)
    if message is None:  # a set maps to "array": valid
        tool(namespace["f"])
        return
    with pytest.raises(ToolDefinitionError, match=message):
        tool(namespace["f"])


def test_invalid_tool_subclasses_fail_at_class_creation():
    with pytest.raises(ToolDefinitionError, match="forward\\(\\) takes \\['query'\\]"):
        class Mismatch(Tool):
            name = "mismatch"
            description = "d"
            inputs = {"task": {"type": "string", "description": "t"}}
            output_type = "string"

            def forward(self, query):
                return query

    with pytest.raises(ToolDefinitionError, match="unsupported type 'text'"):
        class BadType(Tool):
            name = "bad_type"
            description = "d"
            inputs = {"task": {"type": "text", "description": "t"}}
            output_type = "string"

            def forward(self, task):
                return task

    with pytest.raises(ToolDefinitionError, match="valid Python identifier"):
        class BadName(Tool):
            name = "bad name"
            description = "d"
            inputs = {}
            output_type = "string"

            def forward(self):
                return ""


def test_validate_arguments_names_the_problem():
    @tool
    def add(a: int, b: int) -> int:
        """Adds two numbers.

        Args:
            a: first.
            b: second.
        """
        return a + b

    assert add.validate_arguments({"a": 1, "b": 2}) == {"a": 1, "b": 2}
    with pytest.raises(AgentToolCallError, match=r"unknown argument\(s\) \['c'\].*missing"):
        add.validate_arguments({"a": 1, "c": 2})
    with pytest.raises(AgentToolCallError, match="JSON object"):
        add.validate_arguments("1, 2")
