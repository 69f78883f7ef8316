// Speculative decoding in the wasm module (js/weblm.mjs ChatService), in Node: greedy output with
// n-gram drafting and with a draft session (a Q4_0 copy of the target, on the CPU backend) is
// the plain service's, usage reports what was drafted, and a bad option is refused.
// --webgpu: the target runs on WebGPU (Dawn; SwiftShader without a GPU), the draft on the CPU.
//   node wasm_speculative.mjs --weblm build/src/cli/weblm --work DIR [--dist build-wasm/dist/] [--webgpu 1]
import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {pathToFileURL} from 'node:url';

import {nodeFileSource, requestGpuDevice, Weblm} from '../../js/weblm.mjs';
import {openWebGpu} from '../webgpu/webgpu_node.mjs';
import {check, cliArgs, finish} from '../harness.mjs';

const args = cliArgs();
fs.mkdirSync(args.work, {recursive: true});
const target = path.join(args.work, 'llama.gguf'), copy = path.join(args.work, 'llama-q4_0.gguf');
execFileSync(args.weblm, ['gen-model', '--arch', 'llama', '--dim', '128', '--layers', '2', '--seed', '3', '-o', target],
             {stdio: 'ignore'});
execFileSync(args.weblm, ['quantize', target, copy, 'q4_0'], {stdio: 'ignore'});

const dist = args.dist ? pathToFileURL(path.resolve(args.dist) + '/').href : undefined;
let webgpuDevice;
if (args.webgpu) {
  const {device, reason} = await requestGpuDevice(await openWebGpu());
  if (!device) throw new Error(`no WebGPU device: ${reason}`);
  webgpuDevice = device;
}
const weblm = await Weblm.load({threads: 1, dist, webgpuDevice});
const open = async (file, backend = 'cpu') => {
  const session = await weblm.loadModel(await nodeFileSource(file), {backend, nCtx: 256, nSeqMax: 2});
  if (session.info.backend !== backend) throw new Error(`${file} did not load on ${backend}: ${session.info.backend_reason}`);
  return session;
};
// A repetitive prompt (n-gram drafts match) and prose (drafts get rejected: rollback).
const bodies = ['one two three one two three one two three one two', 'Once upon a time, in a land far away,'].map(
    (prompt) => ({prompt, max_tokens: 32, temperature: 0, ignore_eos: true, logprobs: 1}));
const complete = async (session, options, body) => {
  const service = session.createService(options);
  try {
    return (await service.submit(body, {endpoint: 'completions'}).done).response;
  } finally {
    service.dispose();
  }
};

const targetSession = await open(target, args.webgpu ? 'webgpu' : 'cpu'), draftSession = await open(copy);
console.log(`target on ${targetSession.info.backend}, draft session on ${draftSession.info.backend}`);
let rejected = 0;
for (const [i, body] of bodies.entries()) {
  const plain = await complete(targetSession, {}, body);
  for (const [label, options] of [['n-gram', {speculation: 'ngram'}],
                                  ['draft session', {speculation: 'draft', draftSession, draft_max: 5}]]) {
    const r = await complete(targetSession, options, body);
    const s = r.usage.speculative;
    rejected += s ? s.drafted - s.accepted : 0;
    check(JSON.stringify(r.choices[0].logprobs.tokens) === JSON.stringify(plain.choices[0].logprobs.tokens) &&
          s && s.accepted <= s.drafted && (label === 'n-gram' && i > 0 || s.drafted > 0),
          `prompt ${i}, ${label}: same ${r.usage.completion_tokens} tokens as plain decoding, ${JSON.stringify(s)}`);
  }
}
check(rejected > 0, `some drafted tokens were rejected and rolled back (${rejected})`);
let refused = '';
try {
  targetSession.createService({speculation: 'draft'});
} catch (e) {
  refused = e.message;
}
check(/draft_session/.test(refused), `draft without a session refused: ${refused}`);
finish('speculative decoding in the wasm module: same output as plain decoding');
