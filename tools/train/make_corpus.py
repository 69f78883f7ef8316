#!/usr/bin/python3
"""WordNet 3.0 (Debian wordnet-base) -> dictionary question/answer chats for weblm's default model.

Parses data.* / index.* / cntlist.rev directly. Deterministic: one seeded RNG, every iteration
over sorted or insertion-ordered containers (never over sets of strings, whose order depends on
PYTHONHASHSEED). A fixed fraction of lemmas is held out: every question about such a lemma goes
to the held-out split, so held-out answers are never trained on (the lemma may still appear
inside other lemmas' answers, e.g. as a synonym).

Writes into --out:
  train.jsonl, heldout.jsonl   one {"messages": [...]} conversation per line
  train.txt                    every message line, the sentencepiece training text
  heldout.txt                  held-out conversations rendered in the chat template
  heldout_samples.jsonl        single held-out questions about common words, for sample answers
  stats.json
"""
import argparse
import json
import os
import random
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chat_format import render  # noqa: E402

POS_FILES = {"n": "noun", "v": "verb", "a": "adj", "r": "adv"}
POS_NAME = {"n": "noun", "v": "verb", "a": "adjective", "r": "adverb"}
POS_ORDER = "nvar"
SENSE_KEY_POS = {"1": "n", "2": "v", "3": "a", "4": "r", "5": "a"}
MAX_GLOSS_CHARS = 220


class Synset:
    __slots__ = ("offset", "pos", "words", "ptrs", "definition", "examples")


def parse_gloss(gloss):
    """'definition; "example one"; "example two"' -> (definition, [examples])."""
    quote = gloss.find('"')
    definition = (gloss if quote < 0 else gloss[:quote]).strip().rstrip(";").strip()
    examples = [e.strip() for e in re.findall(r'"([^"]+)"', gloss) if len(e.strip()) > 3]
    return definition, examples


def load_synsets(wn):
    """{(pos, offset): Synset}; adjective satellites (s) are filed under 'a' like index.adj."""
    synsets = {}
    for pos, name in POS_FILES.items():
        with open(os.path.join(wn, f"data.{name}"), encoding="utf-8") as f:
            for line in f:
                if line.startswith("  "):  # license header
                    continue
                data, _, gloss = line.partition(" | ")
                t = data.split()
                s = Synset()
                s.offset, s.pos = int(t[0]), pos
                n_words = int(t[3], 16)
                # adjective words may carry a syntactic marker: galore(ip), ready_to_hand(p)
                s.words = [re.sub(r"\([a-z]+\)$", "", t[4 + 2 * i]) for i in range(n_words)]
                i = 4 + 2 * n_words
                n_ptrs = int(t[i])
                s.ptrs = []
                for k in range(n_ptrs):
                    sym, off, ppos, st = t[i + 1 + 4 * k : i + 5 + 4 * k]
                    ppos = "a" if ppos == "s" else ppos
                    s.ptrs.append((sym, ppos, int(off), int(st[:2], 16), int(st[2:], 16)))
                s.definition, s.examples = parse_gloss(gloss.strip())
                synsets[(pos, s.offset)] = s
    return synsets


def load_tag_counts(wn):
    """{(lemma, pos, sense_number): semantic-concordance tag count} from cntlist.rev."""
    counts = {}
    with open(os.path.join(wn, "cntlist.rev"), encoding="utf-8") as f:
        for line in f:
            key, sense_no, count = line.split()
            lemma, _, rest = key.partition("%")
            k = (lemma, SENSE_KEY_POS[rest[0]], int(sense_no))
            counts[k] = counts.get(k, 0) + int(count)
    return counts


