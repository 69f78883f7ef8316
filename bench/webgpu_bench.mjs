// The WebGPU backend in Node (the wasm module, npm `webgpu` = Dawn) beside the WASM CPU backend of
// the same module: prompt and generation speed, and per generated token the kernel dispatches,
// the host's time to record and submit a pass, and the process's CPU time. On SwiftShader (no
// GPU; the default) the "GPU" is CPU threads, so this measures overheads, not GPU speed; with
// WEBLM_WEBGPU=system on a GPU machine it measures the GPU.
//   node bench/webgpu_bench.mjs [--weblm build/src/cli/weblm] [--dist build-wasm/dist]
//        [--types q4_0,q8_0] [--shape tinyllama|small] [--p 64] [--n 16] [--threads 2] [--work build/bench]
import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath, pathToFileURL} from 'node:url';
import {Weblm, nodeFileSource, requestGpuDevice} from '../js/weblm.mjs';
import {openWebGpu} from '../tests/webgpu/webgpu_node.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name, fallback) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : fallback);
const weblmCli = opt('weblm', path.join(root, 'build/src/cli/weblm'));
const dist = path.resolve(opt('dist', path.join(root, 'build-wasm/dist')));
const work = opt('work', path.join(root, 'build/bench'));
const types = opt('types', 'q4_0,q8_0').split(',');
const nPrompt = Number(opt('p', '64')), nGen = Number(opt('n', '16')), threads = Number(opt('threads', '2'));
const SHAPES = {
  tinyllama: ['--arch', 'llama', '--dim', '2048', '--layers', '22', '--heads', '32', '--kv-heads', '4',
              '--ff', '5632', '--n-vocab', '32000'],
  small: ['--arch', 'llama', '--dim', '512', '--layers', '4', '--heads', '8', '--kv-heads', '4', '--ff', '1536',
          '--n-vocab', '4096'],
};
const shapeName = opt('shape', 'tinyllama');
fs.mkdirSync(work, {recursive: true});

const gpu = await openWebGpu();
const {device, reason} = await requestGpuDevice(gpu);
if (!device) throw new Error(reason);

// Counts what each pass costs on the host: dispatches encoded, and when the submit returns.
const counters = {dispatches: 0, encodeStart: 0, submitEnd: 0};
const createEncoder = device.createCommandEncoder.bind(device);
device.createCommandEncoder = (descriptor) => {
  counters.encodeStart = performance.now();
  const encoder = createEncoder(descriptor);
  const beginPass = encoder.beginComputePass.bind(encoder);
  encoder.beginComputePass = (d) => {
    const pass = beginPass(d);
    const dispatch = pass.dispatchWorkgroups.bind(pass);
    pass.dispatchWorkgroups = (x, y, z) => {
      counters.dispatches++;
      return dispatch(x, y, z);
    };
    return pass;
  };
  return encoder;
};
const submit = device.queue.submit.bind(device.queue);
device.queue.submit = (buffers) => {
  submit(buffers);
  counters.submitEnd = performance.now();
};

const weblm = await Weblm.load({threads, webgpuDevice: device, dist: pathToFileURL(dist + '/')});
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

// Per kernel variant: GPU ms per generated token and dispatches (timestamp queries).
async function profileDecode(file) {
  const s = await weblm.loadModel(await nodeFileSource(file), {backend: 'webgpu', nCtx: nPrompt + nGen + 8, nBatch: nPrompt});
  const seq = s.createSequence();
  await s.forward(seq, Array.from({length: nPrompt}, (_, i) => (i * 7919 + 11) % 1000), 'last');
  device.weblmProfile = {};
  const n = Math.min(nGen, 4);
  for (let i = 0; i < n; i++) await s.forward(seq, [i + 1], 'last');
  const profile = device.weblmProfile;
  delete device.weblmProfile;
  s.dispose();
  return Object.entries(profile).map(([kernel, {ms, dispatches}]) => ({kernel, ms: ms / n, dispatches: dispatches / n}))
      .sort((a, b) => b.ms - a.ms);
}

