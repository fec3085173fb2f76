"""agent_core.models: public names, and heavy libraries stay unimported until used."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ["openai", "litellm", "transformers", "torch", "llama_cpp", "huggingface_hub"]


def test_importing_models_imports_no_backend_library():
    code = ("import json, sys, agent_core.models as m\n"
            "names = [getattr(m, n) for n in m.__all__]\n"
            f"print(json.dumps([k for k in {HEAVY!r} if k in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert json.loads(out) == []


def test_public_names():
    import agent_core.models as models

    for name in models.__all__:
        assert getattr(models, name) is not None
    assert models.InferenceClientModel is models.HfApiModel
    assert issubclass(models.AzureOpenAIServerModel, models.OpenAIServerModel)
    for name in ("OpenAIServerModel", "LiteLLMModel", "HfApiModel", "TransformersModel",
                 "LlamaCppModel"):
        assert issubclass(getattr(models, name), models.Model)


@pytest.mark.parametrize("name, module, pip_name, make", [
    ("OpenAIServerModel", "openai", "openai", lambda cls: cls("m", api_key="k")),
    ("AzureOpenAIServerModel", "openai", "openai",
     lambda cls: cls("m", azure_endpoint="http://127.0.0.1:9", api_key="k", api_version="v")),
    ("LiteLLMModel", "litellm", "litellm", lambda cls: cls("openai/m")),
    ("HfApiModel", "huggingface_hub", "huggingface_hub", lambda cls: cls("m")),
    ("LlamaCppModel", "llama_cpp", "llama-cpp-python", lambda cls: cls()),
    ("TransformersModel", "transformers", "transformers", lambda cls: cls("m").load()),
])
def test_a_missing_backend_library_says_what_to_install(name, module, pip_name, make,
                                                         monkeypatch):
    import agent_core.models as models
    from agent_core.exceptions import MissingDependencyError

    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail
    with pytest.raises(MissingDependencyError, match=f"pip install {pip_name}"):
        make(getattr(models, name))
