"""The chat format of weblm's default model, in one place.

ChatML turns: `<|im_start|>{role}\n{content}<|im_end|>\n`, BOS once at the start of a
conversation (added by the tokenizer, add_bos_token=true, so the template itself has no BOS).
`<|im_end|>` is the end-of-turn token and the model's eos.

Token ids are produced the way llama.cpp tokenizes a rendered prompt with special-token parsing
(llama-vocab.cpp, LLAMA_VOCAB_TYPE_SPM): the text is split at special-token strings, and each raw
fragment is encoded with a space prefix because it always follows a special token or the start.
That equals sentencepiece's own encode() of each fragment with add_dummy_prefix=true, identity
normalization and no whitespace collapsing, which is how the tokenizer is trained.
"""

IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
SPECIAL_TOKENS = [IM_START, IM_END]

# Jinja form of render() below, for tokenizer_config.json.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def render(messages, add_generation_prompt=False):
    text = "".join(f"{IM_START}{m['role']}\n{m['content']}{IM_END}\n" for m in messages)
    if add_generation_prompt:
        text += f"{IM_START}assistant\n"
    return text


def encode_text(sp, text):
    """ids of `text` (no BOS) as llama.cpp's SPM tokenizer with parse_special produces them."""
    ids = []
    pos = 0
    while pos < len(text):
        hits = [(text.find(s, pos), s) for s in SPECIAL_TOKENS]
        hits = [(at, s) for at, s in hits if at >= 0]
        at, special = min(hits) if hits else (len(text), None)
        if at > pos:
            ids += sp.encode(text[pos:at])
        if special is None:
            break
        ids.append(sp.piece_to_id(special))
        pos = at + len(special)
    return ids


def encode_conversation(sp, messages):
    """(ids, mask) of BOS + render(messages), equal to encode_text() of the rendered text; mask
    is 1 on the tokens the model must learn to produce: each assistant reply and its <|im_end|>."""
    im_start, im_end = sp.piece_to_id(IM_START), sp.piece_to_id(IM_END)
    newline = sp.encode("\n")
    ids, mask = [sp.bos_id()], [0]
    for m in messages:
        # "role\ncontent" is one raw fragment between two special tokens; no piece spans the
        # newline (the tokenizer never saw one), so the role header's tokens are a prefix.
        head = sp.encode(f"{m['role']}\n")
        frag = sp.encode(f"{m['role']}\n{m['content']}")
        assert frag[: len(head)] == head, f"tokens cross the role header in {m!r}"
        learn = 1 if m["role"] == "assistant" else 0
        ids += [im_start] + frag + [im_end] + newline
        mask += [0] * (1 + len(head)) + [learn] * (len(frag) - len(head) + 1) + [0] * len(newline)
    return ids, mask
