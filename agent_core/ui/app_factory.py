"""The Space app: configuration from the environment, and ``create_app(config)``.

``python app.py`` calls :func:`create_app` with :meth:`AppConfig.from_env` and
launches the result. With no variable set it runs offline: the embedded model
(llama.cpp), the sandbox executor, no extra tools, runs logged to ``./runs``.

Environment (secrets are never shown or logged):

=============================  ==========================================================
``AGENT_MODEL``                ``local`` | ``local:0.5b`` | ``hf:<model>`` |
                               ``litellm:<model>`` | ``openai:<model>@<base_url>``
``AGENT_EXECUTOR``             ``sandbox`` (default) | ``local`` | ``e2b``
``AGENT_TOOLS``                comma-separated: pinned Hub tools ``owner/name@<sha>``
                               and built-in tool names (``web_search``...)
``AGENT_IMPORTS``              extra modules the code may import (``numpy,pandas``)
``AGENT_MAX_STEPS``            steps per run (default 10)
``AGENT_MAX_CONCURRENT_RUNS``  runs executing at once (default 32)
``AGENT_RUN_TIMEOUT``          seconds before a run is interrupted (default 600)
``AGENT_SESSION_TTL``          idle seconds before a session is released (default 3600)
``AGENT_DATA_DIR``             parent of the visitors' folders (default: a temp folder)
``AGENT_MAX_UPLOAD_MB``        largest upload (default 10); ``AGENT_MAX_UPLOAD_FILES``
                               files per message (default 5); ``AGENT_UPLOAD_TYPES``
                               allowed extensions (``.png,.csv``...)
``HF_TOKEN``                   for ``hf:`` models, Hub tools and the runs dataset
``AGENT_API_KEY``              the key for ``openai:``/``litellm:`` models (else each
                               reads its own: ``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``...)
``RUNS_DATASET`` / ``RUNS_DIR``  where run logs go (``RUNS_LOGGING=off`` disables)
=============================  ==========================================================

Example:
    >>> from agent_core.ui.app_factory import AppConfig, create_app
    >>> demo = create_app(AppConfig(model="openai:gpt-4o-mini@http://127.0.0.1:8000/v1",
    ...                             executor="local"))                    # doctest: +SKIP
    >>> demo.launch()                                                       # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ._handlers import UISettings
from .session import SessionManager
from .uploads import DEFAULT_UPLOAD_EXTENSIONS, UploadPolicy

__all__ = ["AppConfig", "AppConfigError", "ModelSpec", "parse_model_spec", "create_app",
           "build_model", "DEFAULT_EXAMPLES"]

logger = logging.getLogger(__name__)

DEFAULT_EXAMPLES = [
    "What is the 30th Fibonacci number?",
    "How many days are there between 2024-01-01 and 2024-12-25?",
    "Write a function that checks whether a word is a palindrome, and test it on "
    "'racecar' and 'agent'.",
]
_EXECUTORS = ("sandbox", "local", "e2b")
_EXECUTOR_LABELS = {
    "sandbox": "Code runs in a sandboxed worker process: no network, no secrets, files "
               "confined to a scratch folder, memory/CPU/time limits.",
    "local": "Code runs in the app's process behind AST checks and an import allowlist "
             "(for trusted use only).",
    "e2b": "Code runs in an E2B cloud sandbox.",
}


class AppConfigError(ValueError):
    """The app's configuration is wrong; the message says what to set."""


@dataclass(frozen=True)
class ModelSpec:
    """A parsed ``AGENT_MODEL``: ``kind`` is local, hf, litellm or openai."""

    kind: str
    model_id: str | None = None
    base_url: str | None = None


