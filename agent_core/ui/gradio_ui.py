"""The Gradio chat UI of an agent: a Blocks app where each visitor gets their own agent.

:func:`build_blocks` lays out the app (chat, input with uploads, Stop and New
conversation, examples, a side panel, Tools and Runs tabs) and wires its events to
:class:`~agent_core.ui._handlers.ChatHandlers`. :class:`GradioUI` is the library's
one-agent entry point; ``app.py`` builds the full Space with
:func:`agent_core.ui.app_factory.create_app`.

Gradio is imported only when an app is built. (No ``from __future__ import
annotations`` here: Gradio reads the handlers' ``gr.Request`` annotations at runtime
to inject the request, and a string annotation naming a local ``gr`` cannot be
resolved, which would silently leave every visitor without a session id.)
"""

import tempfile
from pathlib import Path
from typing import Any

from ._handlers import ChatHandlers, UISettings
from .session import SessionManager, clone_agent
from .uploads import UploadPolicy

__all__ = ["GradioUI", "build_blocks", "UISettings", "launch_kwargs"]

_CSS = """
#agent-chat .message-wrap { font-size: 15px; }
#side-panel { font-size: 14px; }
footer { display: none !important; }
#agent-chat button[aria-label="Share"] { display: none; }
#agent-chat .message:not(.component) + .message-buttons { display: none !important; }
"""


def _import_gradio() -> Any:
    try:
        import gradio as gr
    except ImportError:
        from ..exceptions import MissingDependencyError

        raise MissingDependencyError("GradioUI", "gradio") from None
    return gr


def _tools_markdown(settings: UISettings) -> str:
    lines = ["| tool | what it does |", "| --- | --- |"]
    lines += [f"| `{name}` | {desc.splitlines()[0] if desc else ''} |"
              for name, desc in settings.tool_descriptions]
    text = "\n".join(lines) if settings.tool_descriptions else "The agent has no tools."
    if settings.tool_rows:
        text += ("\n\n**Loaded from the Hub, pinned and verified:**\n\n"
                 "| tool | repo | commit | sha256 of tool.py |\n| --- | --- | --- | --- |\n")
        text += "\n".join(f"| `{r.get('tool', '')}` | {r.get('repo', '')} | "
                          f"`{str(r.get('sha', ''))[:12]}` | `{str(r.get('sha256', ''))[:16]}…` |"
                          for r in settings.tool_rows)
    return text


def _chat_column(gr: Any, settings: UISettings) -> dict[str, Any]:
    policy = settings.upload_policy
    chatbot = gr.Chatbot(elem_id="agent-chat", label="Agent", height="70vh", layout="panel",
                         buttons=["copy_all"], feedback_options=None,
                         placeholder="Ask the agent for something: it plans, writes and runs "
                                     "Python, and answers. Follow-ups continue the "
                                     "conversation.")
    textbox = gr.MultimodalTextbox(
        elem_id="task-input", show_label=False, file_count="multiple", sources=["upload"],
        file_types=list(policy.extensions), autofocus=True,
        placeholder="Type a task, attach files (images, audio, CSV, PDF…), press Enter")
    with gr.Row():
        stop_btn = gr.Button("Stop", elem_id="stop-btn", variant="stop", interactive=False,
                             scale=1)
        new_btn = gr.Button("New conversation", elem_id="new-btn", scale=1)
    examples = None
    if settings.examples:
        examples = gr.Examples(examples=[[{"text": e, "files": []}] for e in settings.examples],
                               inputs=[textbox], label="Example tasks", elem_id="examples")
    return {"chatbot": chatbot, "textbox": textbox, "stop": stop_btn, "new": new_btn,
            "examples": examples}


