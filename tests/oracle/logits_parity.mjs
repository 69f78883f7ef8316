// Oracle test: for every architecture x tensor type, a generated model's logits at every
// position, from weblm and from llama.cpp, must agree.
//   node logits_parity.mjs --weblm build/src/cli/weblm --work DIR [--archs a,b] [--types t,u]
// Three weblm runs per model: a 600-token prompt in chunks of 64 (past KV pages of 32 and chunk
// boundaries), the first 70 tokens one at a time (decode), and a 1-token prompt.
import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) =>
  a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc, []));
const weblm = args.weblm;
const work = args.work;
fs.mkdirSync(work, {recursive: true});

const ARCHS = (args.archs ?? 'llama,mistral3,qwen2,qwen3,phi3,gemma,gemma2,gemma3').split(',');
// Tolerance (max |difference| of a logit) per weight type, and why:
//  f32: both sides compute in f32; only summation order differs (measured: <= 4e-6).
//  f16/bf16: both round activations to f16/bf16 before the dot product, as ggml does; a different
//   summation order can flip the rounding of one activation (measured: <= 3e-3 f16, <= 2e-2 bf16).
//  quantized: both quantize activations to 8-bit blocks (q8_0/q8_1/q8_K) exactly alike, and positions
//   are mostly bit-identical; but a last-bit difference upstream can flip one 8-bit activation, which
//   moves logits by up to ~1e-1. llama.cpp is not consistent with itself at this level: its own
//   batch-1 and batch-512 runs of the same q8_0 model differ by 4.3e-2.
const TOLERANCE = {f32: 1e-4, f16: 5e-3, bf16: 3e-2, q8_0: 0.15, q4_0: 0.15, q4_1: 0.15, q5_0: 0.15,
                   q5_1: 0.15, q4_K: 0.2, q5_K: 0.2, q6_K: 0.2};
// gemma*: ggml's GELU rounds its input to f16 and looks the result up in a table; a last-bit
// difference in an input (from summation order) can cross an f16 rounding boundary and move that
// activation by an f16 ulp (~1e-3 relative). f32 gemma models therefore get 1e-3, not 1e-4.
const toleranceFor = (arch, type) => (arch.startsWith('gemma') && type === 'f32' ? 1e-3 : TOLERANCE[type]);
const TYPES = (args.types ?? Object.keys(TOLERANCE).join(',')).split(',');
const N = 600, DECODE_N = 70;

function run(cmd, argv) {
  return execFileSync(cmd, argv, {stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 28});
}
function readLogits(file) {
  const b = fs.readFileSync(file);
  return new Float32Array(b.buffer, b.byteOffset, b.length / 4);
}

// Compares `ours` with the first rows of `ref`; returns [max abs diff, argmax mismatches].
function compare(ours, ref, nVocab, rows, tol) {
  let maxDiff = 0, argmaxBad = 0;
  for (let r = 0; r < rows; r++) {
    let best = -Infinity, second = -Infinity, bestId = -1, ourBest = -Infinity, ourId = -1;
    for (let v = 0; v < nVocab; v++) {
      const a = ours[r * nVocab + v], b = ref[r * nVocab + v];
      maxDiff = Math.max(maxDiff, Math.abs(a - b));
      if (!(Math.abs(a - b) <= maxDiff)) maxDiff = Infinity;  // NaN
      if (b > best) { second = best; best = b; bestId = v; } else if (b > second) second = b;
      if (a > ourBest) { ourBest = a; ourId = v; }
    }
    if (best - second > 2 * tol && ourId !== bestId) argmaxBad++;
  }
  return [maxDiff, argmaxBad];
}

let failures = 0;
const rows = [];
for (const arch of ARCHS) {
  for (const type of TYPES) {
    const vocabKind = ARCHS.indexOf(arch) % 2 ? 'bpe' : 'spm';
    const model = path.join(work, `${arch}-${type}.gguf`);
    // dim and ff multiples of 256 so every type (incl. K-quants) applies to every matrix.
    run(weblm, ['gen-model', '--arch', arch, '--type', type, '--vocab', vocabKind, '--dim', '256',
                '--heads', '4', '--kv-heads', '2', '--ff', '512', '--layers', '2', '--n-vocab', '384',
                '--window', '48', '--seed', String(ARCHS.indexOf(arch) * 100 + TYPES.indexOf(type) + 1),
                ...(arch === 'llama' && type === 'f32' ? ['--rope-freqs'] : []), '-o', model]);
    const ids = Array.from({length: N}, (_, i) => (i * 7919 + 11) % 384);
    const ref = path.join(work, `${arch}-${type}.ref.bin`);
    run('node', [path.join(here, 'llama_oracle.mjs'), 'logits', '--model', model, '--ids', ids.join(','), '--out', ref]);
    const refLogits = readLogits(ref);
    const nVocab = refLogits.length / N;
    const tol = toleranceFor(arch, type);
    const results = [];
    for (const [mode, extra, count] of [['batched', ['-b', '64'], N], ['decode', ['--decode'], DECODE_N], ['single', [], 1]]) {
      const out = path.join(work, `${arch}-${type}.${mode}.bin`);
      run(weblm, ['logits', '-m', model, '--ids', ids.slice(0, count).join(','), '--out', out, '-t', '2', ...extra]);
      const [diff, bad] = compare(readLogits(out), refLogits, nVocab, count, tol);
      const ok = diff <= tol && bad === 0;
      if (!ok) failures++;
      results.push(`${mode} ${diff.toExponential(2)}${bad ? ` argmax-mismatch ${bad}` : ''}${ok ? '' : ' FAIL'}`);
    }
    rows.push(`${arch.padEnd(9)} ${type.padEnd(5)} tol ${tol.toExponential(0)}  ${results.join(' | ')}`);
    console.log(rows[rows.length - 1]);
    for (const f of fs.readdirSync(work)) if (f.startsWith(`${arch}-${type}.`)) fs.rmSync(path.join(work, f));
  }
}
console.log(failures ? `${failures} comparisons FAILED` : 'all logits agree with llama.cpp');
process.exit(failures ? 1 : 0);