def load_lemmas(wn, synsets, tag_counts):
    """{lemma: [(pos, sense_no, count, synset)]} senses ordered most frequent first across
    parts of speech (ties: noun, verb, adjective, adverb, then WordNet's own sense order)."""
    lemmas = {}
    for pos, name in POS_FILES.items():
        with open(os.path.join(wn, f"index.{name}"), encoding="utf-8") as f:
            for line in f:
                if line.startswith("  "):
                    continue
                t = line.split()
                lemma, n_synsets, n_ptr = t[0], int(t[2]), int(t[3])
                offsets = t[6 + n_ptr : 6 + n_ptr + n_synsets]
                senses = lemmas.setdefault(lemma, [])
                for no, off in enumerate(offsets, 1):
                    count = tag_counts.get((lemma, pos, no), 0)
                    senses.append((pos, no, count, synsets[(pos, int(off))]))
    for senses in lemmas.values():
        senses.sort(key=lambda s: (-s[2], POS_ORDER.index(s[0]), s[1]))
    return lemmas


def show(word):
    return word.replace("_", " ")


def surface(lemma, synset):
    """The lemma as the synset spells it (WordNet keeps case there: 'Einstein', 'AIDS')."""
    for w in synset.words:
        if w.lower() == lemma:
            return show(w)
    return show(lemma)


def article(phrase):
    return "an" if phrase[:1].lower() in "aeiou" else "a"


def sentence(text):
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def capital(text):
    return text[:1].upper() + text[1:]


