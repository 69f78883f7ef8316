#!/usr/bin/python3
"""Trains weblm's default model (a small Llama) on make_corpus.py's chats; saves it in HF format.

Deterministic: the weights start from --seed, the data order of epoch e is a permutation drawn
from (seed, e), and there is no dropout, so a run resumed from its checkpoint continues exactly
as an uninterrupted one (for the same thread count and BLAS library). The loss counts only the
tokens the assistant says (its replies and their <|im_end|>).

  train.py --data DIR --tokenizer tokenizer.model --out DIR [--steps N]
writes DIR/ckpt.pt (every --ckpt-every steps; resumed from when present), DIR/model/ (the Hugging
Face checkpoint) and DIR/results.json (held-out loss and perplexity, sample answers).
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import sentencepiece as spm
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chat_format import IM_END, IM_START, encode_conversation, encode_text, render  # noqa: E402
from llama import Config, LlamaForCausalLM, save_hf  # noqa: E402


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


def load_conversations(path, sp):
    """[(ids, mask)] of every conversation in a make_corpus.py jsonl file."""
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            ids, mask = encode_conversation(sp, json.loads(line)["messages"])
            out.append((np.array(ids, np.int64), np.array(mask, np.bool_)))
    return out


def pack(convs, order, n_pos):
    """Packs whole conversations, in `order`, into windows of n_pos tokens (those that do not
    fit are cut). Returns ids [N, n_pos] and mask [N, n_pos]; padding is masked out."""
    windows, cur = [], []
    used = 0
    for i in order:
        n = len(convs[i][0])
        if used + n > n_pos and cur:
            windows.append(cur)
            cur, used = [], 0
        cur.append(i)
        used += n
    if cur:
        windows.append(cur)
    ids = np.zeros((len(windows), n_pos), np.int64)
    mask = np.zeros((len(windows), n_pos), np.bool_)
    for w, members in enumerate(windows):
        pos = 0
        for i in members:
            a, m = convs[i]
            n = min(len(a), n_pos - pos)
            ids[w, pos : pos + n], mask[w, pos : pos + n] = a[:n], m[:n]
            pos += n
    return torch.from_numpy(ids), torch.from_numpy(mask)


class Schedule:
    """step -> batch: epoch e is the train set packed in the order permutation(seed, e); the last
    incomplete batch of an epoch is dropped."""

    def __init__(self, convs, seed, n_pos, batch):
        self.convs, self.seed, self.n_pos, self.batch = convs, seed, n_pos, batch
        self.epoch, self.first_step, self.data = -1, 0, None

    def _load(self, epoch, first_step):
        order = np.random.default_rng([self.seed, epoch]).permutation(len(self.convs))
        self.data = pack(self.convs, order, self.n_pos)
        self.epoch, self.first_step = epoch, first_step

    def batch_at(self, step):
        if self.data is None or step < self.first_step:
            self._load(0, 0)
        while step >= self.first_step + len(self.data[0]) // self.batch:
            self._load(self.epoch + 1, self.first_step + len(self.data[0]) // self.batch)
        b = (step - self.first_step) * self.batch
        return self.epoch, self.data[0][b : b + self.batch], self.data[1][b : b + self.batch]


def masked_loss(model, ids, mask):
    """(sum of cross-entropy over learnable target tokens, their count)"""
    logits = model(ids[:, :-1])
    target = ids[:, 1:]
    keep = mask[:, 1:]
    ce = F.cross_entropy(logits[keep], target[keep], reduction="sum")
    return ce, int(keep.sum())


@torch.no_grad()
def evaluate(model, data, batch):
    model.eval()
    total, count = 0.0, 0
    for b in range(0, len(data[0]), batch):
        ce, n = masked_loss(model, data[0][b : b + batch], data[1][b : b + batch])
        total, count = total + float(ce), count + n
    model.train()
    return total / max(count, 1), count


@torch.no_grad()
def generate(model, sp, messages, max_new=96):
    """Greedy reply to `messages` (ending with a user turn)."""
    model.eval()
    ids = [sp.bos_id()] + encode_text(sp, render(messages, add_generation_prompt=True))
    assert encode_conversation(sp, messages)[0] + [sp.piece_to_id(IM_START)] + sp.encode("assistant\n") == ids
    end = sp.piece_to_id(IM_END)
    out = []
    for _ in range(max_new):
        ctx = ids[-model.cfg.max_position_embeddings :]
        nxt = int(model(torch.tensor([ctx]))[0, -1].argmax())
        if nxt == end:
            break
        out.append(nxt)
        ids.append(nxt)
    model.train()
    return sp.decode(out)


class ThreadChooser:
    """Every `period` steps, times one step at each thread count 1..most, then keeps the fastest."""

    def __init__(self, most, period=50):
        self.most, self.period, self.times = most, period, {}

    def before(self, step):
        k = step % self.period
        if k < self.most:
            torch.set_num_threads(k + 1)

    def after(self, step, seconds):
        k = step % self.period
        if k < self.most:
            self.times[k + 1] = seconds
            if k + 1 == self.most:
                torch.set_num_threads(min(self.times, key=self.times.get))


def lr_at(step, args):
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    t = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.lr * (args.min_lr_ratio + (1 - args.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(t, 1.0))))


def make_model(args, vocab_size, eos_id):
    cfg = Config(vocab_size=vocab_size, hidden_size=args.dim, intermediate_size=args.ffn,
                 num_hidden_layers=args.layers, num_attention_heads=args.heads,
                 num_key_value_heads=args.kv_heads, max_position_embeddings=args.ctx,
                 eos_token_id=eos_id)
    model = LlamaForCausalLM(cfg)
    model.init_weights(torch.Generator().manual_seed(args.seed))
    return model


def blas_gflops():
    """A quick matmul speed probe: Debian's torch links the reference BLAS unless told otherwise."""
    a, b = torch.randn(1024, 256), torch.randn(256, 768)
    t = time.time()
    for _ in range(8):
        a @ b
    return 8 * 2 * 1024 * 256 * 768 / (time.time() - t) / 1e9


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="make_corpus.py output directory")
    ap.add_argument("--tokenizer", required=True, help="sentencepiece tokenizer.model")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=2,
                    help="most threads; every 50 steps 1..N are timed and the fastest kept")
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--ffn", type=int, default=768)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--ctx", type=int, default=256)
    ap.add_argument("--batch", type=int, default=16, help="windows of --ctx tokens per step")
    ap.add_argument("--steps", type=int, default=1600)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--min-lr-ratio", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--eval-convs", type=int, default=1000, help="held-out conversations in periodic evals")
    ap.add_argument("--ckpt-every", type=int, default=50)
    ap.add_argument("--bench", type=int, default=0, help="only time this many steps and exit")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    # Results do not depend on the thread count here (checked bit-identical for 1 and 2 threads
    # with OpenBLAS), so it can follow the load of the shared machine: one thread wins while
    # another process holds a core, since the other thread would stall every parallel region.
    threads = ThreadChooser(args.threads)
    log(f"threads {args.threads}, matmul {blas_gflops():.1f} GFLOP/s")
    sp = spm.SentencePieceProcessor(model_file=args.tokenizer)
    eos_id = sp.piece_to_id(IM_END)
    train_convs = load_conversations(os.path.join(args.data, "train.jsonl"), sp)
    held_convs = load_conversations(os.path.join(args.data, "heldout.jsonl"), sp)
    held = pack(held_convs, range(len(held_convs)), args.ctx + 1)
    held_some = pack(held_convs, range(min(args.eval_convs, len(held_convs))), args.ctx + 1)
    log(f"train {len(train_convs)} conversations, {sum(len(c[0]) for c in train_convs)} tokens; "
        f"held-out {len(held_convs)} conversations")

    model = make_model(args, sp.get_piece_size(), eos_id)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"model {model.cfg} params {n_params}")
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8)
    os.makedirs(args.out, exist_ok=True)
    ckpt_path = os.path.join(args.out, "ckpt.pt")
    step, trained_tokens, train_seconds = 0, 0, 0.0
    if os.path.exists(ckpt_path) and not args.bench:
        ck = torch.load(ckpt_path)
        if ck["shape"] != model.cfg.hf_json():
            sys.exit(f"{ckpt_path} holds a different model shape; remove it to start over")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step, trained_tokens, train_seconds = ck["step"], ck["tokens"], ck["seconds"]
        log(f"resumed from {ckpt_path} at step {step}")

    sched = Schedule(train_convs, args.seed, args.ctx + 1, args.batch)
    last = step + args.bench if args.bench else args.steps
    t0, window_loss, window_n = time.time(), 0.0, 0
    while step < last:
        epoch, ids, mask = sched.batch_at(step)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args)
        threads.before(step)
        t = time.time()
        ce, n = masked_loss(model, ids, mask)
        opt.zero_grad(set_to_none=True)
        (ce / max(n, 1)).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        train_seconds += time.time() - t
        threads.after(step, time.time() - t)
        step += 1
        trained_tokens += ids.numel()
        window_loss, window_n = window_loss + float(ce), window_n + n
        if step % 10 == 0 or step == last:
            log(f"step {step}/{args.steps} epoch {epoch} loss {window_loss / max(window_n, 1):.4f} "
                f"lr {lr_at(step - 1, args):.2e} tokens {trained_tokens} threads {torch.get_num_threads()} "
                f"{ids.numel() * 10 / max(time.time() - t0, 1e-9):.0f} tok/s")
            window_loss, window_n, t0 = 0.0, 0, time.time()
        if args.bench:
            continue
        if step % args.eval_every == 0 and step < last:
            loss, n = evaluate(model, held_some, args.batch)
            log(f"eval step {step}: held-out loss {loss:.4f} ppl {math.exp(loss):.2f} ({n} tokens)")
        if step % args.ckpt_every == 0 or step == last:
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                        "tokens": trained_tokens, "seconds": train_seconds,
                        "shape": model.cfg.hf_json()}, ckpt_path + ".tmp")
            os.replace(ckpt_path + ".tmp", ckpt_path)
    if args.bench:
        return

    model_dir = os.path.join(args.out, "model")
    with open(args.tokenizer, "rb") as f:
        save_hf(model.cfg, {k: v.numpy() for k, v in model.state_dict().items()}, model_dir, f.read())
    log(f"saved {model_dir}")
    loss, n = evaluate(model, held, args.batch)
    log(f"final held-out loss {loss:.4f} ppl {math.exp(loss):.2f} over {n} assistant tokens "
        f"({len(held_convs)} conversations)")
    samples = []
    with open(os.path.join(args.data, "heldout_samples.jsonl"), encoding="utf-8") as f:
        for line in f:
            msgs = json.loads(line)["messages"]
            reply = generate(model, sp, msgs[:-1])
            samples.append({"question": msgs[-2]["content"], "answer": reply, "reference": msgs[-1]["content"]})
            log(f"Q: {msgs[-2]['content']}\n  A: {reply}\n  ref: {msgs[-1]['content']}")
    results = {"params": n_params, "config": model.cfg.hf_json(), "steps": step,
               "tokens_trained": trained_tokens, "train_seconds": round(train_seconds),
               "heldout_loss": loss, "heldout_ppl": math.exp(loss), "heldout_tokens": n,
               "samples": samples, "args": vars(args)}
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
