"""tool.py rendering: self-contained code, imports, requirements, refusals; Space files."""

from __future__ import annotations

import ast

import pytest
import yaml

from agent_core import Tool
from hub_tools import ToolNotSelfContainedError, space_files, tool_to_source
from hub_tools._module import exec_tool_module, find_tool
from tests.hub_tools import sample_tools


def _load(code: str) -> Tool:
    module = exec_tool_module(code.encode(), "<test tool.py>", "test/source", "0" * 40)
    return find_tool(module, "test/source", "0" * 40)


def test_function_tool_becomes_self_contained_module():
    source = tool_to_source(sample_tools.add)
    code = source.code
    assert "import math" in code
    assert "SCALE = 10" in code
    assert "def scaled(value: int) -> int:" in code  # the helper is inlined
    assert "from typing import Optional" in code
    assert source.class_name == "AddTool"
    assert "sample_tools" not in code and "tests" not in code
    loaded = _load(code)
    assert isinstance(loaded, Tool)
    assert loaded(a=1, b=2) == 30 and loaded(a=1, b=2, c=3) == 60
    assert loaded.inputs == sample_tools.add.inputs
    assert loaded.output_type == "integer"


def test_class_tool_keeps_its_source_and_comments():
    code = tool_to_source(sample_tools.Greeter()).code
    assert "# comments survive the trip to tool.py" in code
    assert 'greeting = "Hello"  # kept as written' in code
    assert "class Greeter(Tool):" in code
    assert _load(code)(who="Ann") == "Hello, Ann! (10)"


def test_requirements_use_distribution_names():
    source = tool_to_source(sample_tools.make_image)
    assert "from PIL import Image" in source.code
    assert "pillow" in source.requirements and "PIL" not in source.requirements
    assert "smolagents" in source.requirements
    image = _load(source.code)(color="red", size=4)
    assert image.size == (4, 4)


def test_closure_over_a_local_variable_is_refused():
    with pytest.raises(ToolNotSelfContainedError) as info:
        tool_to_source(sample_tools.make_closure_tool())
    assert "closes over 'factor'" in str(info.value)
    assert info.value.tool_name == "times"


def test_non_literal_class_attribute_is_refused():
    with pytest.raises(ToolNotSelfContainedError) as info:
        tool_to_source(sample_tools.ClientTool())
    message = str(info.value)
    assert "'client'" in message and "not a literal" in message


def test_object_of_the_project_is_refused_with_reason():
    with pytest.raises(ToolNotSelfContainedError) as info:
        tool_to_source(sample_tools.uses_local_object)
    assert "'THING'" in str(info.value) and "_LocalThing" in str(info.value)


def test_space_files_readme_app_and_requirements():
    files = space_files(sample_tools.make_image, "alice/image-tool")
    assert set(files) == {"tool.py", "app.py", "requirements.txt", "README.md"}
    front = yaml.safe_load(files["README.md"].split("---")[1])
    assert front["sdk"] == "gradio" and front["app_file"] == "app.py"
    assert {"tool", "smolagents", "agent_core"} <= set(front["tags"])
    assert len(front["short_description"]) <= 60
    app = files["app.py"]
    ast.parse(app)
    assert 'gr.Image(label=\'make_image\', type="pil")' in app  # image output as an image
    assert "from tool import MakeImageTool" in app
    assert files["requirements.txt"].split() == ["pillow", "smolagents"]
    assert "alice/image-tool" in files["README.md"]
