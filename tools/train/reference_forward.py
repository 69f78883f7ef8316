#!/usr/bin/python3
"""Reference forward pass of a Hugging Face Llama checkpoint, in float64 numpy, written from the
transformers LlamaForCausalLM semantics independently of train.py's PyTorch model. It is the
oracle that weblm's HF -> GGUF conversion is tested against.

  reference_forward.py logits MODEL_DIR (--ids 1,3,87 | --text "...") [--out logits.json] [--bin logits.f32]
      logits of every position: JSON {"ids": [...], "logits": [[vocab floats] per position]},
      and/or raw little-endian float32 [n_ids, vocab]. --text is tokenized with the model's
      tokenizer.model the way llama.cpp does (BOS, special tokens parsed).
      --torch: the same logits from llama.py's PyTorch model (float64) instead of numpy.
  reference_forward.py make-tiny OUT_DIR [--seed 0]
      a tiny random checkpoint (dim 64, 2 layers, 4 heads, 2 kv heads, untied, its own ~320-piece
      sentencepiece vocabulary with the chat tokens) in the same file format as the real model,
      made in about a second.
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llama import Config, read_safetensors, save_hf  # noqa: E402


def rms_norm(x, w, eps):
    return w * (x / np.sqrt((x * x).mean(-1, keepdims=True) + eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return np.concatenate([-x[..., h:], x[..., :h]], axis=-1)


def forward(cfg, w, ids):
    """cfg: config.json dict; w: {HF name: array}; ids: [T] -> logits [T, vocab] (float64)"""
    w = {k: v.astype(np.float64) for k, v in w.items()}
    d, L = cfg["hidden_size"], cfg["num_hidden_layers"]
    H, KV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim") or d // H
    eps, T = cfg["rms_norm_eps"], len(ids)
    inv_freq = 1.0 / cfg.get("rope_theta", 10000.0) ** (np.arange(0, hd, 2) / hd)
    ang = np.outer(np.arange(T), inv_freq)
    cos = np.cos(np.concatenate([ang, ang], -1))[:, None, :]  # [T, 1, hd]
    sin = np.sin(np.concatenate([ang, ang], -1))[:, None, :]
    causal = np.triu(np.full((T, T), -np.inf), 1)

    x = w["model.embed_tokens.weight"][np.asarray(ids)]  # [T, d]
    for i in range(L):
        p = f"model.layers.{i}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = (h @ w[p + "self_attn.q_proj.weight"].T).reshape(T, H, hd)
        k = (h @ w[p + "self_attn.k_proj.weight"].T).reshape(T, KV, hd)
        v = (h @ w[p + "self_attn.v_proj.weight"].T).reshape(T, KV, hd)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        out = np.empty((T, H, hd))
        for head in range(H):
            kv = head // (H // KV)
            s = q[:, head] @ k[:, kv].T / np.sqrt(hd) + causal  # [T, T]
            s = np.exp(s - s.max(-1, keepdims=True))
            out[:, head] = (s / s.sum(-1, keepdims=True)) @ v[:, kv]
        x = x + out.reshape(T, H * hd) @ w[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        g = h @ w[p + "mlp.gate_proj.weight"].T
        u = h @ w[p + "mlp.up_proj.weight"].T
        x = x + (g / (1 + np.exp(-g)) * u) @ w[p + "mlp.down_proj.weight"].T
    x = rms_norm(x, w["model.norm.weight"], eps)
    head_w = w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings") else w["lm_head.weight"]
    return x @ head_w.T


def load(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    return cfg, read_safetensors(os.path.join(model_dir, "model.safetensors"))


def tokenize(model_dir, text):
    import sentencepiece as spm
    from chat_format import encode_text

    sp = spm.SentencePieceProcessor(model_file=os.path.join(model_dir, "tokenizer.model"))
    return [sp.bos_id()] + encode_text(sp, text)


TINY_TEXT = """The lighthouse is a tower with a light that gives warning of shoals to passing ships.
What does the word mean? A synonym is a word that means the same as another word.
The opposite of hot is cold, and the opposite of day is night.
An example sentence shows how a word is used: she was able to swim across the river.
Small models answer questions about English words, their meanings and their parts of speech.
1 2 3 4 5 6 7 8 9 0 numbers, letters, and punctuation: commas; colons! questions?
"""


def make_tiny(out_dir, seed):
    """Random weights scaled so that activations stay O(1) and logits differ by whole units
    (0.02-std weights would give near-uniform logits that hide layout mistakes); norm weights
    are random around 1 so that swapping them is visible too."""
    import make_tokenizer
    import sentencepiece as spm

    tok = make_tokenizer.train(TINY_TEXT.splitlines() * 4, vocab_size=320)
    sp = spm.SentencePieceProcessor(model_proto=tok)
    cfg = Config(vocab_size=sp.get_piece_size(), hidden_size=64, intermediate_size=128,
                 num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                 max_position_embeddings=128, eos_token_id=sp.piece_to_id("<|im_end|>"))
    rng = np.random.default_rng(seed)
    d, f, hd = cfg.hidden_size, cfg.intermediate_size, cfg.head_dim
    shapes = {"model.embed_tokens.weight": (cfg.vocab_size, d)}
    for i in range(cfg.num_hidden_layers):
        p = f"model.layers.{i}."
        shapes.update({p + "self_attn.q_proj.weight": (cfg.num_attention_heads * hd, d),
                       p + "self_attn.k_proj.weight": (cfg.num_key_value_heads * hd, d),
                       p + "self_attn.v_proj.weight": (cfg.num_key_value_heads * hd, d),
                       p + "self_attn.o_proj.weight": (d, cfg.num_attention_heads * hd),
                       p + "mlp.gate_proj.weight": (f, d), p + "mlp.up_proj.weight": (f, d),
                       p + "mlp.down_proj.weight": (d, f),
                       p + "input_layernorm.weight": (d,), p + "post_attention_layernorm.weight": (d,)})
    shapes.update({"model.norm.weight": (d,), "lm_head.weight": (cfg.vocab_size, d)})
    tensors = {}
    for name, shape in shapes.items():
        if len(shape) == 1:
            a = 1.0 + 0.2 * rng.standard_normal(shape)
        elif name == "model.embed_tokens.weight":
            a = rng.standard_normal(shape)
        else:
            a = rng.standard_normal(shape) / np.sqrt(shape[1])
        tensors[name] = a.astype(np.float32)
    tensors["lm_head.weight"] *= 4.0  # logits spread over several units
    save_hf(cfg, tensors, out_dir, tok)


def torch_forward(model_dir, ids):
    import torch
    from llama import load_hf
    model = load_hf(model_dir).double().eval()
    with torch.no_grad():
        return model(torch.tensor([ids]))[0].numpy()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    lg = sub.add_parser("logits")
    lg.add_argument("model_dir")
    src = lg.add_mutually_exclusive_group(required=True)
    src.add_argument("--ids", help="comma-separated token ids")
    src.add_argument("--text", help="text to tokenize with the model's tokenizer (BOS added)")
    lg.add_argument("--out", help="JSON output file (default: stdout)")
    lg.add_argument("--bin", help="raw float32 little-endian [n_ids, vocab] output file")
    lg.add_argument("--torch", action="store_true",
                    help="run the PyTorch model of llama.py (the one training uses) in float64 instead")
    tiny = sub.add_parser("make-tiny")
    tiny.add_argument("out_dir")
    tiny.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    if args.cmd == "make-tiny":
        make_tiny(args.out_dir, args.seed)
        return
    cfg, w = load(args.model_dir)
    ids = [int(t) for t in args.ids.split(",")] if args.ids else tokenize(args.model_dir, args.text)
    logits = torch_forward(args.model_dir, ids) if args.torch else forward(cfg, w, ids)
    if args.bin:
        logits.astype("<f4").tofile(args.bin)
    if args.out or not args.bin:
        doc = json.dumps({"ids": ids, "logits": logits.tolist()})
        if args.out:
            with open(args.out, "w") as f:
                f.write(doc)
        else:
            print(doc)


if __name__ == "__main__":
    main()