def parse_model_spec(spec: str | None) -> ModelSpec:
    """Parse ``AGENT_MODEL``.

    Example:
        >>> parse_model_spec("openai:qwen2.5@http://127.0.0.1:8000/v1")
        ModelSpec(kind='openai', model_id='qwen2.5', base_url='http://127.0.0.1:8000/v1')

    Raises:
        AppConfigError: an unknown kind or a missing model name.
    """
    spec = (spec or "local").strip()
    kind, _, rest = spec.partition(":")
    kind = kind.strip().lower()
    rest = rest.strip()
    if kind == "local":
        return ModelSpec("local", rest or None)
    if kind not in ("hf", "litellm", "openai"):
        raise AppConfigError(f"AGENT_MODEL={spec!r}: use local, hf:<model>, litellm:<model> "
                             "or openai:<model>@<base_url>")
    base_url = None
    if kind == "openai" and "@" in rest:
        head, _, tail = rest.rpartition("@")
        if tail.startswith(("http://", "https://")):
            rest, base_url = head, tail.rstrip("/")
    if not rest:
        raise AppConfigError(f"AGENT_MODEL={spec!r} names no model: write {kind}:<model>")
    return ModelSpec(kind, rest, base_url)


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = (env.get(name) or "").strip()
    try:
        return int(raw) if raw else default
    except ValueError:
        raise AppConfigError(f"{name}={raw!r} must be a whole number") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = (env.get(name) or "").strip()
    try:
        return float(raw) if raw else default
    except ValueError:
        raise AppConfigError(f"{name}={raw!r} must be a number") from None


def _csv(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").replace("\n", ",").split(",") if item.strip()]


@dataclass
class AppConfig:
    """Everything the Space app needs to know; :meth:`from_env` reads it.

    ``model_instance`` and ``tool_instances`` let code (tests, custom apps) pass
    ready objects instead of specs.
    """

    model: str = "local"
    executor: str = "sandbox"
    tools: list[str] = field(default_factory=list)
    hf_token: str | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)
    runs_dataset: str | None = None
    runs_dir: str | None = None
    runs_logging: bool = True
    additional_authorized_imports: list[str] = field(default_factory=list)
    max_steps: int = 10
    max_concurrent_runs: int = 32
    run_timeout_s: float = 600.0
    session_ttl_s: float = 3600.0
    data_dir: str | None = None
    upload_policy: UploadPolicy = field(default_factory=UploadPolicy)
    title: str = "Agent Space"
    description: str = ("An agent that plans, writes and runs Python to solve your task. "
                        "Watch each step as it happens.")
    examples: list[str] = field(default_factory=lambda: list(DEFAULT_EXAMPLES))
    stream_interval_s: float = 0.1
    model_instance: Any = field(default=None, repr=False)
    tool_instances: list[Any] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if self.executor not in _EXECUTORS:
            raise AppConfigError(f"AGENT_EXECUTOR={self.executor!r}: use one of "
                                 f"{', '.join(_EXECUTORS)}")
        if self.model_instance is None:
            parse_model_spec(self.model)
        if self.max_steps < 1 or self.max_concurrent_runs < 1:
            raise AppConfigError("AGENT_MAX_STEPS and AGENT_MAX_CONCURRENT_RUNS must be >= 1")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "AppConfig":
        """The configuration of the environment variables (see the module docstring).

        Raises:
            AppConfigError: a variable has a value that cannot work.
        """
        env = os.environ if environ is None else environ
        extensions = tuple(e if e.startswith(".") else f".{e}"
                           for e in (x.lower() for x in _csv(env.get("AGENT_UPLOAD_TYPES"))))
        policy = UploadPolicy(max_file_mb=_float(env, "AGENT_MAX_UPLOAD_MB", 10.0),
                              max_files=_int(env, "AGENT_MAX_UPLOAD_FILES", 5),
                              max_total_mb=_float(env, "AGENT_MAX_SESSION_UPLOAD_MB", 50.0),
                              extensions=extensions or DEFAULT_UPLOAD_EXTENSIONS)
        logging_off = (env.get("RUNS_LOGGING") or "").strip().lower() in \
            ("0", "off", "false", "no", "disabled", "none")
        return cls(
            model=(env.get("AGENT_MODEL") or "local").strip(),
            executor=(env.get("AGENT_EXECUTOR") or "sandbox").strip().lower(),
            tools=_csv(env.get("AGENT_TOOLS")),
            hf_token=env.get("HF_TOKEN") or None,
            api_key=env.get("AGENT_API_KEY") or None,
            runs_dataset=(env.get("RUNS_DATASET") or "").strip() or None,
            runs_dir=(env.get("RUNS_DIR") or "").strip() or None,
            runs_logging=not logging_off,
            additional_authorized_imports=_csv(env.get("AGENT_IMPORTS")),
            max_steps=_int(env, "AGENT_MAX_STEPS", 10),
            max_concurrent_runs=_int(env, "AGENT_MAX_CONCURRENT_RUNS", 32),
            run_timeout_s=_float(env, "AGENT_RUN_TIMEOUT", 600.0),
            session_ttl_s=_float(env, "AGENT_SESSION_TTL", 3600.0),
            data_dir=(env.get("AGENT_DATA_DIR") or "").strip() or None,
            upload_policy=policy,
            title=(env.get("AGENT_TITLE") or "").strip() or cls.title,
        )


