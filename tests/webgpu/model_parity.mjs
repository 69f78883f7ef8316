// Whole-model logits on WebGPU (the wasm module in Node, Dawn on SwiftShader without a GPU) against
// the native engine, for every architecture x weight type: a prompt in chunks (past KV pages of 32
// and chunk boundaries) and its first tokens decoded one pass each. Models run in one process
// through the module's JS API (js/weblm.mjs, what weblm-wasm wraps); one more run goes through the
// weblm-wasm CLI itself.
//   node tests/webgpu/model_parity.mjs --weblm build/src/cli/weblm --dist build-wasm/dist --work DIR
//        [--archs llama,qwen3] [--types f32,q4_0]
import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath, pathToFileURL} from 'node:url';
import {Weblm, nodeFileSource, requestGpuDevice} from '../../js/weblm.mjs';
import {openWebGpu, webgpuEnv} from './webgpu_node.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) =>
  a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc, []));
for (const need of ['weblm', 'dist', 'work']) if (!args[need]) throw new Error(`--${need} is required`);
fs.mkdirSync(args.work, {recursive: true});

const ARCHS = (args.archs ?? 'llama,mistral3,qwen2,qwen3,phi3,gemma,gemma2,gemma3').split(',');
// Max |logit difference| allowed per weight type (logits of magnitude ~4), and why: WebGPU keeps
// activations in f32 where the native CPU backend (like ggml) rounds them for the dot product.
//  f32: the same arithmetic in another order (gemma: ggml's GELU table turns a last-bit input
//   difference into an f16 ulp of one activation, as in tests/oracle).
//  f16/bf16: native rounds activations to f16/bf16 (2^-11 / 2^-8 relative each).
//  quantized: native quantizes activations to 8-bit blocks (up to 1/254 of a block's largest
//   value each), as llama.cpp does; the oracle tests allow llama.cpp the same margins.
const TOLERANCE = {f32: 1e-4, f16: 5e-3, bf16: 3e-2, q8_0: 0.15, q4_0: 0.15, q4_1: 0.15, q5_0: 0.15,
                   q5_1: 0.15, q4_K: 0.2, q5_K: 0.2, q6_K: 0.2};
const toleranceFor = (arch, type) => (arch.startsWith('gemma') && type === 'f32' ? 1e-3 : TOLERANCE[type]);
const TYPES = (args.types ?? 'f32,q8_0,q4_0,q4_K').split(',');
const N = 100, CHUNK = 32, DECODE_N = 12, VOCAB = 384;
const ids = Array.from({length: N}, (_, i) => (i * 7919 + 11) % VOCAB);

function run(cmd, argv, env) {
  try {
    return execFileSync(cmd, argv, {stdio: ['ignore', 'pipe', 'pipe'], env, maxBuffer: 1 << 28, timeout: 300_000});
  } catch (e) {
    throw new Error(`${cmd} ${argv.slice(0, 2).join(' ')} failed (${e.signal ?? `exit ${e.status}`}): ${e.stderr}`);
  }
}
const readLogits = (file) => {
  const b = fs.readFileSync(file);
  return new Float32Array(b.buffer, b.byteOffset, b.length / 4);
};
function maxDiff(ours, ref, count) {
  let worst = 0;
  for (let i = 0; i < count; i++) {
    const d = Math.abs(ours[i] - ref[i]);
    worst = Number.isNaN(d) ? Infinity : Math.max(worst, d);
  }
  return worst;
}

const gpu = await openWebGpu();
const {device, reason} = await requestGpuDevice(gpu);
if (!device) throw new Error(reason);
const weblm = await Weblm.load({threads: 2, webgpuDevice: device, dist: pathToFileURL(path.resolve(args.dist) + '/')});

