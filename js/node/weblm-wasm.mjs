#!/usr/bin/env node
// weblm-wasm: the wasm build of weblm from the command line, with the native `weblm` tool's
// `logits`, `run` and `bench` arguments plus --backend webgpu|cpu|auto, so the wasm engine can be
// checked from outside exactly like the native one (same logits file format).
//   weblm-wasm logits -m MODEL (--ids 1,2 | -p TEXT) --out FILE [--decode] [-b N] [-t N] [--backend cpu]
//   weblm-wasm run -m MODEL -p PROMPT [-n N] [--temp T] ...
//   weblm-wasm bench -m MODEL [-p 512] [-n 128] [-t N] [--json]
// WebGPU comes from npm `webgpu` (Dawn); on a machine without a GPU, Chromium's SwiftShader:
//   LD_LIBRARY_PATH=/usr/lib/chromium VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json
import fs from 'node:fs';
import path from 'node:path';
import {pathToFileURL} from 'node:url';

import {hardwareThreads, nodeFileSource, requestGpuDevice, Weblm} from '../weblm.mjs';
import {Args, parseIds} from './args.mjs';

const BACKEND = {names: ['--backend'], value: true, help: 'webgpu, cpu or auto (default auto: WebGPU when it can run the model)'};
const DIST = {names: ['--dist'], value: true, help: 'directory of the wasm module (default build-wasm/dist)'};
const SINGLE_THREAD = {names: ['--single-thread'], value: false, help: 'the single-thread build (as pages without cross-origin isolation get)'};
const SAMPLING = [
  {names: ['--temp'], value: true, help: 'temperature (0 = greedy), default 0.8'},
  {names: ['--top-k'], value: true, help: 'top-k cut, default 40 (0 = off)'},
  {names: ['--top-p'], value: true, help: 'top-p cut, default 0.95'},
  {names: ['--min-p'], value: true, help: 'min-p cut, default 0.05'},
  {names: ['--repeat-penalty'], value: true, help: 'repetition penalty, default 1.0 (off)'},
  {names: ['--repeat-last-n'], value: true, help: 'tokens of history the penalties look at, default 64'},
  {names: ['--frequency-penalty'], value: true, help: 'OpenAI frequency penalty, default 0'},
  {names: ['--presence-penalty'], value: true, help: 'OpenAI presence penalty, default 0'},
  {names: ['--seed', '-s'], value: true, help: 'random seed, default 0'},
];

// A GPUDevice from npm `webgpu` (Dawn, Vulkan), or undefined with the reason on stderr.
async function nodeGpuDevice() {
  let gpu;
  try {
    const {create, globals} = await import('webgpu');
    Object.assign(globalThis, globals);
    // Kept for the process's life: when Dawn's instance is collected it tears down the device.
    gpu = globalThis.weblmGpu = create(['backend=vulkan']);
  } catch (e) {
    process.stderr.write(`weblm-wasm: no WebGPU in this Node (npm webgpu: ${e.message})\n`);
    return undefined;
  }
  const {device, reason} = await requestGpuDevice(gpu);
  if (!device) process.stderr.write(`weblm-wasm: ${reason}\n`);
  return device ?? undefined;
}

// The module and the model, on the backend the arguments ask for. The backend chosen and why go
// to stderr.
async function open(a, {nCtx, nBatch}) {
  const backend = a.str('--backend', 'auto');
  const weblm = await Weblm.load({threads: a.integer('-t', 0) || await hardwareThreads(), singleThread: a.has('--single-thread'),
                                  ...(a.has('--dist') && {dist: pathToFileURL(path.resolve(a.str('--dist')) + '/')})});
  if (backend === 'webgpu' || (backend === 'auto' && weblm.buildInfo.webgpu)) weblm.webgpuDevice = await nodeGpuDevice();
  const model = a.required('-m');
  const session = await weblm.loadModel(await nodeFileSource(model),
                                        {backend, nCtx, nBatch, name: path.basename(model)});
  const i = session.info;
  process.stderr.write(`weblm-wasm: backend ${i.backend_name} (${i.backend_reason})\n`);
  return session;
}

async function logitsCommand(argv) {
  const a = new Args(argv, [
    {names: ['-m', '--model'], value: true, help: 'GGUF model file'},
    {names: ['--ids'], value: true, help: 'comma-separated token ids'},
    {names: ['-p', '--prompt'], value: true, help: 'text to tokenize (with BOS where the model adds one)'},
    {names: ['--out', '-o'], value: true, help: 'output file'},
    {names: ['-t', '--threads'], value: true, help: 'threads, default all cores'},
    {names: ['-b', '--batch'], value: true, help: 'prompt chunk size, default 512'},
    {names: ['-c', '--ctx-size'], value: true, help: 'context size, default the number of tokens'},
    {names: ['--decode'], value: false, help: 'feed one token per forward pass'},
    BACKEND, DIST, SINGLE_THREAD,
  ]);
  const out = a.required('--out');
  let ids = a.has('--ids') ? parseIds(a.required('--ids')) : null;
  if (!ids && !a.has('-p')) throw new Error('give the tokens with --ids 1,2,3 or the text with -p');
  // Without ids the context size follows the tokenized prompt, known only after loading.
  const nCtx = a.integer('-c', ids ? ids.length : 0);
  const session = await open(a, {nCtx, nBatch: a.has('--decode') ? 1 : a.integer('-b', 512)});
  if (!ids) ids = session.tokenize(a.required('-p'));
  if (!ids.length) throw new Error('no tokens to evaluate');
  const seq = session.createSequence();
  const logits = await session.prefill(seq, ids, {allLogits: true});
  fs.writeFileSync(out, new Uint8Array(logits.buffer, logits.byteOffset, logits.byteLength));
  process.stderr.write(`wrote ${ids.length} positions x ${session.nVocab} logits to ${out}\n`);
}