# --- building the parts ---------------------------------------------------------


def build_model(config: AppConfig) -> Any:
    """The model of ``config`` (one instance, shared by every session)."""
    if config.model_instance is not None:
        return config.model_instance
    spec = parse_model_spec(config.model)
    if spec.kind == "local":
        from ..models.llama_cpp import LlamaCppModel

        if spec.model_id and spec.model_id.endswith(".gguf"):
            return LlamaCppModel(model_path=spec.model_id)
        return LlamaCppModel(variant=spec.model_id or "1.5b")
    if spec.kind == "hf":
        from ..models.hf_api import HfApiModel

        return HfApiModel(spec.model_id, token=config.hf_token)
    if spec.kind == "litellm":
        from ..models.litellm_model import LiteLLMModel

        return LiteLLMModel(spec.model_id, api_key=config.api_key)
    from ..models.openai_server import OpenAIServerModel

    return OpenAIServerModel(spec.model_id, api_base=spec.base_url, api_key=config.api_key)


def build_tools(config: AppConfig) -> tuple[list[Any], list[dict[str, str]]]:
    """The tools of ``config``: built-in names and pinned Hub tools (loaded with trust)."""
    tools, rows = list(config.tool_instances), []
    builtin = [t for t in config.tools if "/" not in t]
    hub = [t for t in config.tools if "/" in t]
    if builtin:
        from ..tools.default_tools import TOOL_MAPPING

        unknown = [t for t in builtin if t not in TOOL_MAPPING]
        if unknown:
            raise AppConfigError(f"AGENT_TOOLS: unknown built-in tools {unknown}; known: "
                                 f"{sorted(TOOL_MAPPING)} (Hub tools look like "
                                 "owner/name@<sha>)")
        tools += [TOOL_MAPPING[name]() for name in builtin]
    if hub:
        from hub_tools import load_pinned_tools

        hub_tools_list, rows = load_pinned_tools(",".join(hub), token=config.hf_token)
        tools += hub_tools_list
    return tools, rows


def describe_executor(config: AppConfig) -> str:
    """A line for the side panel; for the sandbox, start one worker to check it works.

    Raises:
        AppConfigError: the sandbox cannot run on this machine (it never falls back
            to a weaker executor silently).
    """
    text = _EXECUTOR_LABELS[config.executor]
    if config.executor != "sandbox":
        return text
    from ..executors.factory import create_executor

    try:
        executor = create_executor("sandbox",
                                   additional_authorized_imports=config.additional_authorized_imports)
    except Exception as err:
        raise AppConfigError(f"The sandbox executor cannot start here ({type(err).__name__}: "
                             f"{err}). Fix it, or set AGENT_EXECUTOR=local only if every "
                             "visitor is trusted.") from None
    try:
        info = executor.describe()
    finally:
        executor.close()
    layers = info.get("layers") or {}
    active = [name.replace("_", " ") for name, value in layers.items()
              if value is True or (isinstance(value, dict) and value.get("ok", True))]
    missing = info.get("missing_layers") or []
    text += f" Active here: {', '.join(active)}." if active else ""
    if missing:
        logger.warning("The sandbox runs without: %s", "; ".join(map(str, missing)))
        text += f" Not available on this host: {'; '.join(map(str, missing))}."
    return text


