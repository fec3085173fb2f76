"""Tools (and raw tool.py texts) that the hub_tools tests publish and load.

No ``from __future__ import annotations`` here: tool schemas need real type hints.
"""

import math
import textwrap
from typing import Optional

from PIL import Image

from agent_core import Tool, tool

SCALE = 10


def scaled(value: int) -> int:
    """A helper of the module: tool.py must inline it."""
    return value * SCALE


@tool
def add(a: int, b: int, c: Optional[int] = None) -> int:
    """Adds integers, then multiplies by ten.

    Args:
        a: the first integer.
        b: the second integer.
        c: an optional third integer.
    """
    return scaled(a + b + (c or 0)) + int(math.floor(0.5))


@tool
def add_v2(a: int, b: int, c: Optional[int] = None) -> int:
    """Adds integers (version 2: plus one).

    Args:
        a: the first integer.
        b: the second integer.
        c: an optional third integer.
    """
    return a + b + (c or 0) + 1


class Greeter(Tool):
    """A Tool subclass with a literal extra attribute and a comment."""

    name = "greeter"
    description = "Greets someone by name."
    inputs = {"who": {"type": "string", "description": "who to greet"}}
    output_type = "string"
    greeting = "Hello"  # kept as written

    def forward(self, who: str) -> str:
        # comments survive the trip to tool.py
        return f"{self.greeting}, {who}! ({scaled(1)})"


@tool
def make_image(color: str, size: int) -> Image.Image:
    """Makes a square image of one color.

    Args:
        color: a color name, e.g. "red".
        size: the side in pixels.
    """
    return Image.new("RGB", (size, size), color)


def make_closure_tool() -> Tool:
    factor = 3

    @tool
    def times(x: int) -> int:
        """Multiplies by a factor.

        Args:
            x: the number.
        """
        return x * factor

    return times


class ClientTool(Tool):
    name = "client_tool"
    description = "Uses a non-literal class attribute."
    inputs = {"q": {"type": "string", "description": "a query"}}
    output_type = "string"
    client = object()

    def forward(self, q: str) -> str:
        return str(self.client) + q


class _LocalThing:
    pass


THING = _LocalThing()


@tool
def uses_local_object(q: str) -> str:
    """Uses an object of this project that cannot be written as source.

    Args:
        q: a query.
    """
    return f"{THING}{q}"


def marker_tool_code(marker_path: str) -> str:
    """A tool.py that writes ``marker_path`` when it is imported."""
    return textwrap.dedent(f'''\
        from pathlib import Path
        Path({marker_path!r}).write_text("tool.py was executed")

        from smolagents import Tool


        class MarkerTool(Tool):
            name = "marker"
            description = "Proves whether tool.py ran."
            inputs = {{}}
            output_type = "string"

            def forward(self) -> str:
                return "ran"
        ''')


SMOLAGENTS_FORMAT = textwrap.dedent('''\
    from typing import Any, Optional
    from smolagents.tools import Tool
    import math


    class SquareRootTool(Tool):
        name = "square_root"
        description = "Square root of a number."
        inputs = {"x": {"type": "number", "description": "a non-negative number"}}
        output_type = "number"

        def __init__(self, *args, **kwargs):
            self.is_initialized = False
            self.precision = kwargs.get("precision", 3)

        def forward(self, x: float) -> float:
            return round(math.sqrt(x), self.precision)
    ''')

IMPORTS_ANOTHER_TOOL = textwrap.dedent('''\
    from agent_core.tools.final_answer import FinalAnswerTool  # imported: not the tool
    from smolagents import Tool


    class EchoTool(Tool):
        name = "echo"
        description = "Echoes its input."
        inputs = {"text": {"type": "string", "description": "what to echo"}}
        output_type = "string"

        def forward(self, text: str) -> str:
            return text
    ''')

NO_TOOL_CLASS = textwrap.dedent('''\
    from smolagents import Tool

    def helper():
        return 1
    ''')

TWO_TOOL_CLASSES = textwrap.dedent('''\
    from smolagents import Tool


    class OneTool(Tool):
        name = "one"
        description = "One."
        inputs = {}
        output_type = "string"

        def forward(self) -> str:
            return "1"


    class TwoTool(Tool):
        name = "two"
        description = "Two."
        inputs = {}
        output_type = "string"

        def forward(self) -> str:
            return "2"
    ''')

# What smolagents' own Tool.push_to_hub writes for an @tool function (smolagents 1.x).
SMOLAGENTS_SIMPLE_TOOL = textwrap.dedent("""\
    from smolagents import Tool
    from typing import Any, Optional

    class SimpleTool(Tool):
        name = "get_weather"
        description = "Gets weather."
        inputs = {'city': {'type': 'string', 'description': 'the city.'}, 'unit': {'type': 'string', 'nullable': True, 'description': 'c or f.'}}
        output_type = "string"

        def forward(self, city: str, unit: str = 'c') -> str:
            '''Gets weather.

            Args:
                city: the city.
                unit: c or f.
            '''
            return f'sunny in {city} ({unit})'
    """)
