"""Configuration from the environment, and building the app without launching it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from agent_core.ui.app_factory import (AppConfig, AppConfigError, ModelSpec, build_model,
                                       create_app, parse_model_spec)
from agent_core.ui.uploads import DEFAULT_UPLOAD_EXTENSIONS


@pytest.mark.parametrize("spec, expected", [
    (None, ModelSpec("local")),
    ("local", ModelSpec("local")),
    ("local:0.5b", ModelSpec("local", "0.5b")),
    ("hf:Qwen/Qwen2.5-Coder-32B-Instruct", ModelSpec("hf", "Qwen/Qwen2.5-Coder-32B-Instruct")),
    ("litellm:anthropic/claude-3-5-sonnet-latest",
     ModelSpec("litellm", "anthropic/claude-3-5-sonnet-latest")),
    ("openai:gpt-4o-mini", ModelSpec("openai", "gpt-4o-mini")),
    ("openai:qwen@2.5@http://127.0.0.1:8000/v1/",
     ModelSpec("openai", "qwen@2.5", "http://127.0.0.1:8000/v1")),
])
def test_model_specs(spec, expected):
    assert parse_model_spec(spec) == expected


@pytest.mark.parametrize("spec", ["gpt4", "openai:", "hf:", "ollama:llama3"])
def test_bad_model_specs_say_what_to_write(spec):
    with pytest.raises(AppConfigError, match="AGENT_MODEL"):
        parse_model_spec(spec)


def test_defaults_run_offline_on_the_embedded_model_in_the_sandbox():
    config = AppConfig.from_env({})
    assert config.model == "local" and config.executor == "sandbox"
    assert config.tools == [] and config.runs_dataset is None and config.runs_logging
    assert config.upload_policy.extensions == DEFAULT_UPLOAD_EXTENSIONS


def test_every_variable_is_read_and_secrets_stay_out_of_repr():
    env = {"HF_TOKEN": "hf_abcdefghijklmnopqrstuvwxyz", "AGENT_API_KEY": "sk-test-12345678",
           "AGENT_MODEL": "openai:m@http://127.0.0.1:9/v1", "AGENT_EXECUTOR": "LOCAL",
           "AGENT_TOOLS": "web_search, alice/tool@" + "a" * 40, "RUNS_DATASET": "alice/runs",
           "RUNS_DIR": "/tmp/r", "AGENT_IMPORTS": "numpy,pandas", "AGENT_MAX_STEPS": "7",
           "AGENT_MAX_CONCURRENT_RUNS": "3", "AGENT_MAX_UPLOAD_MB": "2.5",
           "AGENT_MAX_UPLOAD_FILES": "4", "AGENT_UPLOAD_TYPES": "png, .CSV",
           "AGENT_RUN_TIMEOUT": "30", "AGENT_SESSION_TTL": "60", "RUNS_LOGGING": "off"}
    config = AppConfig.from_env(env)
    assert config.executor == "local" and config.max_steps == 7
    assert config.tools == ["web_search", "alice/tool@" + "a" * 40]
    assert config.additional_authorized_imports == ["numpy", "pandas"]
    assert config.upload_policy.max_file_mb == 2.5 and config.upload_policy.max_files == 4
    assert config.upload_policy.extensions == (".png", ".csv")
    assert config.runs_dataset == "alice/runs" and config.runs_dir == "/tmp/r"
    assert not config.runs_logging and config.max_concurrent_runs == 3
    assert config.hf_token == env["HF_TOKEN"] and config.api_key == env["AGENT_API_KEY"]
    assert env["HF_TOKEN"] not in repr(config) and env["AGENT_API_KEY"] not in repr(config)
    # A provider's own key is left to its client (OPENAI_API_KEY is not Anthropic's).
    assert AppConfig.from_env({"OPENAI_API_KEY": "sk-other-1234567"}).api_key is None


@pytest.mark.parametrize("env, message", [
    ({"AGENT_EXECUTOR": "docker"}, "AGENT_EXECUTOR"),
    ({"AGENT_MAX_STEPS": "many"}, "AGENT_MAX_STEPS"),
    ({"AGENT_MAX_UPLOAD_MB": "big"}, "AGENT_MAX_UPLOAD_MB"),
    ({"AGENT_MODEL": "nope"}, "AGENT_MODEL"),
])
def test_bad_values_fail_at_start_with_the_variable_named(env, message):
    with pytest.raises(AppConfigError, match=message):
        AppConfig.from_env(env)


def test_build_model_per_kind():
    model = build_model(AppConfig(model="openai:m@http://127.0.0.1:9/v1", api_key="k"))
    assert type(model).__name__ == "OpenAIServerModel" and model.api_base.endswith(":9/v1")
    model = build_model(AppConfig(model="hf:Qwen/Qwen2.5-Coder-32B-Instruct",
                                  hf_token="hf_test_token"))
    assert type(model).__name__ == "HfApiModel" and model.token == "hf_test_token"


def scripted_config(tmp_path, **kwargs) -> AppConfig:
    return AppConfig(model="openai:scripted@http://127.0.0.1:9/v1", executor="local",
                     runs_dir=str(tmp_path / "runs"), data_dir=str(tmp_path / "s"), **kwargs)


def test_create_app_builds_without_launching(tmp_path):
    demo = create_app(scripted_config(tmp_path))
    try:
        assert not demo.is_running
        names = {fn.api_name for fn in demo.fns.values()}
        assert {"chat", "stop", "new_conversation"} <= names
        config = demo.config
        markdown = " ".join(str(c.get("props", {}).get("value", ""))
                            for c in config["components"] if c.get("type") == "markdown")
        assert "OpenAIServerModel - scripted" in markdown and "`local`" in markdown
        assert "Runs are logged locally" in markdown
        labels = {c.get("props", {}).get("label") for c in config["components"]}
        assert "Runs" in labels and "Tools" in labels
        kwargs = demo.launch_kwargs
        assert str((tmp_path / "s").resolve()) in kwargs["allowed_paths"]
        assert kwargs["max_threads"] >= 40
        submit = next(fn for fn in demo.fns.values() if fn.api_name == "chat")
        assert submit.concurrency_limit == demo.app_config.max_concurrent_runs
    finally:
        demo.agent_sessions.close_all()
        demo.run_logger.close()


def test_create_app_without_logging_has_no_runs_tab(tmp_path):
    demo = create_app(scripted_config(tmp_path, runs_logging=False))
    labels = {c.get("props", {}).get("label") for c in demo.config["components"]}
    assert "Runs" not in labels and demo.run_logger is None


def test_sandbox_is_probed_and_never_silently_replaced(tmp_path, monkeypatch):
    from agent_core.executors import factory

    demo = create_app(AppConfig(model="openai:s@http://127.0.0.1:9/v1", executor="sandbox",
                                runs_logging=False, data_dir=str(tmp_path / "s")))
    panel = next(c["props"]["value"] for c in demo.config["components"]
                 if c.get("props", {}).get("elem_id") == "side-panel-text")
    assert "sandboxed worker" in panel and "Active here" in panel

    def broken(*args, **kwargs):
        raise OSError("no landlock")

    monkeypatch.setattr(factory, "create_executor", broken)
    with pytest.raises(AppConfigError, match="AGENT_EXECUTOR=local only if"):
        create_app(AppConfig(model="openai:s@http://127.0.0.1:9/v1", executor="sandbox",
                             runs_logging=False, data_dir=str(tmp_path / "s2")))


def test_unknown_builtin_tool_is_a_clear_error(tmp_path):
    with pytest.raises(AppConfigError, match="unknown built-in tools"):
        create_app(scripted_config(tmp_path, tools=["teleport"], runs_logging=False))


def test_importing_the_library_does_not_import_gradio():
    code = ("import sys, agent_core, agent_core.ui, agent_core.ui.messages, "
            "agent_core.ui.session; print('gradio' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_gradio_ui_gives_each_session_its_own_agent_copy(tmp_path):
    from agent_core import CodeAgent, GradioUI, ScriptedModel
    from tests._scripted_openai_server import code_reply

    model = ScriptedModel([code_reply("final_answer('hi')")], loop=True)
    agent = CodeAgent([], model, verbosity_level=0, name="helper",
                      description="A helpful agent.")
    ui = GradioUI(agent, file_upload_folder=tmp_path)
    demo = ui.create_app()
    assert {fn.api_name for fn in demo.fns.values()} >= {"chat", "stop", "new_conversation"}
    one, two = ui.manager.get("one"), ui.manager.get("two")
    assert one.agent is not agent and one.agent is not two.agent
    assert one.agent.model is agent.model
    assert ui.settings.title == "helper"
    ui.manager.close_all()