def _runs_tab(gr: Any, handlers: ChatHandlers, tab: Any) -> None:
    gr.Markdown("Your own runs in this browser session (other visitors' runs are never "
                "shown). Click a row to replay it.")
    refresh = gr.Button("Refresh", elem_id="runs-refresh", size="sm")
    table = gr.Dataframe(headers=["time (UTC)", "task", "status", "steps", "seconds", "tokens",
                                  "run id"], interactive=False, elem_id="runs-table",
                         wrap=True)
    replay = gr.Chatbot(label="Replay", elem_id="runs-replay", height=420,
                        feedback_options=None, buttons=["copy_all"])

    def list_runs(request: gr.Request) -> list[list]:
        return handlers.list_runs(request)

    def show(rows: Any, evt: gr.SelectData, request: gr.Request) -> list[dict]:
        return handlers.show_run(rows, evt, request)

    for trigger in (refresh.click, tab.select):
        trigger(list_runs, None, table, concurrency_limit=None, api_visibility="private")
    table.select(show, table, replay, concurrency_limit=None, api_visibility="private")


def _layout(gr: Any, settings: UISettings, handlers: ChatHandlers) -> dict[str, Any]:
    """The page: tabs (Chat, Tools, Runs) and the side panel; returns the chat widgets."""
    with gr.Row():
        with gr.Column(scale=4):
            gr.Markdown(f"# {settings.title}\n{settings.description}".strip())
            with gr.Tabs():
                with gr.Tab("Chat", id="chat"):
                    ui = _chat_column(gr, settings)
                with gr.Tab("Tools", id="tools"):
                    gr.Markdown(_tools_markdown(settings), elem_id="tools-table")
                if settings.run_logger is not None and settings.run_logger.enabled:
                    with gr.Tab("Runs", id="runs") as runs_tab:
                        _runs_tab(gr, handlers, runs_tab)
        with gr.Column(scale=1, min_width=260, elem_id="side-panel"):
            gr.Markdown(settings.side_panel, elem_id="side-panel-text")
    return ui


def _wire(gr: Any, demo: Any, ui: dict[str, Any], handlers: ChatHandlers,
          settings: UISettings) -> None:
    """The events: run, stop, new conversation, unload."""
    controls = [ui["textbox"], ui["stop"]]

    async def submit(message: dict, request: gr.Request):
        async for chat in handlers.submit(message, request):
            yield chat

    def stop(request: gr.Request) -> None:
        handlers.stop(request)

    def new_conversation(request: gr.Request) -> list:
        return handlers.new_conversation(request)

    def unload(request: gr.Request) -> None:
        handlers.unload(request)

    def take(message: dict) -> tuple:
        return (message, *handlers.lock())

    # The run streams only the chat: updating the input and the Stop button on every
    # streamed chunk would cost Gradio a component rebuild each time. So a quick event
    # first takes the message and locks the input, then the run streams, then a last
    # event unlocks the input.
    pending = gr.State(None)
    run_settings = {"concurrency_limit": settings.max_concurrent_runs,
                    "concurrency_id": "agent-runs", "show_progress": "hidden"}
    ui["textbox"].submit(take, [ui["textbox"]], [pending, *controls], queue=False,
                         api_visibility="private", show_progress="hidden") \
        .then(submit, [pending], [ui["chatbot"]], api_visibility="private", **run_settings) \
        .then(handlers.unlock, None, controls, queue=False, api_visibility="private",
              show_progress="hidden")
    # The same run for API clients (gradio_client): /chat takes the message itself.
    api_trigger = gr.Button(visible=False, elem_id="api-chat")
    api_trigger.click(submit, [ui["textbox"]], [ui["chatbot"]], api_name="chat", **run_settings)
    ui["stop"].click(stop, None, None, api_name="stop", concurrency_limit=None,
                     show_progress="hidden")
    for trigger, name in ((ui["new"].click, "new_conversation"), (ui["chatbot"].clear, None)):
        # The Chatbot's own clear button must clear the memory too, not just the view.
        trigger(new_conversation, None, [ui["chatbot"]], api_name=name,
                api_visibility="public" if name else "private", concurrency_limit=None,
                show_progress="hidden").then(handlers.unlock, None, controls, queue=False,
                                             api_visibility="private")
    demo.unload(unload)