class Builder:
    """Generates the question/answer pairs of one lemma; rng decides phrasings only."""

    def __init__(self, synsets, lemmas, rng):
        self.synsets, self.lemmas, self.rng = synsets, lemmas, rng

    def pick(self, options):
        return options[self.rng.randrange(len(options))]

    def ask(self, templates, w):
        """(question, W): W is the word as the question writes it ('x', "x" or bare x). Answers
        repeat W verbatim and never at their very start, so that the word's tokens in the answer
        are the same as in the question (a quote, a capital or a missing space before it would
        change its sentencepiece pieces) and the model only has to copy them."""
        r = self.rng.random()
        W = f"'{w}'" if r < 0.75 else (f'"{w}"' if r < 0.85 else w)
        q = self.pick(templates).format(w=W, a=article(w))
        if self.rng.random() < 0.1:  # people type lowercase, without the final mark
            q = q[0].lower() + q[1:].rstrip("?.")
        return q, W

    def senses(self, lemma, limit):
        """Up to `limit` usable senses (short enough definitions) in frequency order."""
        out = [s for s in self.lemmas[lemma] if 0 < len(s[3].definition) <= MAX_GLOSS_CHARS]
        return out[:limit]

    def related(self, synset, symbols, limit):
        """First words of synsets linked from `synset` by pointers in `symbols` (semantic ones:
        source/target 0), in WordNet's order, without repeats."""
        out = []
        for sym, ppos, off, src, _ in synset.ptrs:
            if sym in symbols and src == 0:
                w = show(self.synsets[(ppos, off)].words[0])
                if w not in out:
                    out.append(w)
        return out[:limit]

    def define(self, lemma, w):
        senses = self.senses(lemma, 3)
        if not senses:
            return None
        q, W = self.ask(["What does {w} mean?", "What is the meaning of {w}?", "Define {w}.",
                         "What does the word {w} mean?", "Explain the word {w}.",
                         "Can you tell me what {w} means?"], w)
        if len(senses) == 1 or senses[0][2] >= 4 * max(1, senses[1][2]):
            pos, _, _, s = senses[0]
            return q, f"The {POS_NAME[pos]} {W} means {sentence(s.definition)}"
        lines = [f"The word {W} has several meanings:"]
        lines += [f"{i}. ({POS_NAME[p]}) {sentence(s.definition)}" for i, (p, _, _, s) in enumerate(senses, 1)]
        return q, "\n".join(lines)

    def what_is(self, lemma, w):
        """'What is a lighthouse?' for a noun whose most frequent sense is a noun."""
        senses = self.senses(lemma, 1)
        if not senses or senses[0][0] != "n" or w[:1].isupper():
            return None
        q = self.pick(["What is {a} {w}?", "What's {a} {w}?", "what is {a} {w}"]).format(a=article(w), w=w)
        return q, f"{capital(article(w))} {w} is {sentence(senses[0][3].definition)}"

    def define_pos(self, lemma, w):
        """'What does run mean as a verb?' for lemmas with more than one part of speech."""
        poses = [p for p in POS_ORDER if any(s[0] == p for s in self.lemmas[lemma])]
        if len(poses) < 2:
            return None
        pos = self.pick(poses)
        senses = [s for s in self.senses(lemma, 20) if s[0] == pos][:2]
        if not senses:
            return None
        q, W = self.ask([f"What does {{w}} mean as {article(POS_NAME[pos])} {POS_NAME[pos]}?",
                         f"What is the {POS_NAME[pos]} {{w}}?"], w)
        defs = " Also: ".join(sentence(s[3].definition) for s in senses)
        return q, f"As {article(POS_NAME[pos])} {POS_NAME[pos]}, {W} means: {defs}"

    def example(self, lemma, w):
        stem = w.lower()[: max(3, len(w) - 2)]
        for pos, _, _, s in self.senses(lemma, 3):
            for ex in s.examples:
                if stem in ex.lower():
                    q, W = self.ask(["Use {w} in a sentence.", "Give an example of {w} in a sentence.",
                                     "How is {w} used?", "Show me an example sentence with {w}."], w)
                    return q, f'Example: "{ex}" (here {W} means {s.definition}).'
        return None

    def synonym(self, lemma, w):
        syn = []
        for _, _, _, s in self.senses(lemma, 3):
            syn += [show(x) for x in s.words if x.lower() != lemma and show(x) not in syn]
        if not syn:
            return None
        q, W = self.ask(["What is a synonym of {w}?", "What is another word for {w}?",
                         "Give me a synonym for {w}.", "What are synonyms of {w}?",
                         "Which words mean the same as {w}?"], w)
        syn = syn[:5]
        if len(syn) == 1:
            return q, f"A synonym of {W} is {syn[0]}."
        return q, f"Synonyms of {W}: {', '.join(syn)}."

    def antonym(self, lemma, w):
        """Direct antonyms: lexical '!' pointers from this lemma's word in its senses."""
        ants = []
        for _, _, _, s in self.senses(lemma, 3):
            idx = [i for i, x in enumerate(s.words, 1) if x.lower() == lemma]
            for sym, ppos, off, src, tgt in s.ptrs:
                if sym == "!" and src in idx:
                    a = show(self.synsets[(ppos, off)].words[tgt - 1])
                    if a not in ants:
                        ants.append(a)
        if not ants:
            return None
        q, W = self.ask(["What is the opposite of {w}?", "What is an antonym of {w}?",
                         "Give me the opposite of {w}.", "What word means the opposite of {w}?"], w)
        return q, f"The opposite of {W} is {' or '.join(ants[:3])}."

    def hypernym(self, lemma, w):
        senses = self.senses(lemma, 1)
        if not senses or senses[0][0] not in "nv":
            return None
        pos, _, _, s = senses[0]
        kinds = self.related(s, ("@",), 2)
        instance_of = self.related(s, ("@i",), 2)
        if pos == "v" and kinds:
            q, W = self.ask(["What kind of action is {w}?", "What is {w} a way of doing?"], w)
            return q, f"To {W} is a way to {kinds[0]}."
        if pos == "n" and instance_of:
            q, W = self.ask(["Who or what is {w}?", "What is {w} an example of?"], w)
            kind = " and ".join(f"{article(k)} {k}" for k in instance_of)
            return q, f"The name {W} refers to {kind}: {sentence(s.definition)}"
        if pos == "n" and kinds:
            q, W = self.ask(["What kind of thing is {w}?", "What is {w} a type of?",
                             "What category does {w} belong to?"], w)
            return q, f"{capital(article(w))} {W} is a kind of {kinds[0]}."
        return None

    def hyponyms(self, lemma, w):
        senses = self.senses(lemma, 1)
        if not senses or senses[0][0] != "n":
            return None
        kinds = self.related(senses[0][3], ("~",), 1000)
        if len(kinds) < 2:
            return None
        kinds = self.rng.sample(kinds, min(5, len(kinds)))
        q, W = self.ask(["Name some kinds of {w}.", "What are some types of {w}?",
                         "Give examples of {w}."], w)
        return q, f"Some kinds of {W}: {', '.join(kinds)}."

    def parts(self, lemma, w):
        senses = self.senses(lemma, 1)
        if not senses or senses[0][0] != "n":
            return None
        s = senses[0][3]
        has = self.related(s, ("%p",), 5)
        part_of = self.related(s, ("#p",), 2)
        if has and (not part_of or self.rng.random() < 0.5):
            q, W = self.ask(["What are the parts of {a} {w}?", "What does {a} {w} have as parts?"], w)
            return q, f"Parts of {article(w)} {W} include: {', '.join(has)}."
        if part_of:
            q, W = self.ask(["What is {w} part of?", "Which whole is {w} a part of?"], w)
            wholes = " and ".join(f"{article(p)} {p}" for p in part_of)
            return q, f"{capital(article(w))} {W} is part of {wholes}."
        return None

    def part_of_speech(self, lemma, w):
        poses = [POS_NAME[p] for p in POS_ORDER if any(s[0] == p for s in self.lemmas[lemma])]
        q, W = self.ask(["What part of speech is {w}?", "Is {w} a noun or a verb?",
                         "What kind of word is {w}?"], w)
        if len(poses) == 1:
            return q, f"The word {W} is {article(poses[0])} {poses[0]}."
        either = ", ".join(f"{article(p)} {p}" for p in poses[:-1])
        return q, f"The word {W} can be {either} or {article(poses[-1])} {poses[-1]}."

    def reverse(self, lemma, w):
        """'Which word means <definition>?' -> the lemma and its synonyms."""
        senses = self.senses(lemma, 1)
        if not senses or len(senses[0][3].definition) > 90:
            return None
        s = senses[0][3]
        q = self.pick(["What is a word for \"{d}\"?", "Which word means \"{d}\"?",
                       "What do you call {d}?", "Is there a word for {d}?"]).format(d=s.definition)
        others = [show(x) for x in s.words if x.lower() != lemma][:3]
        also = f" (also: {', '.join(others)})" if others else ""
        return q, f"{capital(w)}{also}."

    KINDS = ("define", "what_is", "define_pos", "example", "synonym", "antonym", "hypernym",
             "hyponyms", "parts", "part_of_speech", "reverse")

    def pairs(self, lemma, kinds):
        w = surface(lemma, self.lemmas[lemma][0][3])
        out = []
        for kind in kinds:
            qa = getattr(self, kind)(lemma, w)
            if qa:
                out.append({"kind": kind, "lemma": lemma, "q": qa[0], "a": qa[1]})
        return out


