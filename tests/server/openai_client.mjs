// `weblm serve` driven by the official `openai` npm client (unchanged, baseURL pointed at it) on a
// generated model, plus raw HTTP where the client cannot misbehave on purpose:
// - chat and completions, whole and streamed (the deltas add up to the whole response at
//   temperature 0, usage with include_usage), seed determinism, logprobs, stop strings;
// - errors in OpenAI's shape: invalid parameter (400 + param), malformed JSON (400), unknown
//   route (404), missing or wrong API key (401), huge body (413), queue full (503), and the server
//   keeps serving after each;
// - concurrency: 8 streams at once each equal to the same request alone; a client aborting
//   mid-stream disturbs no one and frees its slot; a slow reader blocks no one;
// - SIGTERM ends an open stream cleanly (finish_reason "cancelled", [DONE]) and exits 0.
//   node openai_client.mjs --weblm build/src/cli/weblm --work DIR
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import OpenAI from 'openai';

import {cliArgs, expect, expectEqual} from '../harness.mjs';
import {startServe} from './serve_process.mjs';

const {weblm, work} = cliArgs();
fs.mkdirSync(work, {recursive: true});

const check = expect, equal = expectEqual;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A BPE model with ChatML control tokens and a chat template, as tests/api/cli.mjs makes it;
// wide enough that a long generation lasts long enough to abort or stall mid-stream.
const model = path.join(work, 'serve.gguf');
if (!fs.existsSync(model)) {
  const gen = spawnSync(weblm, ['gen-model', '--arch', 'qwen3', '--vocab', 'bpe', '--pre', 'qwen2', '--dim', '256',
    '--layers', '4', '--ff', '768', '--type', 'q8_0', '--n-vocab', '768', '--seed', '3', '-o', model], {encoding: 'utf8'});
  if (gen.status !== 0) throw new Error(`gen-model failed: ${gen.stderr}`);
}

const API_KEY = 'test-key';
const PARALLEL = 8;
// --queue 0: exactly PARALLEL requests at once, so the queue-full answer is reachable.
const serve = startServe(weblm, ['-m', model, '-np', String(PARALLEL), '--queue', '0', '-c', '2048', '-t', '1',
                                 '--api-key', API_KEY, '--max-body', '65536']);
const {server} = serve;
process.on('exit', () => server.kill('SIGKILL'));  // a failed check must not leave it running
const watchdog = setTimeout(() => {
  server.kill('SIGKILL');
  console.error(`server log:\n${serve.log}`);
  throw new Error('FAILED: the test took over 90 s');
}, 90000);
const base = await serve.listening;
check(base.startsWith('http://127.0.0.1:'), `binds loopback by default: ${base}`);

const client = new OpenAI({baseURL: `${base}/v1`, apiKey: API_KEY, maxRetries: 0});

