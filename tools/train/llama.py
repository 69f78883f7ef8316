"""The Llama model of weblm's default model in plain PyTorch, and its Hugging Face file format.

Module and parameter names are those of transformers' LlamaForCausalLM, so state_dict() keys
are the Hugging Face tensor names (model.layers.N.self_attn.q_proj.weight, ...). Rope is the HF
"rotate_half" layout: dimension i of a head pairs with i + head_dim/2. safetensors is written
and read here directly (Debian has no safetensors package): u64 little-endian header length, a
JSON header {name: {dtype, shape, data_offsets}}, then the raw little-endian tensor data.
"""
import json
import math
import os
import struct
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Config:
    vocab_size: int
    hidden_size: int = 256
    intermediate_size: int = 688
    num_hidden_layers: int = 6
    num_attention_heads: int = 8
    num_key_value_heads: int = 2
    max_position_embeddings: int = 256
    rms_norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    bos_token_id: int = 1
    eos_token_id: int = 2

    @property
    def head_dim(self):
        return self.hidden_size // self.num_attention_heads

    def hf_json(self):
        return {"architectures": ["LlamaForCausalLM"], "model_type": "llama", **asdict(self),
                "head_dim": self.head_dim, "hidden_act": "silu", "tie_word_embeddings": False,
                "attention_bias": False, "mlp_bias": False, "rope_scaling": None,
                "initializer_range": 0.02, "use_cache": True, "torch_dtype": "float32"}

    @classmethod
    def from_hf_json(cls, j):
        return cls(**{k: j[k] for k in cls.__dataclass_fields__})


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rope_tables(cfg, n_pos):
    """cos, sin: [n_pos, head_dim], HF layout (the half-size frequency table repeated twice)."""
    inv_freq = 1.0 / cfg.rope_theta ** (torch.arange(0, cfg.head_dim, 2, dtype=torch.float64) / cfg.head_dim)
    freqs = torch.outer(torch.arange(n_pos, dtype=torch.float64), inv_freq)
    emb = torch.cat([freqs, freqs], dim=-1)
    return emb.cos().float(), emb.sin().float()


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, hd = cfg.hidden_size, cfg.head_dim
        self.n_heads, self.n_kv, self.hd = cfg.num_attention_heads, cfg.num_key_value_heads, hd
        self.q_proj = nn.Linear(d, self.n_heads * hd, bias=False)
        self.k_proj = nn.Linear(d, self.n_kv * hd, bias=False)
        self.v_proj = nn.Linear(d, self.n_kv * hd, bias=False)
        self.o_proj = nn.Linear(self.n_heads * hd, d, bias=False)

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.n_heads, self.hd).transpose(1, 2)  # [B, H, T, hd]
        k = self.k_proj(x).view(B, T, self.n_kv, self.hd).transpose(1, 2)  # [B, KV, T, hd]
        v = self.v_proj(x).view(B, T, self.n_kv, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        # GQA as HF's repeat_kv: query head h reads kv head h // (H / KV)
        rep = self.n_heads // self.n_kv
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        att = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(self.hd)) + mask  # [B, H, T, T]
        y = F.softmax(att, dim=-1) @ v  # [B, H, T, hd]
        return self.o_proj(y.transpose(1, 2).reshape(B, T, self.n_heads * self.hd))


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.gate_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.up_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.down_proj = nn.Linear(cfg.intermediate_size, cfg.hidden_size, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.mlp = MLP(cfg)

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class Body(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList(Block(cfg) for _ in range(cfg.num_hidden_layers))
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)


class LlamaForCausalLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.model = Body(cfg)
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        cos, sin = rope_tables(cfg, cfg.max_position_embeddings)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)

    def init_weights(self, generator):
        # GPT-2 style: N(0, 0.02), residual output projections scaled by depth
        for name, p in self.named_parameters():
            if name.endswith("layernorm.weight") or name == "model.norm.weight":
                nn.init.ones_(p)
            else:
                std = 0.02
                if name.endswith(("o_proj.weight", "down_proj.weight")):
                    std /= math.sqrt(2 * self.cfg.num_hidden_layers)
                with torch.no_grad():
                    p.copy_(torch.randn(p.shape, generator=generator) * std)

    def forward(self, ids):
        """ids [B, T] -> logits [B, T, vocab]"""
        T = ids.shape[1]
        mask = torch.full((T, T), float("-inf")).triu(1)
        cos, sin = self.cos[:T], self.sin[:T]
        x = self.model.embed_tokens(ids)
        for layer in self.model.layers:
            x = layer(x, cos, sin, mask)
        return self.lm_head(self.model.norm(x))


