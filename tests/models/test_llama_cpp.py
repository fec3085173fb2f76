"""LlamaCppModel on the real embedded Qwen2.5-Coder-1.5B GGUF, in-process."""

from __future__ import annotations

import threading

import pytest

from agent_core.models import ChatMessage, ChatMessageStreamDelta, TokenUsage

pytestmark = pytest.mark.llm

ASK = [{"role": "user", "content": "What is 17 * 3? Reply with only the number."}]
COUNT = [{"role": "user", "content": "Count from 1 to 20, separated by commas. Nothing else."}]


def _text(deltas: list[ChatMessageStreamDelta]) -> str:
    return "".join(d.content or "" for d in deltas)


def test_generate_answers_with_token_counts(llama_model):
    message = llama_model.generate(ASK)
    assert isinstance(message, ChatMessage) and message.role == "assistant"
    assert "51" in message.content
    usage = message.token_usage
    assert 20 < usage.input_tokens < 80 and 1 <= usage.output_tokens <= 48
    assert llama_model.last_token_usage == usage


def test_stream_yields_the_same_reply_and_usage_last(llama_model):
    whole = llama_model.generate(ASK)
    deltas = list(llama_model.generate_stream(ASK))
    assert all(d.token_usage is None for d in deltas[:-1])
    assert deltas[-1].content is None and deltas[-1].token_usage == whole.token_usage
    assert _text(deltas) == whole.content


def test_max_tokens_bounds_the_reply(llama_model):
    message = llama_model.generate(COUNT, max_tokens=5)
    assert message.token_usage.output_tokens == 5
    assert message.content.startswith("1")


def test_stop_sequences_cut_the_reply(llama_model):
    message = llama_model.generate(COUNT, stop_sequences=["7"])
    assert message.content.startswith("1, 2, 3") and "7" not in message.content
    assert message.content.rstrip(" ,").endswith("6")
    streamed = _text(list(llama_model.generate_stream(COUNT, stop_sequences=["7"])))
    assert streamed == message.content


def test_next_step_reuses_the_prompt_prefix_from_the_kv_cache(llama_model):
    first = llama_model.generate(ASK)
    follow_up = ASK + [{"role": "assistant", "content": first.content},
                       {"role": "user", "content": "And 51 + 1? Only the number."}]
    import llama_cpp

    ctx = llama_model.llama._ctx.ctx
    llama_cpp.llama_perf_context_reset(ctx)
    second = llama_model.generate(follow_up)
    evaluated = llama_cpp.llama_perf_context(ctx).n_p_eval  # prompt tokens llama.cpp computed
    assert "52" in second.content
    # Everything up to the end of the first reply was still in the KV cache...
    assert llama_model.last_cached_tokens >= first.token_usage.input_tokens
    new_tokens = second.token_usage.input_tokens - llama_model.last_cached_tokens
    assert 0 < new_tokens < second.token_usage.input_tokens / 2
    # ...and llama.cpp evaluated only the new part of the prompt.
    assert evaluated <= new_tokens + 1


def test_tools_are_offered_through_the_chat_template(llama_model, weather_tool):
    message = llama_model.generate(
        [{"role": "user", "content": "What is the weather in Paris? Use the tool."}],
        tools=[weather_tool], max_tokens=40)
    # Small models write the call as JSON text; either form carries the city.
    calls = message.tool_calls or []
    assert "Paris" in (message.content or "") or any("Paris" in str(c.arguments) for c in calls)
    assert message.token_usage.input_tokens > 100  # the tool schema is in the prompt


def test_image_parts_are_flattened_to_text(llama_model):
    from PIL import Image

    content = [{"type": "image", "image": Image.new("RGB", (4, 4))},
               {"type": "text", "text": "What is 2 + 2? Reply with only the number."}]
    message = llama_model.generate([{"role": "user", "content": content}], max_tokens=8)
    assert "4" in message.content


def test_one_shared_llama_serves_threads_in_turn(llama_model):
    from agent_core.models import LlamaCppModel

    other = LlamaCppModel(max_tokens=8, temperature=0.0)
    assert other.llama is llama_model.llama  # one copy of the weights per process
    results: dict[str, str] = {}

    def run(name, model, question):
        results[name] = model.generate([{"role": "user", "content": question}]).content

    threads = [threading.Thread(target=run, args=("a", llama_model, "2+3? Only the number.")),
               threading.Thread(target=run, args=("b", other, "4+4? Only the number."))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert "5" in results["a"] and "8" in results["b"]


def test_an_open_stream_in_the_same_thread_is_reported(llama_model):
    stream = llama_model.generate_stream(COUNT)
    next(stream)
    with pytest.raises(RuntimeError, match="unfinished stream"):
        llama_model.generate(ASK)
    stream.close()  # releases the model
    assert "51" in llama_model.generate(ASK).content


def test_the_05b_variant_loads_too(embedded_gguf_05b):
    from agent_core.models import LlamaCppModel

    model = LlamaCppModel(variant="0.5b", n_ctx=1024, max_tokens=6, temperature=0.0)
    assert model.model_path == str(embedded_gguf_05b)
    assert model.model_id == "Qwen/Qwen2.5-Coder-0.5B-Instruct"
    message = model.generate(ASK)
    assert "51" in message.content
    assert isinstance(message.token_usage, TokenUsage) and message.token_usage.input_tokens > 20


def test_a_prompt_longer_than_the_context_is_a_clear_error(llama_model):
    from agent_core.exceptions import ModelAPIError

    too_long = [{"role": "user", "content": "word " * (llama_model.llama.n_ctx() + 10)}]
    with pytest.raises(ModelAPIError, match="context window") as info:
        llama_model.generate(too_long)
    assert not info.value.retryable
