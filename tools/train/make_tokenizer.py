#!/usr/bin/python3
"""Trains the sentencepiece tokenizer of weblm's default model on make_corpus.py's train.txt.

BPE (llama.cpp's SPM tokenizer merges by piece score, which reproduces sentencepiece BPE but not
unigram's Viterbi search), byte fallback, Llama-style whitespace handling (identity
normalization, dummy prefix, spaces kept), and the chat tokens as user-defined symbols so that
sentencepiece and llama.cpp both match them in raw text. Ids: 0 <unk>, 1 <s>, 2 </s>, then the
chat tokens, the 256 byte tokens and the merged pieces. The whole input is used (no sampling),
which keeps training deterministic.
"""
import argparse
import io
import os
import sys

import sentencepiece as spm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chat_format import SPECIAL_TOKENS  # noqa: E402


def train(lines, vocab_size, threads=1):
    """sentencepiece model bytes trained on `lines` (an iterable of str). Lines are streamed in
    and the model returned in memory, so no file path ends up in the model's trainer spec and the
    output depends on the text alone."""
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=model, model_type="bpe", vocab_size=vocab_size,
        character_coverage=1.0, byte_fallback=True, split_digits=True,
        normalization_rule_name="identity", add_dummy_prefix=True, remove_extra_whitespaces=False,
        allow_whitespace_only_pieces=True, user_defined_symbols=SPECIAL_TOKENS,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1, input_sentence_size=0,
        max_sentence_length=4096, num_threads=threads, minloglevel=2)
    return model.getvalue()


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--text", required=True, help="training text, one sentence per line")
    ap.add_argument("--out", required=True, help="directory for tokenizer.model")
    ap.add_argument("--vocab-size", type=int, default=4096)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    with open(args.text, encoding="utf-8") as f:
        model = train((line.rstrip("\n") for line in f), args.vocab_size, args.threads)
    with open(os.path.join(args.out, "tokenizer.model"), "wb") as f:
        f.write(model)
    sp = spm.SentencePieceProcessor(model_proto=model)
    sample = "What does 'lighthouse' mean?"
    print(f"vocab {sp.get_piece_size()}; {sample!r} -> {sp.encode(sample, out_type=str)}")


if __name__ == "__main__":
    main()
