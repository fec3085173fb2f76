"""Tools for the app tests: an image and an audio answer, made without a network."""

from __future__ import annotations

from agent_core import Tool
from agent_core.agent_types import AgentAudio, AgentImage


class BarChartTool(Tool):
    name = "bar_chart"
    description = "Draws a bar chart of the given numbers and returns it as an image."
    inputs = {"values": {"type": "array", "description": "the heights of the bars"}}
    output_type = "image"

    def forward(self, values: list) -> AgentImage:
        from PIL import Image, ImageDraw

        width, height, top = 360, 220, max(values) or 1
        image = Image.new("RGB", (width, height), "white")
        draw = ImageDraw.Draw(image)
        bar = (width - 20) // max(len(values), 1)
        for i, value in enumerate(values):
            x0 = 10 + i * bar
            y0 = height - 10 - int((height - 30) * value / top)
            draw.rectangle([x0 + 3, y0, x0 + bar - 3, height - 10], fill=(255, 124, 0))
        return AgentImage(image)


class ToneTool(Tool):
    name = "make_tone"
    description = "Synthesises a 440 Hz tone of the given length and returns it as audio."
    inputs = {"seconds": {"type": "number", "description": "length in seconds"}}
    output_type = "audio"

    def forward(self, seconds: float) -> AgentAudio:
        import numpy as np

        t = np.arange(int(16000 * seconds)) / 16000
        return AgentAudio((0.3 * np.sin(2 * np.pi * 440 * t)).astype("float32"),
                          samplerate=16000)
