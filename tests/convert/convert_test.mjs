// weblm's Hugging Face import path against an independent reference: a tiny random Llama
// checkpoint (tools/train/reference_forward.py make-tiny, saved as transformers saves one) is
// converted to GGUF (f32 and f16); weblm's logits must match two float64 forward passes of the
// HF checkpoint, reference_forward.py's numpy one and PyTorch's (tools/train/llama.py, the model
// training uses), and weblm's tokenization the sentencepiece tokenizer's.
// Damaged checkpoints must give an error naming the file and what is wrong.
//   node convert_test.mjs --weblm build/src/cli/weblm --work DIR [--python /usr/bin/python3]
import assert from 'node:assert/strict';
import {execFileSync, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const option = (name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const weblm = option('--weblm');
const work = option('--work');
const python = option('--python', '/usr/bin/python3');
const reference = path.join(here, '../../tools/train/reference_forward.py');
fs.rmSync(work, {recursive: true, force: true});
fs.mkdirSync(work, {recursive: true});

const run = (cmd, args) => execFileSync(cmd, args, {stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 28}).toString();
const floats = (file) => { const b = fs.readFileSync(file); return new Float32Array(b.buffer, b.byteOffset, b.length / 4); };

const hf = path.join(work, 'tiny');
run(python, [reference, 'make-tiny', hf, '--seed', '3']);

// Chat tokens, a newline, digits, punctuation, and words outside the tiny vocabulary (byte fallback).
const text = '<|im_start|>user\nWhat does the word "lighthouse" mean? 1 2 3.<|im_end|>\n<|im_start|>assistant\nZebra ünïcode!';
const refJson = path.join(work, 'ref.json');
run(python, [reference, 'logits', hf, '--text', text, '--out', refJson]);
const ref = JSON.parse(fs.readFileSync(refJson, 'utf8'));
const nVocab = ref.logits[0].length;
// The same positions through PyTorch (llama.py's model, the one training uses, in float64).
const torchJson = path.join(work, 'torch.json');
run(python, [reference, 'logits', hf, '--ids', ref.ids.join(','), '--torch', '--out', torchJson]);
const torchLogits = JSON.parse(fs.readFileSync(torchJson, 'utf8')).logits;
const maxDiffFrom = (ours, rows) => {
  let maxDiff = 0;
  rows.forEach((row, pos) => row.forEach((x, v) => {
    const d = Math.abs(ours[pos * nVocab + v] - x);
    maxDiff = d <= maxDiff ? maxDiff : d;  // NaN makes it NaN, which fails below
  }));
  return maxDiff;
};

// Max |difference| of a logit (logits span ~30 units). f32: only summation order differs from the
// float64 reference. f16: weights rounded to f16 (and activations too, as ggml does).
const TOLERANCE = {f32: 1e-4, f16: 5e-2};
for (const [type, tol] of Object.entries(TOLERANCE)) {
  const gguf = path.join(work, `tiny-${type}.gguf`);
  run(weblm, ['convert', hf, '-o', gguf, '--type', type]);
  const ids = run(weblm, ['tokenize', '-m', gguf, '-p', text]).trim().split(',').map(Number);
  assert.deepEqual(ids, ref.ids, `${type}: weblm's tokens differ from sentencepiece's`);
  const out = path.join(work, `tiny-${type}.logits`);
  run(weblm, ['logits', '-m', gguf, '--ids', ref.ids.join(','), '--out', out]);
  const ours = floats(out);
  assert.equal(ours.length, ref.ids.length * nVocab);
  const maxDiff = maxDiffFrom(ours, ref.logits), torchDiff = maxDiffFrom(ours, torchLogits);
  console.log(`${type}: ${ref.ids.length} positions, max |logit difference| ${maxDiff.toExponential(2)} from numpy, ` +
              `${torchDiff.toExponential(2)} from PyTorch (tolerance ${tol})`);
  assert.ok(maxDiff <= tol, `${type}: logits differ from the numpy reference by ${maxDiff}`);
  assert.ok(torchDiff <= tol, `${type}: logits differ from PyTorch's by ${torchDiff}`);
}

// Damaged checkpoints: a copy of the good one with one edit each.
function damaged(name, edit) {
  const dir = path.join(work, name);
  fs.cpSync(hf, dir, {recursive: true});
  edit(dir);
  return dir;
}
const editConfig = (dir, change) => {
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(file, JSON.stringify(change(JSON.parse(fs.readFileSync(file, 'utf8')))));
};
// Renames a tensor inside the safetensors header (same length, so every offset stays valid).
const renameTensor = (dir, from, to) => {
  const file = path.join(dir, 'model.safetensors');
  const bytes = fs.readFileSync(file);
  const headerEnd = 8 + Number(bytes.readBigUInt64LE(0));
  const header = bytes.subarray(8, headerEnd).toString('latin1');
  assert.equal(from.length, to.length);
  assert.ok(header.includes(`"${from}"`));
  bytes.write(header.replace(`"${from}"`, `"${to}"`), 8, 'latin1');
  fs.writeFileSync(file, bytes);
};
const cases = [
  ['missing tensor', damaged('missing', (d) => renameTensor(d, 'model.layers.1.mlp.up_proj.weight', 'model.layers.1.mlp.up_proj.wEight')),
   /model\.layers\.1\.mlp\.up_proj\.weight' is missing/],
  ['corrupt config.json', damaged('corrupt', (d) => fs.writeFileSync(path.join(d, 'config.json'), '{"model_type": "llama", "hidden_')),
   /config\.json: not valid JSON/],
  ['unknown model_type', damaged('mamba', (d) => editConfig(d, (c) => ({...c, model_type: 'mamba'}))),
   /config\.json: model_type 'mamba' is not supported/],
  ['wrong shape', damaged('shape', (d) => editConfig(d, (c) => ({...c, intermediate_size: 96}))),
   /model\.safetensors: tensor 'model\.layers\.0\.mlp\.gate_proj\.weight' has shape \[128, 64\], expected \[96, 64\]/],
  // One layer fewer than the checkpoint holds: layer 1's tensors are left over.
  ['unknown tensor', damaged('extra', (d) => editConfig(d, (c) => ({...c, num_hidden_layers: 1}))),
   /tensor 'model\.layers\.1\.[a-z_.]+' is not part of a llama model/],
  ['no weights', damaged('noweights', (d) => fs.rmSync(path.join(d, 'model.safetensors'))),
   /neither model\.safetensors nor model\.safetensors\.index\.json/],
  ['unsupported type', hf, /q4_0 is not supported/, ['--type', 'q4_0']],
];
for (const [what, dir, expected, extra = []] of cases) {
  const r = spawnSync(weblm, ['convert', dir, '-o', path.join(work, 'bad.gguf'), ...extra]);
  const stderr = r.stderr.toString();
  assert.equal(r.status, 1, `${what}: exit status ${r.status} (want 1); stderr: ${stderr}`);
  assert.match(stderr, expected, `${what}: unexpected message`);
  console.log(`${what}: ${stderr.trim()}`);
}
console.log('convert_test: all passed');