def build_blocks(manager: SessionManager, settings: UISettings) -> Any:
    """Build the Blocks app around a session manager, without launching it.

    Args:
        manager: creates each visitor's session (agent, folder) on first use.
        settings: what to show and the limits (see :class:`UISettings`).

    Returns:
        A ``gr.Blocks`` with its queue configured; ``.launch(**launch_kwargs(...))``.
        Its ``agent_sessions`` attribute is the manager (for tests and benches).
    """
    gr = _import_gradio()
    handlers = ChatHandlers(manager, settings)
    with gr.Blocks(title=settings.title, fill_width=True, delete_cache=(3600, 3600)) as demo:
        ui = _layout(gr, settings, handlers)
        _wire(gr, demo, ui, handlers, settings)
    # Queue positions are sent once a second rather than to every waiting visitor each
    # time a run starts or ends (that broadcast grows with the square of the queue).
    demo.queue(status_update_rate=1.0, default_concurrency_limit=None,
               max_size=max(64, settings.max_concurrent_runs * 8))
    demo.agent_sessions = manager
    return demo


def launch_kwargs(manager: SessionManager, settings: UISettings, **overrides: Any) -> dict:
    """The ``Blocks.launch`` arguments that go with :func:`build_blocks`."""
    allowed = [str(manager.root_dir.resolve())]
    if settings.run_logger is not None:
        allowed.append(str(Path(settings.run_logger.runs_dir).resolve()))
    kwargs = {
        "allowed_paths": allowed,
        "max_file_size": int(settings.upload_policy.max_file_bytes * 4),
        "max_threads": max(40, settings.max_concurrent_runs * 2 + 8),
        "footer_links": [], "run_history": False, "css": _CSS, "show_error": False,
    }
    kwargs.update(overrides)
    return kwargs


class GradioUI:
    """A chat UI for one agent; each browser session gets its own copy of the agent.

    The copy shares the model and tools but has its own memory, variables, upload
    folder and executor (:func:`~agent_core.ui.session.clone_agent`), so visitors
    never see each other's runs.

    Args:
        agent: the agent to serve.
        file_upload_folder: parent folder of the visitors' upload folders
            (default: a new temporary folder).
        upload_policy: limits on uploads (size, count, types).
        title: the page title.
        examples: example tasks to click.

    Example:
        >>> from agent_core import CodeAgent, GradioUI, InferenceClientModel
        >>> agent = CodeAgent(tools=[], model=InferenceClientModel())  # doctest: +SKIP
        >>> GradioUI(agent).launch()                                    # doctest: +SKIP
    """

    def __init__(self, agent: Any, file_upload_folder: str | Path | None = None,
                 upload_policy: UploadPolicy | None = None, title: str | None = None,
                 examples: list[str] | None = None):
        self.agent = agent
        root = Path(file_upload_folder) if file_upload_folder else \
            Path(tempfile.mkdtemp(prefix="agent_ui_sessions_"))
        self.manager = SessionManager(lambda session_id, folder: clone_agent(agent), root)
        model = getattr(agent, "model", None)
        label = model.describe() if hasattr(model, "describe") else type(model).__name__
        executor = getattr(agent, "executor_type", None)
        self.settings = UISettings(
            title=title or getattr(agent, "name", None) or "Agent",
            description=getattr(agent, "description", None) or "",
            side_panel=f"### Model\n`{label}`" + (f"\n\n### Code executor\n`{executor}`"
                                                  if executor else ""),
            examples=list(examples or []),
            upload_policy=upload_policy or UploadPolicy(),
            tool_descriptions=[(n, getattr(t, "description", "")) for n, t in
                               getattr(agent, "tools", {}).items()])

    def create_app(self) -> Any:
        """The ``gr.Blocks`` app, not launched."""
        return build_blocks(self.manager, self.settings)

    def launch(self, share: bool = False, **kwargs: Any) -> Any:
        """Build and launch the app (``Blocks.launch`` arguments pass through)."""
        demo = self.create_app()
        return demo.launch(share=share, **launch_kwargs(self.manager, self.settings, **kwargs))
