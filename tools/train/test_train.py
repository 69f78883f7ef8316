#!/usr/bin/python3
"""Checks of the training tools: python3 -m unittest discover -s tools/train -p 'test_*.py'
(a few seconds; the WordNet checks need /usr/share/wordnet)."""
import json
import os
import sys
import tempfile
import unittest

import numpy as np
import sentencepiece as spm
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_corpus  # noqa: E402
import reference_forward  # noqa: E402
from chat_format import IM_END, encode_conversation, encode_text, render  # noqa: E402
from llama import load_hf, read_safetensors, write_safetensors  # noqa: E402
from train import pack  # noqa: E402

WORDNET = "/usr/share/wordnet"


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


class TinyCheckpoint(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.dir = cls.tmp.name
        reference_forward.make_tiny(cls.dir, seed=3)
        cls.sp = spm.SentencePieceProcessor(model_file=os.path.join(cls.dir, "tokenizer.model"))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_files_look_like_transformers_output(self):
        cfg = json.loads(read(os.path.join(self.dir, "config.json")))
        self.assertEqual(cfg["architectures"], ["LlamaForCausalLM"])
        self.assertEqual(cfg["eos_token_id"], self.sp.piece_to_id(IM_END))
        tok = json.loads(read(os.path.join(self.dir, "tokenizer_config.json")))
        self.assertIn("<|im_start|>assistant", tok["chat_template"])
        self.assertTrue(tok["add_bos_token"])
        w = read_safetensors(os.path.join(self.dir, "model.safetensors"))
        self.assertEqual(w["model.layers.1.self_attn.k_proj.weight"].shape, (2 * 16, 64))
        self.assertEqual(w["lm_head.weight"].shape, (cfg["vocab_size"], 64))

    def test_reference_forward_matches_training_model(self):
        """Two independent forwards (numpy float64 from HF semantics, train.py's torch module)."""
        cfg, w = reference_forward.load(self.dir)
        ids = [1, 3, 17, 200, 45, 4, 9, 300, 12]
        ref = reference_forward.forward(cfg, w, ids)
        with torch.no_grad():
            got = load_hf(self.dir)(torch.tensor([ids]))[0].numpy()
        self.assertGreater(ref.std(), 1.0)  # logits that actually depend on the weights
        np.testing.assert_allclose(got, ref, atol=2e-4)

    def test_conversation_tokens_match_rendered_text(self):
        msgs = [{"role": "system", "content": "Answer questions."},
                {"role": "user", "content": "What does 'word' mean?"},
                {"role": "assistant", "content": "A unit of language.\n1. (noun) a promise."},
                {"role": "user", "content": "Thanks"}, {"role": "assistant", "content": "Glad to help."}]
        ids, mask = encode_conversation(self.sp, msgs)
        self.assertEqual(ids, [self.sp.bos_id()] + encode_text(self.sp, render(msgs)))
        learned = [t for t, m in zip(ids, mask) if m]
        end = self.sp.piece_to_id(IM_END)
        self.assertEqual(learned.count(end), 2)
        replies = self.sp.decode([t for t in learned if t != end])
        self.assertEqual(replies, "A unit of language.\n1. (noun) a promise.Glad to help.")


class Formats(unittest.TestCase):
    def test_safetensors_round_trip(self):
        t = {"a": np.arange(6, dtype="<f4").reshape(2, 3), "b": np.array([1.5, -2], dtype="<f2")}
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "x.safetensors")
            write_safetensors(path, t)
            raw = read(path, "rb")
            n = int.from_bytes(raw[:8], "little")
            self.assertEqual((8 + n) % 8, 0)
            header = json.loads(raw[8 : 8 + n])
            self.assertEqual(header["a"], {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]})
            self.assertEqual(header["b"]["data_offsets"], [24, 28])
            back = read_safetensors(path)
        np.testing.assert_array_equal(back["a"], t["a"])
        np.testing.assert_array_equal(back["b"], [1.5, -2])

    def test_pack_keeps_conversations_whole(self):
        convs = [(np.full(n, i + 1), np.ones(n, bool)) for i, n in enumerate([5, 4, 3, 6, 2])]
        ids, mask = pack(convs, [0, 1, 2, 3, 4], 10)
        self.assertEqual(ids.tolist(), [[1] * 5 + [2] * 4 + [0], [3] * 3 + [4] * 6 + [0], [5] * 2 + [0] * 8])
        self.assertEqual(mask.sum().item(), 20)

    def test_gloss_split(self):
        d, ex = make_corpus.parse_gloss('easy to reach; "found a handy spot for the can opener"')
        self.assertEqual((d, ex), ("easy to reach", ["found a handy spot for the can opener"]))


@unittest.skipUnless(os.path.isdir(WORDNET), "wordnet-base is not installed")
class WordNet(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.synsets = make_corpus.load_synsets(WORDNET)
        cls.lemmas = make_corpus.load_lemmas(WORDNET, cls.synsets, make_corpus.load_tag_counts(WORDNET))

    def test_known_entries(self):
        b = make_corpus.Builder(self.synsets, self.lemmas, __import__("random").Random(0))
        q, a = b.define("lighthouse", "lighthouse")
        self.assertTrue(a.endswith("means a tower with a light that gives warning of shoals to passing ships."), a)
        q, a = b.antonym("able", "able")
        self.assertRegex(a, r"^The opposite of .?able.? is unable\.$")
        q, a = b.synonym("lighthouse", "lighthouse")
        self.assertRegex(a, r"^Synonyms of .?lighthouse.?: beacon, beacon light, pharos\.$")
        # most frequent sense first across parts of speech: 'run' is mostly a verb
        self.assertEqual(self.lemmas["run"][0][0], "v")

    def test_answers_repeat_the_word_as_asked(self):
        b = make_corpus.Builder(self.synsets, self.lemmas, __import__("random").Random(1))
        for lemma in ("lighthouse", "run", "happy", "engage"):
            for qa in b.pairs(lemma, ("define", "synonym", "antonym", "part_of_speech")):
                asked = [w for w in (f"'{lemma}'", f'"{lemma}"', lemma) if w in qa["q"]][0]
                self.assertIn(" " + asked, qa["a"])

if __name__ == "__main__":
    unittest.main()
