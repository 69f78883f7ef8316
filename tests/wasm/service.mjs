// The OpenAI-shaped service (src/api) through the wasm module's JSON entry (js/weblm.mjs
// ChatService), in Node: greedy completions equal the session's own greedy generation, batched
// requests equal lone ones, stream chunks add up to the response, rejections and cancellation.
//   node service.mjs --weblm build/src/cli/weblm --work DIR
import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import {nodeFileSource, Weblm} from '../../js/weblm.mjs';
import {check, cliArgs, finish} from '../harness.mjs';

const args = cliArgs();
fs.mkdirSync(args.work, {recursive: true});
const model = path.join(args.work, 'qwen3-q8_0.gguf');
execFileSync(args.weblm, ['gen-model', '--arch', 'qwen3', '--type', 'q8_0', '--vocab', 'bpe', '--dim', '256', '--heads', '4',
                          '--kv-heads', '2', '--ff', '512', '--layers', '2', '--n-vocab', '384', '--seed', '5', '-o', model],
             {stdio: 'ignore'});

const weblm = await Weblm.load({threads: 2});
const session = await weblm.loadModel(await nodeFileSource(model), {backend: 'cpu', nCtx: 256, nSeqMax: 4, name: 'qwen3-q8_0.gguf'});
const prompts = ['Once upon a time', 'The capital of France is'];

// The session's own greedy continuation of each prompt, before the service owns the engine.
const alone = [];
for (const prompt of prompts) {
  const r = await session.generate({prompt, maxTokens: 12, sampling: {temperature: 0}, ignoreEos: true});
  alone.push(r.text);
}

const service = session.createService({model_id: 'test-model'});
const completion = (prompt, extra = {}) => ({prompt, max_tokens: 12, temperature: 0, ignore_eos: true, ...extra});

// Both prompts in one batch; the first streamed.
const chunks = [];
const a = service.submit(completion(prompts[0], {stream: true}), {endpoint: 'completions', onChunk: (c) => chunks.push(c)});
const b = service.submit(completion(prompts[1]), {endpoint: 'completions'});
const [ra, rb] = await Promise.all([a.done, b.done]);
for (const [i, r] of [[0, ra], [1, rb]]) {
  const c = r.response.choices[0];
  check(c.text === alone[i] && c.finish_reason === 'length' && r.response.usage.completion_tokens === 12 &&
        r.response.model === 'test-model',
        `batched completion ${i} = the session's greedy text: ${JSON.stringify(c.text)}`);
}
const streamed = chunks.map((c) => c.choices?.[0]?.text ?? '').join('');
check(streamed === ra.response.choices[0].text && chunks.length > 1, `stream: ${chunks.length} chunks add up to the response`);

// A chat request runs through the default template.
const chat = await service.submit({messages: [{role: 'user', content: 'Hi'}], max_tokens: 4, temperature: 0}).done;
check(chat.response.object === 'chat.completion' && chat.response.choices[0].message.role === 'assistant' &&
      chat.stats.prompt_tokens > 0, `chat: ${chat.stats.prompt_tokens} prompt tokens, ${JSON.stringify(chat.response.choices[0].message.content)}`);

// Rejected before any compute: OpenAI's error shape, status 400, the offending field named.
try {
  service.submit({messages: [{role: 'user', content: 'Hi'}], temperature: 7});
  check(false, 'invalid temperature accepted');
} catch (e) {
  check(e.status === 400 && e.error?.param === 'temperature', `rejected: ${e.status} ${e.error?.param}: ${e.message}`);
}

// Cancellation ends a request with what it has.
const long = service.submit(completion(prompts[0], {max_tokens: 100}), {endpoint: 'completions'});
service.cancel(long.id);
const cancelled = await long.done;
check(cancelled.response.choices[0].finish_reason === 'cancelled', `cancel: ${cancelled.response.choices[0].finish_reason}`);

finish('the service answers through the wasm module');
