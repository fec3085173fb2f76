"""Tokens/s of LlamaCppModel.generate_stream vs raw llama-cpp-python streaming.

Both stream the same prompt with the same greedy sampling on the same loaded
``llama_cpp.Llama`` (the embedded Qwen2.5-Coder-1.5B GGUF), alternating, with the
KV cache cleared before every run so both pay the same prompt evaluation. Prints
end-to-end tokens/s (call to last token), decode tokens/s (first to last token),
and the ratio (median and best of the rounds: on a shared 2-core machine the best is
the steadier figure). Target: LlamaCppModel >= 90 % of raw.

It also measures what the wrapper itself costs per token, which CPU contention
cannot blur: the same stream is replayed from memory through raw iteration and
through ``generate_stream`` (chat template, tokenization and all).

Usage:
    python bench/bench_llama.py [--rounds 3] [--max-tokens 128] [--variant 1.5b]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent_core.models import LlamaCppModel  # noqa: E402

MESSAGES = [
    {"role": "system", "content": "You are a helpful Python expert."},
    {"role": "user", "content": "Write a Python function that checks whether a number is "
                                "prime, with a docstring, then three example calls."},
]
SAMPLING = {"temperature": 0.0, "top_p": 0.95, "top_k": 40, "min_p": 0.05,
            "repeat_penalty": 1.1, "seed": 0}


def run_raw(llama, max_tokens: int) -> tuple[str, float, float]:
    """Stream with ``create_chat_completion(stream=True)``; return text and timings."""
    llama.reset()
    start = time.perf_counter()
    first, pieces = None, []
    for chunk in llama.create_chat_completion(messages=MESSAGES, stream=True,
                                              max_tokens=max_tokens, **SAMPLING):
        text = chunk["choices"][0]["delta"].get("content")
        if text:
            first = first or time.perf_counter()
            pieces.append(text)
    end = time.perf_counter()
    return "".join(pieces), end - start, end - (first or end)


def run_model(model: LlamaCppModel, max_tokens: int) -> tuple[str, float, float]:
    """Stream with ``LlamaCppModel.generate_stream``; return text and timings."""
    model.llama.reset()
    start = time.perf_counter()
    first, pieces = None, []
    for delta in model.generate_stream(MESSAGES, max_tokens=max_tokens, **SAMPLING):
        if delta.content:
            first = first or time.perf_counter()
            pieces.append(delta.content)
    end = time.perf_counter()
    return "".join(pieces), end - start, end - (first or end)


def wrapper_overhead(model: LlamaCppModel, max_tokens: int, repeats: int = 20) -> float:
    """Seconds per token that generate_stream adds on top of iterating llama's stream."""
    llama = model.llama
    llama.reset()
    prompt = llama.tokenize(b"Write a long Python module about sorting.", add_bos=False)
    chunks = list(llama.create_completion(prompt=prompt, stream=True, max_tokens=max_tokens,
                                          **SAMPLING))
    real = llama.create_completion
    llama.create_completion = lambda **kwargs: iter(chunks)
    try:
        start = time.perf_counter()
        for _ in range(repeats):
            for chunk in iter(chunks):
                chunk["choices"][0]["text"]
        raw = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(repeats):
            for _delta in model.generate_stream(MESSAGES, max_tokens=max_tokens):
                pass
        wrapped = time.perf_counter() - start
    finally:
        llama.create_completion = real
    return (wrapped - raw) / (repeats * len(chunks))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--variant", default="1.5b")
    args = parser.parse_args()

    start = time.perf_counter()
    model = LlamaCppModel(variant=args.variant)
    llama = model.llama
    print(f"model: {model.model_id} ({Path(model.model_path).name}), "
          f"threads={model.n_threads}, cpus={os.cpu_count()}, "
          f"loaded in {time.perf_counter() - start:.1f} s, load average "
          f"{os.getloadavg()[0]:.2f}", flush=True)
    run_raw(llama, 8)  # warm-up
    results: dict[str, list[tuple[float, float]]] = {"raw": [], "model": []}
    texts: dict[str, str] = {}
    for i in range(args.rounds):
        for name in (("raw", "model") if i % 2 == 0 else ("model", "raw")):
            runner = run_raw if name == "raw" else run_model
            text, total, decode = runner(llama if name == "raw" else model, args.max_tokens)
            n = len(llama.tokenize(text.encode(), add_bos=False, special=True))
            results[name].append((n / total, (n - 1) / decode if decode else 0.0))
            texts[name] = text
            print(f"  round {i + 1} {name:5s}: {n} tokens, {n / total:6.2f} tok/s end-to-end, "
                  f"{results[name][-1][1]:6.2f} tok/s decode", flush=True)
    print(f"outputs: {'same' if texts['raw'] == texts['model'] else 'DIFFERENT'} text")
    for label, pick in (("median", statistics.median), ("best", max)):
        raw_e2e, mod_e2e = (pick(r[0] for r in results[k]) for k in ("raw", "model"))
        raw_dec, mod_dec = (pick(r[1] for r in results[k]) for k in ("raw", "model"))
        print(f"{label:6s}: raw {raw_e2e:.2f} tok/s, LlamaCppModel {mod_e2e:.2f} tok/s "
              f"end-to-end ({100 * mod_e2e / raw_e2e:.1f} %); decode raw {raw_dec:.2f}, "
              f"LlamaCppModel {mod_dec:.2f} ({100 * mod_dec / raw_dec:.1f} %)")
    per_token = wrapper_overhead(model, args.max_tokens)
    raw_best = max(r[0] for r in results["raw"])
    print(f"wrapper overhead: {per_token * 1e6:.1f} us/token = "
          f"{100 * per_token * raw_best:.3f} % of a token at {raw_best:.2f} tok/s "
          f"(target: < 10 %)")


if __name__ == "__main__":
    main()
