"""TransformersModel runs a real model: the embedded 0.5B Qwen GGUF through transformers.

transformers de-quantizes the GGUF on first load (about a minute); the converted
weights are cached under ``<agent_core cache>/test/transformers`` so later runs load
in seconds.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.llm

ASK = [{"role": "user", "content": "What is 17 * 3? Reply with only the number."}]


@pytest.fixture(scope="module")
def tf_model(embedded_gguf_05b):
    pytest.importorskip("torch")
    from agent_core.models import TransformersModel, agent_core_cache_dir

    model = TransformersModel(gguf_file=embedded_gguf_05b, max_new_tokens=8,
                              converted_cache_dir=agent_core_cache_dir() / "test" / "transformers")
    assert model.model is None  # nothing is loaded until first use
    return model.load()


def test_generate(tf_model):
    message = tf_model.generate(ASK)
    assert "51" in message.content
    assert message.token_usage.input_tokens > 20 and 1 <= message.token_usage.output_tokens <= 8


def test_generate_stream(tf_model):
    deltas = list(tf_model.generate_stream(ASK))
    assert "51" in "".join(d.content or "" for d in deltas)
    assert deltas[-1].token_usage is not None and deltas[-1].token_usage.output_tokens >= 1


def test_stop_sequences(tf_model):
    count = [{"role": "user", "content": "Count from 1 to 9, separated by commas."}]
    message = tf_model.generate(count, stop_sequences=["3"], max_new_tokens=12)
    assert message.content.startswith("1") and "3" not in message.content


def test_the_converted_weights_are_cached(tf_model):
    cached = list(tf_model.converted_cache_dir.glob("qwen2.5-coder-0.5b-instruct*"))
    assert len(cached) == 1 and (cached[0] / "agent_core_source.json").is_file()
    assert any(cached[0].glob("*.safetensors"))


def test_construction_is_lazy_and_offline():
    from agent_core.models import TransformersModel

    model = TransformersModel(model_id="meta-llama/Llama-3.2-3B-Instruct")
    assert model.model is None and model.model_id == "meta-llama/Llama-3.2-3B-Instruct"