def build_run_logger(config: AppConfig) -> Any:
    """A ``hub_tools.runlog.RunLogger`` for ``config``, or None if logging is off/absent."""
    if not config.runs_logging:
        return None
    try:
        from hub_tools.runlog import RunLogger
    except ImportError:  # hub_tools not installed: the app still works, unlogged
        logger.warning("hub_tools.runlog is not available: runs are not logged")
        return None
    return RunLogger(runs_dir=config.runs_dir, dataset=config.runs_dataset or "",
                     token=config.hf_token)


def _warm_up(model: Any) -> None:
    """Import what the model's first call would import (the openai client loads its
    resources lazily: ~1 s that the first visitor would otherwise wait)."""
    client = getattr(model, "client", None)
    try:
        getattr(getattr(client, "chat", None), "completions", None)
    except Exception:  # only an optimisation
        pass


def _side_panel(model: Any, config: AppConfig, executor_text: str, tools: list[Any],
                run_logger: Any) -> str:
    label = model.describe() if hasattr(model, "describe") else type(model).__name__
    tool_names = ", ".join(f"`{getattr(t, 'name', '?')}`" for t in tools) or "none (Python only)"
    logging_text = run_logger.describe() if run_logger is not None else "Runs are not logged."
    return "\n\n".join([
        f"### Model\n`{label}`",
        f"### Code executor: `{config.executor}`\n{executor_text}",
        f"### Tools\n{tool_names}",
        f"### Uploads\n{config.upload_policy.describe()}",
        f"### Privacy\nYour chat, files and the agent's memory are yours alone and are "
        f"deleted when you leave. {logging_text}",
    ])


def create_app(config: AppConfig | None = None) -> Any:
    """Build the Space's ``gr.Blocks`` app without launching it.

    Each browser session gets its own agent (memory, variables, executor worker,
    upload folder), made on first use; sessions are released when the browser goes
    away or after ``session_ttl_s`` idle.

    Args:
        config: the configuration (default: :meth:`AppConfig.from_env`).

    Returns:
        The Blocks app. ``app.launch_kwargs`` holds the arguments to launch it with,
        ``app.agent_sessions`` its :class:`SessionManager`.

    Raises:
        AppConfigError: the configuration cannot work (bad spec, sandbox unavailable).
    """
    from ..agents import CodeAgent
    from .gradio_ui import build_blocks, launch_kwargs

    config = config or AppConfig.from_env()
    model = build_model(config)
    tools, rows = build_tools(config)
    executor_text = describe_executor(config)
    run_logger = build_run_logger(config)
    _warm_up(model)

    def agent(callbacks: list, executor_kwargs: dict | None = None) -> Any:
        return CodeAgent(tools=list(tools), model=model, executor_type=config.executor,
                         additional_authorized_imports=config.additional_authorized_imports,
                         max_steps=config.max_steps, stream_outputs=True, verbosity_level=0,
                         event_callbacks=callbacks, executor_kwargs=executor_kwargs)

    def make_agent(session_id: str, folder: Path) -> Any:
        # The sandbox's scratch dir is in the session's folder: uploads saved there are
        # the only files the visitor's code can read, and they go with the session.
        kwargs = {"scratch_dir": str(folder / "scratch")} if config.executor == "sandbox" \
            else None
        return agent([run_logger.callback(session_id)] if run_logger is not None else [], kwargs)

    root = Path(config.data_dir) if config.data_dir else \
        Path(tempfile.gettempdir()) / "agent-space-sessions"
    root.mkdir(parents=True, exist_ok=True)
    manager = SessionManager(make_agent, root, idle_timeout_s=config.session_ttl_s)
    probe = agent([])  # builds no executor: only to list the tools the agent gets
    settings = UISettings(
        title=config.title, description=config.description,
        side_panel=_side_panel(model, config, executor_text, tools, run_logger),
        examples=list(config.examples), upload_policy=config.upload_policy, tool_rows=rows,
        tool_descriptions=[(n, getattr(t, "description", "")) for n, t in probe.tools.items()],
        run_logger=run_logger, stream_interval_s=config.stream_interval_s,
        run_timeout_s=config.run_timeout_s, max_concurrent_runs=config.max_concurrent_runs)
    demo = build_blocks(manager, settings)
    demo.launch_kwargs = launch_kwargs(manager, settings)
    demo.app_config = config
    demo.run_logger = run_logger
    return demo