SMALL_TALK = [
    (["Hello", "Hi", "Hi!", "Hello!", "Hey", "Good morning"],
     ["Hello! Ask me what a word means, or for a synonym, an opposite or an example sentence.",
      "Hi! I am a small dictionary assistant. Which word would you like to know about?"]),
    (["Who are you?", "What are you?", "What can you do?", "Help", "What do you know?"],
     ["I am a small dictionary assistant trained on WordNet. Ask me what a word means, for "
      "synonyms, opposites, kinds of things or an example sentence."]),
    (["Thanks", "Thank you!", "Thanks a lot", "Great, thank you."],
     ["You're welcome! Ask me about another word any time.", "Glad to help."]),
]

SYSTEM_PROMPTS = ["You are a helpful assistant.", "You are a helpful dictionary assistant.",
                  "Answer questions about English words."]


def tag_count(senses):
    """How often a lemma was tagged in WordNet's semantic concordance: 0 for rare words (mostly
    species, places and multiword terms)."""
    return sum(s[2] for s in senses)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wordnet", default="/usr/share/wordnet")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--heldout", type=float, default=0.02, help="fraction of lemmas held out")
    ap.add_argument("--rare-fraction", type=float, default=0.35,
                    help="fraction of rare (untagged) lemmas whose definition is trained")
    args = ap.parse_args()

    rng = random.Random(args.seed)
    synsets = load_synsets(args.wordnet)
    lemmas = load_lemmas(args.wordnet, synsets, load_tag_counts(args.wordnet))
    keys = sorted(lemmas)
    shuffled = keys[:]
    rng.shuffle(shuffled)
    n_held = int(len(keys) * args.heldout)
    held = dict.fromkeys(shuffled[:n_held])

    b = Builder(synsets, lemmas, rng)
    train, heldout = [], []
    for lemma in keys:
        # common words get every question kind, rare ones a definition at most
        common = tag_count(lemmas[lemma]) > 0
        if lemma in held:
            heldout += b.pairs(lemma, Builder.KINDS)
        elif common:
            train += b.pairs(lemma, Builder.KINDS)
            train += b.pairs(lemma, ("define", "synonym"))  # a second phrasing of the main asks
        elif rng.random() < args.rare_fraction:
            train += b.pairs(lemma, ("define",) if "_" in lemma else ("define", "synonym"))
    for questions, answers in SMALL_TALK:
        for q in questions:
            for a in answers:
                train += [{"kind": "small_talk", "lemma": "", "q": q, "a": a}] * 20

    def conversations(pairs, max_turns):
        """Shuffled pairs grouped into conversations of 1 to max_turns turns, a few with a
        system prompt, so that the model also answers well later in a chat."""
        rng.shuffle(pairs)
        convs, i = [], 0
        while i < len(pairs):
            n = 1 + (rng.random() < 0.35) + (rng.random() < 0.2)
            n = min(n, max_turns, len(pairs) - i)
            msgs = [{"role": "system", "content": rng.choice(SYSTEM_PROMPTS)}] if rng.random() < 0.05 else []
            for p in pairs[i : i + n]:
                msgs += [{"role": "user", "content": p["q"]}, {"role": "assistant", "content": p["a"]}]
            convs.append({"messages": msgs, "kinds": [p["kind"] for p in pairs[i : i + n]],
                          "lemmas": [p["lemma"] for p in pairs[i : i + n]]})
            i += n
        return convs

    train_convs = conversations(train, 3)
    held_convs = conversations(heldout, 1)

    os.makedirs(args.out, exist_ok=True)
    for name, convs in (("train", train_convs), ("heldout", held_convs)):
        with open(os.path.join(args.out, f"{name}.jsonl"), "w", encoding="utf-8") as f:
            for c in convs:
                f.write(json.dumps(c, ensure_ascii=False) + "\n")
    with open(os.path.join(args.out, "train.txt"), "w", encoding="utf-8") as f:
        for c in train_convs:
            for m in c["messages"]:
                f.write(m["content"] + "\n")
    with open(os.path.join(args.out, "heldout.txt"), "w", encoding="utf-8") as f:
        for c in held_convs:
            f.write(render(c["messages"]))
    # Sample questions: held-out common single words, up to 4 of each question kind.
    samples, seen = [], {}
    for c in held_convs:
        lemma, kind = c["lemmas"][0], c["kinds"][0]
        if "_" not in lemma and tag_count(lemmas[lemma]) >= 3 and seen.get(kind, 0) < 4:
            seen[kind] = seen.get(kind, 0) + 1
            samples.append(c)
    with open(os.path.join(args.out, "heldout_samples.jsonl"), "w", encoding="utf-8") as f:
        for c in samples:
            f.write(json.dumps(c, ensure_ascii=False) + "\n")
    kinds = {}
    for p in train:
        kinds[p["kind"]] = kinds.get(p["kind"], 0) + 1
    stats = {"lemmas": len(keys), "heldout_lemmas": n_held, "train_pairs": len(train),
             "heldout_pairs": len(heldout), "train_conversations": len(train_convs),
             "heldout_conversations": len(held_convs), "train_kinds": kinds,
             "samples": len(samples)}
    with open(os.path.join(args.out, "stats.json"), "w") as f:
        json.dump(stats, f, indent=1)
    print(json.dumps(stats))


if __name__ == "__main__":
    main()