async function health() {
  const r = await fetch(`${base}/health`);
  return r.json();
}
// Cancelled requests leave at the engine's next step: wait for that rather than guess.
async function settled(what) {
  for (let i = 0; i < 500; ++i) {
    const h = await health();
    if (h.active_requests === 0) return;
    await sleep(10);
  }
  throw new Error(`FAILED: requests still active after ${what}: ${JSON.stringify(await health())}`);
}
async function stillServing(what) {
  const r = await client.completions.create({prompt: 'ok', max_tokens: 2, temperature: 0});
  check(r.choices[0].text !== undefined && r.usage.completion_tokens >= 1, `serves after ${what}`);
}
async function apiError(promise) {
  try {
    await promise;
  } catch (e) {
    if (e instanceof OpenAI.APIError) return e;
    throw e;
  }
  throw new Error('FAILED: expected an API error, the request succeeded');
}
async function collect(stream) {
  let content = '', finish = null, usage = null, role = null;
  const ids = new Set();
  for await (const chunk of stream) {
    ids.add(chunk.id);
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      if (c.delta?.role) role = c.delta.role;
      content += c.delta?.content ?? c.text ?? '';
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  return {content, finish, usage, ids, role};
}
const chat = (content, extra = {}) => ({messages: [{role: 'user', content}], temperature: 0, max_tokens: 24, ...extra});

// --- models, chat, completions ------------------------------------------------------------------
const models = await client.models.list();
equal(models.data.map((m) => m.id), ['serve.gguf'], '/v1/models lists the model');

const whole = await client.chat.completions.create(chat('Tell me a story.'));
check(whole.object === 'chat.completion' && whole.choices[0].message.role === 'assistant', 'chat.completion shape');
check(whole.usage.prompt_tokens > 0 && whole.usage.completion_tokens > 0, 'chat usage');
const streamed = await collect(await client.chat.completions.create(
  chat('Tell me a story.', {stream: true, stream_options: {include_usage: true}})));
equal(streamed.content, whole.choices[0].message.content, 'streamed chat content = non-stream at temperature 0');
equal(streamed.finish, whole.choices[0].finish_reason, 'streamed finish_reason');
equal(streamed.role, 'assistant', 'stream announces the assistant role');
equal(streamed.usage?.completion_tokens, whole.usage.completion_tokens, 'include_usage: usage chunk');
equal(streamed.ids.size, 1, 'one id across a stream');

const text = await client.completions.create({prompt: 'Once upon a time', max_tokens: 16, temperature: 0});
check(text.object === 'text_completion' && text.choices[0].text.length > 0, 'completion shape');
const textStream = await collect(await client.completions.create(
  {prompt: 'Once upon a time', max_tokens: 16, temperature: 0, stream: true}));
equal(textStream.content, text.choices[0].text, 'streamed completion = non-stream');

// --- seed determinism, logprobs, stop ---------------------------------------------------------
{
  const sampled = (seed) => client.completions.create({prompt: 'The', max_tokens: 24, temperature: 1, seed})
    .then((r) => r.choices[0].text);
  const [a, b, c] = [await sampled(42), await sampled(42), await sampled(7)];
  equal(a, b, 'same seed, same sample');
  check(a !== c, `another seed, another sample (${JSON.stringify(a)})`);
}
{
  const r = await client.chat.completions.create(chat('Hi', {logprobs: true, top_logprobs: 3, max_tokens: 8}));
  const content = r.choices[0].logprobs.content;
  check(content.length > 0 && content.length <= r.usage.completion_tokens, 'chat logprobs: one entry per token');
  check(content.every((t) => t.logprob <= 0 && t.top_logprobs.length === 3), 'chat logprobs: values and top 3');
  const t = await client.completions.create({prompt: 'Hi', max_tokens: 8, temperature: 0, logprobs: 2});
  check(t.choices[0].logprobs.tokens.length === t.choices[0].logprobs.top_logprobs.length &&
        t.choices[0].logprobs.top_logprobs.every((m) => Object.keys(m).length >= 1), 'legacy completions logprobs');
}
{
  const full = (await client.completions.create({prompt: 'A long tale:', max_tokens: 40, temperature: 0, ignore_eos: true}))
    .choices[0].text;
  const stop = full.slice(12, 15);
  check(stop.length === 3, `a 3-character stop string from ${JSON.stringify(full)}`);
  const r = await client.completions.create({prompt: 'A long tale:', max_tokens: 40, temperature: 0, ignore_eos: true, stop});
  equal(r.choices[0].text, full.slice(0, full.indexOf(stop)), 'output ends before the stop string');
  equal(r.choices[0].finish_reason, 'stop', 'stop string: finish_reason stop');
}

// --- errors --------------------------------------------------------------------------------------
{
  const e = await apiError(client.chat.completions.create(chat('Hi', {temperature: 5})));
  check(e.status === 400 && e.param === 'temperature', `invalid temperature: 400 with param (${e.status} ${e.param})`);
  const t = await apiError(client.chat.completions.create({messages: 'nope', max_tokens: 4}));
  check(t.status === 400 && t.param === 'messages', `wrong type: 400 with param (${t.status} ${t.param})`);
  const s = await apiError(client.chat.completions.create(chat('Hi', {temperature: 5, stream: true})));
  check(s.status === 400 && s.param === 'temperature', 'a stream request is rejected before any event');
  await stillServing('invalid parameters');
}
const auth = {Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json'};
{
  const r = await fetch(`${base}/v1/chat/completions`, {method: 'POST', headers: auth, body: '{"messages": [oops'});
  const body = await r.json();
  check(r.status === 400 && body.error.type === 'invalid_request_error' && body.error.code === 'invalid_json',
        `malformed JSON: 400 (${r.status} ${JSON.stringify(body)})`);
  await stillServing('malformed JSON');
}
{
  const r = await fetch(`${base}/v1/nowhere`, {headers: auth});
  const body = await r.json();
  check(r.status === 404 && body.error.code === 'unknown_url', `unknown route: 404 (${r.status})`);
}
{
  const wrong = new OpenAI({baseURL: `${base}/v1`, apiKey: 'wrong-key', maxRetries: 0});
  const e = await apiError(wrong.chat.completions.create(chat('Hi')));
  check(e.status === 401 && e.code === 'invalid_api_key', `wrong API key: 401 (${e.status} ${e.code})`);
  const none = await fetch(`${base}/v1/models`);
  check(none.status === 401 && (await none.json()).error.code === 'invalid_api_key', 'no API key: 401');
  check((await fetch(`${base}/health`)).status === 200, '/health needs no key');
}
{
  const huge = JSON.stringify({prompt: 'x'.repeat(200000), max_tokens: 1});
  const r = await fetch(`${base}/v1/completions`, {method: 'POST', headers: auth, body: huge});
  const body = await r.json();
  check(r.status === 413 && body.error.code === 'request_too_large', `huge body: 413 (${r.status})`);
  await stillServing('a huge body');
}

// --- concurrency -----------------------------------------------------------------------------------
const prompts = Array.from({length: PARALLEL}, (_, i) => `Client ${i} asks about topic number ${i * 7}.`);
const alone = [];
for (const p of prompts) alone.push((await client.chat.completions.create(chat(p, {max_tokens: 32}))).choices[0].message.content);
{
  const together = await Promise.all(prompts.map(async (p) =>
    collect(await client.chat.completions.create(chat(p, {max_tokens: 32, stream: true})))));
  together.forEach((r, i) => equal(r.content, alone[i], `stream ${i} of ${PARALLEL} at once = alone`));
  check(together.every((r) => r.ids.size === 1) && new Set(together.flatMap((r) => [...r.ids])).size === PARALLEL,
        'each stream carries its own id only (nothing interleaved)');
  check(/ttft=[\d.]+ms .*decode=[\d.]+ tok\/s/.test(serve.log) &&
        /prompt=\d+ \(cached \d+\) completion=\d+/.test(serve.log),
        'request log lines with tokens, TTFT and tok/s');
}
const long = (p, extra = {}) => chat(p, {max_tokens: 1500, ignore_eos: true, ...extra});
{
  // One client aborts mid-stream while the others go on; their outputs are still the alone ones.
  const victim = await client.chat.completions.create(long('Abort me', {stream: true}));
  const others = prompts.slice(0, 4).map(async (p) =>
    collect(await client.chat.completions.create(chat(p, {max_tokens: 32, stream: true}))));
  let seen = 0;
  for await (const chunk of victim) {
    if (++seen === 3) break;  // leaving the loop aborts the HTTP request
  }
  const results = await Promise.all(others);
  results.forEach((r, i) => equal(r.content, alone[i], `stream ${i} undisturbed by an abort`));
  await settled('an aborted stream');
  check(/completion=(\d+) .*finish=cancelled/.test(serve.log), `the aborted request was cancelled at once:\n${serve.log}`);
  const done = Number(serve.log.match(/completion=(\d+) [^\n]*finish=cancelled/)[1]);
  check(done < 1500, `cancelled long before its 1500 tokens (${done})`);
}
{
  // A slow reader: paused on a raw connection while another request runs to completion.
  const slowBody = JSON.stringify(long('Slow reader', {stream: true, max_tokens: 400, logprobs: true, top_logprobs: 20}));
  let slowText = '', slowPaused = true;
  const slowDone = new Promise((resolve, reject) => {
    const req = http.request(`${base}/v1/chat/completions`, {method: 'POST', headers: auth}, (res) => {
      res.pause();
      res.on('data', (d) => { slowText += d; });
      res.on('end', resolve);
      res.on('error', reject);
      setTimeout(() => { slowPaused = false; res.resume(); }, 1500);
    });
    req.on('error', reject);
    req.end(slowBody);
  });
  await sleep(100);
  const quick = await client.chat.completions.create(chat(prompts[0], {max_tokens: 32}));
  equal(quick.choices[0].message.content, alone[0], 'a request beside a slow reader');
  check(slowPaused, 'it finished while the slow reader was still paused');
  await slowDone;
  check(slowText.endsWith('data: [DONE]\n\n'), 'the slow reader gets the whole stream');
  const events = slowText.split('\n\n').filter((e) => e.startsWith('data: {')).map((e) => JSON.parse(e.slice(6)));
  equal(events.at(-1).choices[0].finish_reason, 'length', 'the slow reader is not cut off');
  await settled('a slow reader');
}
{
  // Queue full: PARALLEL long streams occupy every slot; one more is refused at once.
  const controllers = [];
  const streams = await Promise.all(prompts.map(async (p) => {
    const s = await client.chat.completions.create(long(p, {stream: true}));
    controllers.push(s.controller);
    return s;
  }));
  const e = await apiError(client.chat.completions.create(chat('One too many')));
  check(e.status === 503 && e.code === 'server_overloaded', `queue full: 503 (${e.status} ${e.code})`);
  equal((await health()).active_requests, PARALLEL, '/health counts the running requests');
  for (const c of controllers) c.abort();
  await Promise.allSettled(streams.map((s) => collect(s)));
  await settled('aborting every stream');
  await stillServing('a full queue');
}

// --- graceful stop -----------------------------------------------------------------------------
{
  const open = await client.chat.completions.create(long('Until stopped', {stream: true}));
  let first = true, result;
  const reading = (async () => {
    let finish = null;
    for await (const chunk of open) {
      if (first) { first = false; server.kill('SIGTERM'); }
      for (const c of chunk.choices) if (c.finish_reason) finish = c.finish_reason;
    }
    return finish;  // the loop ends only on [DONE]
  })();
  result = await reading;
  equal(result, 'cancelled', 'SIGTERM ends an open stream with finish_reason cancelled and [DONE]');
  const {code} = await serve.exited;
  check(code === 0 && serve.log.includes('SIGTERM received') && serve.log.includes('stopped'),
        `exits 0 after SIGTERM (${code}):\n${serve.log}`);
}
clearTimeout(watchdog);
if (process.env.WEBLM_SERVE_LOG) console.error(serve.log);
console.log('server openai client: all checks passed');
