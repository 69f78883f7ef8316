// The wasm build (CPU backend, WASM SIMD128 kernels, threads) against the native engine, both
// driven from outside through their command-line tools:
//   node logits_parity.mjs --weblm build/src/cli/weblm --work DIR [--archs a,b] [--types t,u]
// For every architecture x weight type, a generated model's logits of a 600-token prompt in
// chunks of 64 (past KV pages of 32 and chunk boundaries) and of its first 70 tokens one pass
// each (decode) must agree. Then, once: the single-thread build, a text prompt (the tokenizer in
// wasm), seeded sampling (`run`: same text), `bench`, and bad input.
import {execFileSync, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {check, cliArgs, finish} from '../harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const cli = path.join(here, '../../js/node/weblm-wasm.mjs');
const args = cliArgs();
const weblm = args.weblm;
const work = args.work;
fs.mkdirSync(work, {recursive: true});

const ARCHS = (args.archs ?? 'llama,mistral3,qwen2,qwen3,phi3,gemma,gemma2,gemma3').split(',');
// Tolerance (max |difference| of a logit) per weight type, and why:
//  f32/f16/bf16: the same arithmetic (f16/bf16 activations rounded alike); only the summation
//   order of the dot products differs (wasm: 4-lane accumulators, AVX2: 8-lane).
//  quantized: block products are exact integers on both, scaled and summed in another order;
//   positions mostly agree to ~1e-6, but that last-bit difference can flip one 8-bit activation
//   downstream (x / scale landing on either side of .5), which moves logits by up to ~1e-1.
// gemma* f32: ggml's GELU (which we reproduce) rounds its input to f16 for a table lookup; a
//   last-bit input difference can cross an f16 rounding boundary (~1e-3 relative).
const TOLERANCE = {f32: 1e-4, f16: 5e-3, bf16: 3e-2, q8_0: 0.15, q4_0: 0.15, q4_1: 0.15, q5_0: 0.15,
                   q5_1: 0.15, q4_K: 0.2, q5_K: 0.2, q6_K: 0.2};
const toleranceFor = (arch, type) => (arch.startsWith('gemma') && type === 'f32' ? 1e-3 : TOLERANCE[type]);
// Every architecture with these types; the first architecture also with every other type the
// CPU backend has a kernel for (each wasm kernel runs at least once).
const TYPES = (args.types ?? 'f32,q8_0,q4_0,q4_K').split(',');
const MORE_TYPES = (args['more-types'] ?? 'f16,bf16,q4_1,q5_0,q5_1,q5_K,q6_K').split(',').filter(Boolean);
const typesFor = (arch) => (arch === ARCHS[0] ? [...TYPES, ...MORE_TYPES] : TYPES);
const N = 600, DECODE_N = 70, N_VOCAB = 384;
const ids = Array.from({length: N}, (_, i) => (i * 7919 + 11) % N_VOCAB);

function run(cmd, argv) {
  return execFileSync(cmd, argv, {stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 28}).toString();
}
const wasm = (argv) => run('node', [cli, ...argv]);
function readLogits(file) {
  const b = fs.readFileSync(file);
  return new Float32Array(b.buffer, b.byteOffset, b.length / 4);
}

// [max abs diff, rows whose argmax differs where the reference's top-2 gap exceeds 2 tol]
function compare(ours, ref, rows, tol) {
  if (ours.length !== ref.length) return [Infinity, rows];
  const nVocab = ref.length / rows;
  let maxDiff = 0, argmaxBad = 0;
  for (let r = 0; r < rows; r++) {
    let best = -Infinity, second = -Infinity, bestId = -1, ourBest = -Infinity, ourId = -1;
    for (let v = 0; v < nVocab; v++) {
      const a = ours[r * nVocab + v], b = ref[r * nVocab + v];
      const d = Math.abs(a - b);
      maxDiff = d <= maxDiff ? maxDiff : Number.isNaN(d) ? Infinity : d;
      if (b > best) { second = best; best = b; bestId = v; } else if (b > second) second = b;
      if (a > ourBest) { ourBest = a; ourId = v; }
    }
    if (best - second > 2 * tol && ourId !== bestId) argmaxBad++;
  }
  return [maxDiff, argmaxBad];
}

const model = (arch, type) => path.join(work, `${arch}-${type}.gguf`);
function genModel(arch, type) {
  run(weblm, ['gen-model', '--arch', arch, '--type', type, '--vocab', ARCHS.indexOf(arch) % 2 ? 'bpe' : 'spm',
              '--dim', '256', '--heads', '4', '--kv-heads', '2', '--ff', '512', '--layers', '2',
              '--n-vocab', String(N_VOCAB), '--window', '48', '--seed', String(ARCHS.indexOf(arch) * 100 + typesFor(arch).indexOf(type) + 1),
              ...(arch === 'llama' && type === 'f32' ? ['--rope-freqs'] : []), '-o', model(arch, type)]);
}

// Logits of `count` ids from both tools; returns [diff, argmax mismatches].
function logitsBoth(m, count, extra, tol, wasmExtra = []) {
  const out = (who) => path.join(work, `${path.basename(m)}.${who}.bin`);
  const common = ['-m', m, '--ids', ids.slice(0, count).join(','), '-t', '2', ...extra];
  run(weblm, ['logits', ...common, '--out', out('native')]);
  wasm(['logits', ...common, '--backend', 'cpu', ...wasmExtra, '--out', out('wasm')]);
  return compare(readLogits(out('wasm')), readLogits(out('native')), count, tol);
}

for (const arch of ARCHS) {
  for (const type of typesFor(arch)) {
    genModel(arch, type);
    const tol = toleranceFor(arch, type);
    const results = [];
    let ok = true;
    for (const [mode, extra, count] of [['batched', ['-b', '64'], N], ['decode', ['--decode'], DECODE_N]]) {
      const [diff, bad] = logitsBoth(model(arch, type), count, extra, tol);
      ok &&= diff <= tol && bad === 0;
      results.push(`${mode} ${diff.toExponential(2)}${bad ? ` argmax-mismatch ${bad}` : ''}`);
    }
    check(ok, `${arch.padEnd(9)} ${type.padEnd(5)} tol ${tol.toExponential(0)}  ${results.join(' | ')}`);
  }
}

// The single-thread build (pages without cross-origin isolation) computes the same logits.
{
  const type = TYPES.includes('q4_0') ? 'q4_0' : TYPES[0];
  const m = model(ARCHS[0], type);
  const tol = toleranceFor(ARCHS[0], type);
  const [diff, bad] = logitsBoth(m, 100, ['-b', '32'], tol, ['--single-thread']);
  check(diff <= tol && bad === 0, `single-thread build: ${path.basename(m)} ${diff.toExponential(2)}`);
}

// A text prompt goes through the wasm tokenizer: same ids, so the same logits.
{
  const m = model(ARCHS[0], TYPES[0]);
  const prompt = 'The quick brown fox jumps over the lazy dog. Ünïcödé ✓';
  const out = (who) => path.join(work, `prompt.${who}.bin`);
  run(weblm, ['logits', '-m', m, '-p', prompt, '--out', out('native'), '-t', '2']);
  wasm(['logits', '-m', m, '-p', prompt, '--out', out('wasm'), '-t', '2', '--backend', 'cpu']);
  const n = readLogits(out('native')).length / N_VOCAB;
  const [diff] = compare(readLogits(out('wasm')), readLogits(out('native')), n, 1e-4);
  check(diff <= toleranceFor(ARCHS[0], TYPES[0]), `text prompt (${n} tokens): ${diff.toExponential(2)}`);
}

// Seeded sampling gives the same text (f32 model: logits equal to ~1e-6, the sampler's
// generator is the same on every platform).
{
  const m = model(ARCHS[0], 'f32');
  const argv = ['-m', m, '-p', 'Once upon a time', '-n', '24', '--temp', '0.9', '--seed', '7', '-t', '2', '--ignore-eos'];
  const native = run(weblm, ['run', ...argv]);
  const ours = wasm(['run', ...argv, '--backend', 'cpu']);
  check(native === ours && native.trim().length > 0, `run, seeded sampling: ${JSON.stringify(ours.slice(0, 40))}...`);
}

// bench reports positive speeds of the CPU backend.
{
  const r = JSON.parse(wasm(['bench', '-m', model(ARCHS[0], TYPES[0]), '-p', '64', '-n', '8', '-t', '2', '--json',
                             '--backend', 'cpu']));
  check(r.backend === 'cpu' && r.pp_tps > 0 && r.tg_tps > 0 && r.ttft_ms > 0,
        `bench: pp ${r.pp_tps.toFixed(1)} t/s, tg ${r.tg_tps.toFixed(1)} t/s`);
}

// Bad input: clear errors, exit status 1, never a crash.
{
  const truncated = path.join(work, 'truncated.gguf');
  fs.writeFileSync(truncated, fs.readFileSync(model(ARCHS[0], TYPES[0])).subarray(0, 5000));
  const cases = [
    [['logits', '-m', truncated, '--ids', '1,2', '--out', path.join(work, 'x.bin'), '--backend', 'cpu'], /truncated\.gguf/],
    [['logits', '-m', model(ARCHS[0], TYPES[0]), '--ids', `1,${N_VOCAB}`, '--out', path.join(work, 'x.bin'), '--backend', 'cpu'],
     /token id 384 is outside the vocabulary/],
    [['logits', '-m', model(ARCHS[0], TYPES[0]), '--ids', '1,2', '--out', path.join(work, 'x.bin'), '--backend', 'tpu'],
     /unknown backend 'tpu' \(expected webgpu, cpu or auto\)/],
    [['run', '-m', model(ARCHS[0], TYPES[0]), '--bogus'], /unknown option --bogus/],
    [['run', '-m', model(ARCHS[0], TYPES[0]), '-p', 'hi', '--temp', '-1', '--backend', 'cpu'], /temperature/],
  ];
  for (const [argv, expected] of cases) {
    const r = spawnSync('node', [cli, ...argv], {encoding: 'utf8'});
    check(r.status === 1 && expected.test(r.stderr), `error: ${argv.slice(0, 1)} ... -> ${r.stderr.trim().split('\n')[0]}`);
  }
}

finish('the wasm build agrees with the native engine');
