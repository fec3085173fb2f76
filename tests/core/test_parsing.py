"""Reading code blocks and JSON tool calls out of model replies."""

import pytest

from agent_core._parsing import extract_code, normalise_code, parse_tool_calls
from agent_core.exceptions import AgentParsingError


def test_extract_code_from_fenced_blocks():
    text = "Thought: compute\nCode:\n```py\nx = 1\nprint(x)\n```<end_code>"
    assert extract_code(text) == "x = 1\nprint(x)"
    assert extract_code("```python\na = 2\n```\nthen\n```\nb = a\n```") == "a = 2\n\nb = a"


def test_extract_code_accepts_a_fence_cut_by_a_stop_sequence():
    assert extract_code("Thought: x\nCode:\n```py\nfinal_answer(3)\n") == "final_answer(3)"


def test_reply_without_code_is_a_parsing_error_that_shows_the_format():
    with pytest.raises(AgentParsingError, match="no code block") as err:
        extract_code("The answer is 42.")
    assert "```py" in str(err.value)


def test_normalise_code_ignores_formatting():
    assert normalise_code("x=1\n\nprint( x )") == normalise_code("x = 1\nprint(x)")
    assert normalise_code("x = 1") != normalise_code("x = 2")


@pytest.mark.parametrize("text, name, args", [
    ('{"name": "add", "arguments": {"a": 1}}', "add", {"a": 1}),
    ('Calling: {"tool": "add", "args": {"a": 1}} now', "add", {"a": 1}),
    ('<tool_call>\n{"name": "search", "arguments": "{\\"q\\": \\"x\\"}"}\n</tool_call>',
     "search", {"q": "x"}),
    ("{'name': 'final_answer', 'arguments': {'answer': None}}", "final_answer", {"answer": None}),
    ('```json\n{"action": "final_answer", "action_input": {"answer": "hi"}}\n```',
     "final_answer", {"answer": "hi"}),
    ('{"function": {"name": "add", "arguments": {"a": 2}}}', "add", {"a": 2}),
])
def test_parse_tool_calls_accepts_common_shapes(text, name, args):
    (call,) = parse_tool_calls(text)
    assert call.name == name and call.arguments == args


def test_parse_several_calls_and_garbage():
    calls = parse_tool_calls('[{"name": "a", "arguments": {}}, {"name": "b", "arguments": {}}]')
    assert [c.name for c in calls] == ["a", "b"]
    with pytest.raises(AgentParsingError, match="JSON object"):
        parse_tool_calls("{not json at all")
    with pytest.raises(AgentParsingError):
        parse_tool_calls('{"answer": 3}')