async function runCommand(argv) {
  const a = new Args(argv, [
    {names: ['-m', '--model'], value: true, help: 'GGUF model file'},
    {names: ['-p', '--prompt'], value: true, help: 'prompt text'},
    {names: ['-n', '--n-predict'], value: true, help: 'tokens to generate, default 128 (-1 = until the context is full)'},
    {names: ['-c', '--ctx-size'], value: true, help: 'context size, default min(4096, the model\'s)'},
    {names: ['-b', '--batch-size'], value: true, help: 'prompt tokens per forward pass, default 512'},
    {names: ['-t', '--threads'], value: true, help: 'threads, default all cores'},
    {names: ['--ignore-eos'], value: false, help: 'keep generating past end-of-generation tokens'},
    ...SAMPLING, BACKEND, DIST, SINGLE_THREAD,
  ]);
  const session = await open(a, {nCtx: a.integer('-c', 0), nBatch: a.integer('-b', 512)});
  const sampling = {
    temperature: a.number('--temp', 0.8), top_k: a.integer('--top-k', 40), top_p: a.number('--top-p', 0.95),
    min_p: a.number('--min-p', 0.05), repeat_penalty: a.number('--repeat-penalty', 1),
    repeat_last_n: a.integer('--repeat-last-n', 64), frequency_penalty: a.number('--frequency-penalty', 0),
    presence_penalty: a.number('--presence-penalty', 0), seed: a.integer('--seed', 0),
  };
  const s = await session.generate(
      {prompt: session.tokenize(a.str('-p', '')), maxTokens: a.integer('-n', 128), sampling,
       ignoreEos: a.has('--ignore-eos')},
      (token, text) => void process.stdout.write(text));
  process.stdout.write('\n');
  const rate = (n, ms) => (n * 1000 / Math.max(ms, 1e-3)).toFixed(1);
  process.stderr.write(`\nprompt: ${s.promptTokens} tokens in ${s.promptMs.toFixed(1)} ms (${rate(s.promptTokens, s.promptMs)} tok/s); ` +
                       `generated: ${s.generatedTokens} tokens in ${s.decodeMs.toFixed(1)} ms (${rate(s.generatedTokens, s.decodeMs)} tok/s); ` +
                       `finish: ${s.finish}\n`);
}

async function benchCommand(argv) {
  const a = new Args(argv, [
    {names: ['-m', '--model'], value: true, help: 'GGUF model file'},
    {names: ['-p', '--n-prompt'], value: true, help: 'prompt tokens (default 512)'},
    {names: ['-n', '--n-gen'], value: true, help: 'generated tokens (default 128)'},
    {names: ['-t', '--threads'], value: true, help: 'threads (default all cores)'},
    {names: ['-b', '--batch-size'], value: true, help: 'prompt tokens per forward pass (default 512)'},
    {names: ['--json'], value: false, help: 'print one JSON object'},
    BACKEND, DIST, SINGLE_THREAD,
  ]);
  const nPrompt = a.integer('-p', 512), nGen = a.integer('-n', 128);
  const session = await open(a, {nCtx: nPrompt + nGen + 1, nBatch: a.integer('-b', 512)});
  const r = await session.bench({nPrompt, nGen});
  const model = a.required('-m');
  const rss = process.resourceUsage().maxRSS / 1024;
  if (a.has('--json')) {
    process.stdout.write(JSON.stringify({model, backend: session.info.backend, threads: r.threads, n_prompt: nPrompt,
                                         n_gen: nGen, pp_tps: r.pp_tps, tg_tps: r.tg_tps, ttft_ms: r.ttft_ms,
                                         peak_rss_mib: rss}) + '\n');
  } else {
    const row = (cells) => `| ${cells.join(' | ')} |\n`;
    process.stdout.write(row(['model'.padEnd(40), 'backend', 'threads', 'pp t/s'.padStart(10), 'tg t/s'.padStart(10),
                              'ttft ms'.padStart(9), 'peak RSS MiB']));
    process.stdout.write(row([model.padEnd(40), session.info.backend.padEnd(7), String(r.threads).padStart(7),
                              r.pp_tps.toFixed(2).padStart(10), r.tg_tps.toFixed(2).padStart(10),
                              r.ttft_ms.toFixed(1).padStart(9), rss.toFixed(1).padStart(12)]));
  }
}

const COMMANDS = {
  logits: [logitsCommand, 'write the logits of every position: logits -m MODEL (--ids 1,2 | -p TEXT) --out FILE'],
  run: [runCommand, 'generate text: run -m MODEL -p PROMPT [-n N] [--temp T] ...'],
  bench: [benchCommand, 'measure speed: bench -m MODEL [-p 512] [-n 128] [-t THREADS] [--json]'],
};

function usage() {
  return 'usage: weblm-wasm COMMAND [options]   (every command also takes --backend webgpu|cpu|auto)\n\ncommands:\n' +
         Object.entries(COMMANDS).map(([name, [, help]]) => `  ${name.padEnd(8)} ${help}\n`).join('');
}

const [name, ...rest] = process.argv.slice(2);
if (!name || name === '--help' || name === '-h') {
  process.stderr.write(usage());
  process.exit(name ? 0 : 1);
}
if (!COMMANDS[name]) {
  process.stderr.write(`weblm-wasm: unknown command '${name}'\n\n${usage()}`);
  process.exit(1);
}
try {
  await COMMANDS[name][0](rest);
  process.exit(0);  // the module's worker threads would keep Node alive
} catch (e) {
  process.stderr.write(`weblm-wasm ${name}: error: ${e.message}\n`);
  process.exit(1);
}
