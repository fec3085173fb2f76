"""The Space: an agent that streams its steps into a Gradio chat, one agent per visitor.

Configured by environment variables (see ``agent_core/ui/app_factory.py``); with none
set it runs offline on the embedded model with the sandbox executor::

    python app.py                       # http://0.0.0.0:7860
    AGENT_MODEL=hf:Qwen/Qwen2.5-Coder-32B-Instruct HF_TOKEN=hf_... python app.py
"""

from __future__ import annotations

import importlib.util
import os
import sys

from agent_core.ui.app_factory import AppConfig, create_app


def _skip_missing_matplotlib() -> None:
    """Gradio imports matplotlib around every call (and every streamed chunk) to switch
    its backend; when it is not installed, each failed import searches sys.path again.
    Recording it as missing once makes those imports fail at once (~20% of the event
    loop's time when many visitors stream). Nothing changes when it is installed."""
    if "matplotlib" not in sys.modules and importlib.util.find_spec("matplotlib") is None:
        sys.modules["matplotlib"] = None  # type: ignore[assignment]


def main() -> None:
    """Build the app from the environment and serve it (GRADIO_SERVER_NAME/PORT honoured)."""
    _skip_missing_matplotlib()
    demo = create_app(AppConfig.from_env())
    demo.launch(server_name=os.environ.get("GRADIO_SERVER_NAME") or "0.0.0.0",
                server_port=int(os.environ.get("GRADIO_SERVER_PORT") or 7860),
                **demo.launch_kwargs)


if __name__ == "__main__":
    main()