let failures = 0;
const started = performance.now();
console.log('arch      type   prompt max|diff|   decode max|diff|   tolerance');
for (const arch of ARCHS) {
  for (const type of TYPES) {
    const model = path.join(args.work, `${arch}-${type}.gguf`);
    run(args.weblm, ['gen-model', '--arch', arch, '--type', type, '--vocab', ARCHS.indexOf(arch) % 2 ? 'bpe' : 'spm',
                     '--dim', '256', '--heads', '4', '--kv-heads', '2', '--ff', '512', '--layers', '2',
                     '--n-vocab', String(VOCAB), '--window', '48', '--seed', String(ARCHS.indexOf(arch) * 100 + 7),
                     ...(arch === 'llama' && type === 'f32' ? ['--rope-freqs'] : []), '-o', model]);
    const refPrompt = path.join(args.work, `${arch}-${type}.prompt.bin`);
    const refDecode = path.join(args.work, `${arch}-${type}.decode.bin`);
    run(args.weblm, ['logits', '-m', model, '--ids', ids.join(','), '-b', String(CHUNK), '--out', refPrompt]);
    run(args.weblm, ['logits', '-m', model, '--ids', ids.slice(0, DECODE_N).join(','), '--decode', '--out', refDecode]);

    const session = await weblm.loadModel(await nodeFileSource(model), {backend: 'webgpu', nCtx: N, nSeqMax: 2, nBatch: CHUNK,
                                                                       name: path.basename(model)});
    if (session.info.backend !== 'webgpu') throw new Error(`${model} did not load on WebGPU: ${session.info.backend_reason}`);
    const prompt = await session.prefill(session.createSequence(), ids, {allLogits: true});
    const decodeSeq = session.createSequence();
    const decode = new Float32Array(DECODE_N * VOCAB);
    for (let i = 0; i < DECODE_N; i++) decode.set(await session.forward(decodeSeq, [ids[i]], 'last'), i * VOCAB);
    session.dispose();

    const tol = toleranceFor(arch, type);
    const p = maxDiff(prompt, readLogits(refPrompt), N * VOCAB);
    const d = maxDiff(decode, readLogits(refDecode), DECODE_N * VOCAB);
    const ok = p <= tol && d <= tol;
    if (!ok) failures++;
    console.log(`${arch.padEnd(9)} ${type.padEnd(6)} ${p.toExponential(2).padStart(16)} ${d.toExponential(2).padStart(18)}` +
                `   ${tol}${ok ? '' : '   FAIL'}`);
  }
}

// The same through the weblm-wasm CLI: a prompt in one pass, compared with native.
const cliModel = path.join(args.work, `${ARCHS[0]}-${TYPES.at(-1)}.gguf`);
const cliOut = path.join(args.work, 'cli.bin');
const cliRef = path.join(args.work, 'cli.ref.bin');
const cliIds = ids.slice(0, 40).join(',');
const cliTol = toleranceFor(ARCHS[0], TYPES.at(-1));
try {
  run(args.weblm, ['logits', '-m', cliModel, '--ids', cliIds, '--out', cliRef]);
  run('node', [path.join(here, '../../js/node/weblm-wasm.mjs'), 'logits', '--backend', 'webgpu', '--dist', args.dist,
               '-m', cliModel, '--ids', cliIds, '--out', cliOut], webgpuEnv());
  const cliDiff = maxDiff(readLogits(cliOut), readLogits(cliRef), 40 * VOCAB);
  if (!(cliDiff <= cliTol)) failures++;
  console.log(`weblm-wasm logits --backend webgpu (${path.basename(cliModel)}): max|diff| ${cliDiff.toExponential(2)}` +
              ` (tolerance ${cliTol})${cliDiff <= cliTol ? '' : '   FAIL'}`);
} catch (e) {
  failures++;
  console.log(`weblm-wasm logits --backend webgpu (${path.basename(cliModel)}): FAIL ${e.message}`);
}
console.log(`${ARCHS.length * TYPES.length} models in ${((performance.now() - started) / 1000).toFixed(1)} s, ` +
            `${failures} failure(s)`);
process.exit(failures ? 1 : 0);