async function measure(file, backend) {
  const s = await weblm.loadModel(await nodeFileSource(file), {backend, nCtx: nPrompt + nGen + 8, nBatch: nPrompt});
  const prompt = Array.from({length: nPrompt}, (_, i) => (i * 7919 + 11) % 1000);
  const warm = s.createSequence();
  await s.forward(warm, prompt.slice(0, 8), 'last');  // pipelines and buffers made outside the timing
  await s.forward(warm, [1], 'last');
  s.releaseSequence(warm);
  const seq = s.createSequence();
  let t = performance.now();
  let logits = await s.forward(seq, prompt, 'last');
  const ppMs = performance.now() - t;
  let dispatches = 0, hostMs = 0, encodeMs = 0;
  const cpu0 = cpuMs();
  t = performance.now();
  for (let i = 0; i < nGen; i++) {
    let next = 0;
    for (let v = 1; v < logits.length; v++) if (logits[v] > logits[next]) next = v;
    counters.dispatches = 0;
    const start = performance.now();
    logits = await s.forward(seq, [next], 'last');
    dispatches += counters.dispatches;
    if (backend === 'webgpu') {
      hostMs += counters.submitEnd - start;
      encodeMs += counters.submitEnd - counters.encodeStart;
    }
  }
  const tgMs = performance.now() - t;
  const cpu = cpuMs() - cpu0;
  const name = s.info.backend_name;
  s.dispose();
  return {name, pp: nPrompt / (ppMs / 1000), tg: nGen / (tgMs / 1000), dispatches: dispatches / nGen,
          hostMs: backend === 'webgpu' ? hostMs / nGen : NaN, encodeMs: backend === 'webgpu' ? encodeMs / nGen : NaN,
          cpuMs: cpu / nGen, wallMs: tgMs / nGen};
}

const f = (x, d = 1) => (Number.isNaN(x) ? '-' : x.toFixed(d));
const rows = [];
const profiles = [];
for (const type of types) {
  const file = path.join(work, `${shapeName}-${type}.gguf`);
  if (!fs.existsSync(file)) execFileSync(weblmCli, ['gen-model', ...SHAPES[shapeName], '--type', type, '-o', file], {stdio: 'inherit'});
  for (const backend of ['webgpu', 'cpu']) {
    rows.push({type, ...(await measure(file, backend))});
    console.error(`${type} ${backend}: done`);
  }
  if (device.features.has('timestamp-query')) profiles.push({type, kernels: await profileDecode(file)});
}
console.log(`${shapeName} shape (random weights), wasm module in Node ${process.version}, pp${nPrompt} / tg${nGen}, ` +
            `CPU backend ${threads} threads; per generated token: dispatches, host ms to record + submit a pass ` +
            '(of which JS encoding + queue.submit), process CPU ms (all threads, SwiftShader included), wall ms');
console.log('| type | backend | pp tok/s | tg tok/s | dispatches/token | host ms/token | of which encode | CPU ms/token | wall ms/token |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.type} | ${r.name} | ${f(r.pp)} | ${f(r.tg, 2)} | ${f(r.dispatches, 0)} | ${f(r.hostMs, 2)} | ` +
              `${f(r.encodeMs, 2)} | ${f(r.cpuMs, 0)} | ${f(r.wallMs, 0)} |`);
}
for (const {type, kernels} of profiles) {
  console.log(`\n${type}: GPU time per generated token by kernel (timestamp queries, one pass per dispatch)`);
  console.log('| kernel | ms/token | dispatches/token |');
  console.log('|---|---|---|');
  for (const k of kernels) console.log(`| ${k.kernel} | ${f(k.ms, 2)} | ${f(k.dispatches, 0)} |`);
}
process.exit(0);
