"""A text-to-image tool standing in for the tour's "m-ric/text-to-image" Hub tool."""

from PIL import Image

from agent_core import Tool


class TextToImageTool(Tool):
    name = "image_generator"
    description = "Generates an image from a text prompt."
    inputs = {"prompt": {"type": "string", "description": "What the image shows."}}
    output_type = "image"

    def forward(self, prompt: str):
        return Image.new("RGB", (64, 64), (len(prompt) * 7 % 256, 120, 200))