SAFETENSORS_DTYPES = {np.dtype("<f4"): "F32", np.dtype("<f2"): "F16"}
NUMPY_DTYPES = {"F32": np.dtype("<f4"), "F16": np.dtype("<f2"), "F64": np.dtype("<f8"),
                "BF16": None}


def write_safetensors(path, tensors):
    """tensors: {name: numpy array}, written in the given order."""
    header, offset = {}, 0
    for name, a in tensors.items():
        header[name] = {"dtype": SAFETENSORS_DTYPES[a.dtype], "shape": list(a.shape),
                        "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    header["__metadata__"] = {"format": "pt"}
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # tensor data 8-byte aligned, as the safetensors library does
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for a in tensors.values():
            f.write(np.ascontiguousarray(a).tobytes())


def read_safetensors(path):
    """{name: float32 numpy array} (F32, F16 or BF16 on disk)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack_from("<Q", data, 0)
    header = json.loads(data[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, h in header.items():
        if name == "__metadata__":
            continue
        begin, end = h["data_offsets"]
        raw = data[base + begin : base + end]
        if h["dtype"] == "BF16":
            a = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            a = np.frombuffer(raw, NUMPY_DTYPES[h["dtype"]]).astype(np.float32)
        if a.size != math.prod(h["shape"]):
            raise ValueError(f"{path}: tensor {name} has {a.size} values for shape {h['shape']}")
        out[name] = a.reshape(h["shape"])
    return out


def save_hf(cfg, tensors, out_dir, tokenizer_model):
    """Writes config.json, model.safetensors ({HF name: numpy array}), generation_config.json,
    tokenizer.model and tokenizer_config.json as transformers does for a LlamaForCausalLM with a
    sentencepiece tokenizer (tokenizer_model: the sentencepiece model's bytes). The chat format is
    chat_format.py's; eos is its end-of-turn token."""
    from chat_format import CHAT_TEMPLATE, IM_END, SPECIAL_TOKENS
    import sentencepiece as spm

    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg.hf_json(), f, indent=2)
    write_safetensors(os.path.join(out_dir, "model.safetensors"), tensors)
    with open(os.path.join(out_dir, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": cfg.bos_token_id, "eos_token_id": cfg.eos_token_id,
                   "do_sample": False, "max_new_tokens": 128}, f, indent=2)
    with open(os.path.join(out_dir, "tokenizer.model"), "wb") as f:
        f.write(tokenizer_model)
    sp = spm.SentencePieceProcessor(model_proto=tokenizer_model)
    if sp.piece_to_id(IM_END) != cfg.eos_token_id or sp.get_piece_size() != cfg.vocab_size:
        raise ValueError("the tokenizer does not match the model's vocab_size/eos_token_id")

    def added(piece):
        return {"content": piece, "lstrip": False, "normalized": False, "rstrip": False,
                "single_word": False, "special": True}

    decoder = {str(sp.piece_to_id(p)): added(p) for p in ["<unk>", "<s>", "</s>"] + SPECIAL_TOKENS}
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "LlamaTokenizer", "model_max_length": cfg.max_position_embeddings,
                   "bos_token": "<s>", "eos_token": IM_END, "unk_token": "<unk>", "pad_token": None,
                   "add_bos_token": True, "add_eos_token": False, "legacy": True,
                   "clean_up_tokenization_spaces": False, "sp_model_kwargs": {},
                   "added_tokens_decoder": decoder, "chat_template": CHAT_TEMPLATE}, f, indent=2)


def load_hf(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = Config.from_hf_json(json.load(f))
    model = LlamaForCausalLM(cfg)
    weights = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
    return model
