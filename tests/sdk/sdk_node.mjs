// The SDK package in Node (same dist as the browser's): CreateEngine on the CPU backend from a
// Blob (fs.openAsBlob), chat and completions, streaming adding up to the whole reply; WebGPU
// through npm `webgpu` (Dawn on SwiftShader) giving the CPU backend's greedy text; and the SDK's
// incremental SHA-256 equal to node:crypto's across arbitrary chunk splits.
//   node sdk_node.mjs --weblm build/src/cli/weblm --work DIR
import {execFileSync} from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

import {openWebGpu} from '../webgpu/webgpu_node.mjs';
import {check, cliArgs, finish} from '../harness.mjs';

const gpu = await openWebGpu();  // first: it may re-run this process with the driver's environment

const here = path.dirname(fileURLToPath(import.meta.url));
const {CreateEngine, ModelNotLoadedError, Sha256} = await import(path.resolve(here, '../../sdk/dist/index.js'));
const args = cliArgs();
fs.mkdirSync(args.work, {recursive: true});

// SHA-256 against node:crypto: lengths around the 64-byte block and padding edges, fed in
// random splits.
let random = 12345;
const next = () => (random = (random * 1103515245 + 12345) & 0x7fffffff);
let shaOk = true;
for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 100000]) {
  const data = Uint8Array.from({length: n}, () => next() & 255);
  const h = new Sha256();
  for (let at = 0; at < n;) {
    const take = Math.min(n - at, 1 + (next() % 150));
    h.update(data.subarray(at, at + take));
    at += take;
  }
  shaOk &&= h.hex() === crypto.createHash('sha256').update(data).digest('hex');
}
check(shaOk, 'Sha256 equals node:crypto on 11 lengths in random chunk splits');

const model = path.join(args.work, 'node-tiny.gguf');
execFileSync(args.weblm, ['gen-model', '--arch', 'qwen3', '--type', 'q8_0', '--vocab', 'bpe', '--dim', '64', '--layers', '2',
                          '--heads', '4', '--kv-heads', '2', '--ff', '128', '--n-vocab', '384', '--seed', '9', '-o', model],
             {stdio: 'ignore'});
const stages = [];
const engine = await CreateEngine({file: await fs.openAsBlob(model), id: 'node-tiny'},
                                  {backend: 'cpu', threads: 2, initProgressCallback: (p) => stages.push(p.stage)});
const body = {messages: [{role: 'user', content: 'Hi'}], max_tokens: 12, temperature: 0, ignore_eos: true};
const whole = await engine.chat.completions.create(body);
let streamed = '';
for await (const chunk of await engine.chat.completions.create({...body, stream: true})) streamed += chunk.choices[0]?.delta?.content ?? '';
const completion = await engine.completions.create({prompt: 'Once', max_tokens: 4, temperature: 0, ignore_eos: true});
const stats = await engine.runtimeStats();
check(whole.model === 'node-tiny' && whole.usage.completion_tokens === 12 && streamed === whole.choices[0].message.content &&
      completion.usage.completion_tokens === 4 && stats.backend === 'cpu' && stats.requests === 3 &&
      [...new Set(stages)].join(',') === 'file,upload,ready',
      `Node, CPU backend: chat ${JSON.stringify(whole.choices[0].message.content)}, stream equal, completions, ` +
      `${stats.decodeTokensPerSecond.toFixed(0)} tok/s decode`);

// n-gram speculation: the same greedy reply as plain decoding, with tokens drafted and counted.
const repetitive = {messages: [{role: 'user', content: 'one two three one two three one two three one two three'}],
                    max_tokens: 24, temperature: 0, ignore_eos: true};
const plainReply = (await engine.chat.completions.create(repetitive)).choices[0].message.content;
const speculating = await CreateEngine({file: await fs.openAsBlob(model)}, {backend: 'cpu', speculation: 'ngram'});
const specReply = await speculating.chat.completions.create(repetitive);
const specStats = await speculating.runtimeStats();
check(specReply.choices[0].message.content === plainReply && specStats.draftedTokens > 0 &&
      specStats.acceptedTokens <= specStats.draftedTokens && specReply.usage.speculative?.drafted === specStats.draftedTokens,
      `speculation 'ngram': same reply, drafted ${specStats.draftedTokens}, accepted ${specStats.acceptedTokens}`);
await speculating.unload();
const badOption = await CreateEngine({file: await fs.openAsBlob(model)}, {speculation: 'fast'}).then(() => null, (e) => e);
check(/speculation must be 'none' or 'ngram'/.test(badOption?.message), `a bad speculation option: ${badOption?.message}`);
await engine.unload();
const after = await engine.chat.completions.create(body).then(() => null, (e) => e);
check(after instanceof ModelNotLoadedError, `after unload: ${after?.name}: ${after?.message}`);

// WebGPU in Node: the same greedy text as the CPU backend (f32 weights: only the backends'
// summation order differs).
const f32 = path.join(args.work, 'node-tiny-f32.gguf');
execFileSync(args.weblm, ['gen-model', '--arch', 'llama', '--type', 'f32', '--dim', '64', '--layers', '2', '--heads', '4',
                          '--kv-heads', '2', '--ff', '128', '--n-vocab', '384', '--seed', '4', '-o', f32], {stdio: 'ignore'});
const answers = {};
for (const backend of ['webgpu', 'cpu']) {
  const e = await CreateEngine({file: await fs.openAsBlob(f32)}, {backend, gpu});
  const r = await e.chat.completions.create({messages: [{role: 'user', content: 'Hello there'}], max_tokens: 12, temperature: 0,
                                             ignore_eos: true});
  answers[backend] = {backend: e.info.backend, text: r.choices[0].message.content};
  await e.unload();
}
check(answers.webgpu.backend === 'webgpu' && answers.cpu.backend === 'cpu' && answers.webgpu.text === answers.cpu.text,
      `Node WebGPU (npm webgpu) = CPU at temperature 0: ${JSON.stringify(answers.webgpu.text)}`);
finish('the SDK works in Node');
