// The chat layer driven from outside through the `weblm` CLI on generated models:
// - `weblm template` prints exactly what @huggingface/jinja renders from the model's own
//   template (and the documented ChatML default for a model without one);
// - `weblm complete` answers OpenAI-shaped requests: whole responses, SSE streams whose deltas add
//   up to the whole content, errors in OpenAI's shape, and a batch that gives what each request
//   gives alone;
// - `weblm chat` holds a multi-turn conversation from piped input (/reset, /system, reuse of the
//   conversation's KV, a tok/s line per reply), and Ctrl-C interrupts a reply without leaving;
// - `weblm run --chat` replies like the chat does.
//   node cli.mjs --weblm build/src/cli/weblm --work DIR
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {Template} from '@huggingface/jinja';
import {readGguf, writeGguf} from '../cli/gguf.mjs';
import {cliArgs, commandRunner, expect, expectEqual} from '../harness.mjs';

const {weblm, work} = cliArgs();
fs.mkdirSync(work, {recursive: true});

const {run, ok} = commandRunner(weblm);
const check = expect, equal = expectEqual;
const file = (name, content) => {
  const p = path.join(work, name);
  fs.writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
};

// A BPE model (its vocabulary has the ChatML tokens as control tokens), and a copy without a
// chat template.
const model = path.join(work, 'chat.gguf');
ok(['gen-model', '--arch', 'qwen3', '--vocab', 'bpe', '--pre', 'qwen2', '--dim', '64', '--n-vocab', '768', '--seed', '3', '-o', model]);
const gguf = readGguf(model);
const chatTemplate = gguf.kv.find((e) => e.key === 'tokenizer.chat_template').value;
const bare = path.join(work, 'no-template.gguf');
writeGguf(bare, {version: gguf.version, kv: gguf.kv.filter((e) => e.key !== 'tokenizer.chat_template'), tensors: gguf.tensors});
const tokenText = (key) => {
  const id = gguf.kv.find((e) => e.key === key)?.value;
  return id === undefined ? '' : gguf.kv.find((e) => e.key === 'tokenizer.ggml.tokens').value.items[id];
};

const messages = [
  {role: 'system', content: 'You answer in one line.'},
  {role: 'user', content: 'What is 2 + 2?'},
  {role: 'assistant', content: '4'},
  {role: 'user', content: 'And 3 + 3? Ünïcödé ✓'},
];
const messagesFile = file('messages.json', messages);
const tools = [{type: 'function', function: {name: 'add', description: 'adds', parameters: {type: 'object'}}}];
const toolsFile = file('tools.json', tools);

// --- weblm template -------------------------------------------------------------------------
{
  const reference = (genPrompt, withTools) => new Template(chatTemplate).render({
    messages, ...(withTools ? {tools} : {}), add_generation_prompt: genPrompt,
    bos_token: tokenText('tokenizer.ggml.bos_token_id'), eos_token: tokenText('tokenizer.ggml.eos_token_id'),
  });
  equal(ok(['template', '-m', model, '--messages', messagesFile]).stdout, reference(true, false), 'template = @huggingface/jinja');
  equal(ok(['template', '-m', model, '--messages', messagesFile, '--no-generation-prompt']).stdout, reference(false, false),
        'template --no-generation-prompt');
  equal(ok(['template', '-m', model, '--messages', messagesFile, '--tools', toolsFile]).stdout, reference(true, true),
        'template --tools');
  const chatml = messages.map((m) => `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`).join('') + '<|im_start|>assistant\n';
  equal(ok(['template', '-m', bare, '--messages', messagesFile]).stdout, chatml, 'default template for a model without one');
  const bad = run(['template', '-m', model, '--messages', file('bad.json', [{role: 'wizard', content: 'x'}])]);
  check(bad.status === 1 && /messages\[0\]\.role/.test(bad.stderr), `bad role named: ${bad.stderr}`);
}

// --- weblm complete -------------------------------------------------------------------------
// One thread: this tiny model is faster alone than with a second thread to wake per op.
const complete = (request, extra = []) => ok(['complete', '-m', model, '-c', '512', '-t', '1', ...extra], JSON.stringify(request));
const sse = (stdout) => {
  const events = stdout.split('\n\n').filter((e) => e.length);
  check(events.every((e) => e.startsWith('data: ')), 'every SSE event is a data line');
  equal(events.at(-1), 'data: [DONE]', 'stream ends with [DONE]');
  return events.slice(0, -1).map((e) => JSON.parse(e.slice(6)));
};
const conversation = {messages, max_tokens: 24, temperature: 0};
{
  const whole = JSON.parse(complete(conversation).stdout);
  equal(Object.keys(whole), ['id', 'object', 'created', 'model', 'choices', 'usage'], 'response fields');
  check(whole.id.startsWith('chatcmpl-') && whole.object === 'chat.completion', 'chat.completion object');
  equal(whole.model, 'chat.gguf', 'model named after the file');
  const u = whole.usage;
  check(u.total_tokens === u.prompt_tokens + u.completion_tokens && u.completion_tokens > 0, 'usage adds up');

  const chunks = sse(complete({...conversation, stream: true, stream_options: {include_usage: true}}).stdout);
  equal(chunks[0].choices[0].delta, {role: 'assistant', content: ''}, 'first chunk announces the role');
  const text = chunks.flatMap((c) => c.choices).map((c) => c.delta.content ?? '').join('');
  equal(text, whole.choices[0].message.content, 'streamed deltas add up to the content');
  equal(chunks.at(-2).choices[0].finish_reason, whole.choices[0].finish_reason, 'finish chunk');
  equal(chunks.at(-1).usage.completion_tokens, u.completion_tokens, 'usage chunk');
  check(chunks.every((c) => c.id === chunks[0].id && c.object === 'chat.completion.chunk'), 'chunks share the id');

  const completion = JSON.parse(complete({prompt: 'Once upon a time', max_tokens: 8, temperature: 0, logprobs: 2}).stdout);
  check(completion.object === 'text_completion' && completion.choices[0].logprobs.tokens.length === completion.usage.completion_tokens,
        'completions with legacy logprobs');

  const rejected = run(['complete', '-m', model, '-t', '1'], JSON.stringify({...conversation, temperature: 7}));
  check(rejected.status === 1, 'invalid request exits with 1');
  const error = JSON.parse(rejected.stdout).error;
  equal([error.type, error.param, error.code], ['invalid_request_error', 'temperature', 'invalid_value'], 'error object');
  const overflow = JSON.parse(run(['complete', '-m', model, '-c', '64', '-t', '1'], JSON.stringify({...conversation, max_tokens: 60})).stdout).error;
  equal(overflow.code, 'context_length_exceeded', 'context overflow');
  const unparsable = run(['complete', '-m', model, '-t', '1'], '{"messages": [');
  check(unparsable.status === 1 && JSON.parse(unparsable.stdout).error.type === 'invalid_request_error', 'unparsable JSON');

  // A batch runs together (4 parallel sequences) and gives what each request gives alone.
  const batch = [conversation, {prompt: 'Hello', max_tokens: 12, temperature: 0.8, seed: 4},
                 {...conversation, n: 2, temperature: 1, seed: 9}, {prompt: [1, 2, 3], max_tokens: 5, temperature: 0}];
  const together = complete(batch, ['-np', '4']).stdout.trim().split('\n').map((l) => JSON.parse(l));
  batch.forEach((request, i) => {
    const alone = JSON.parse(complete(request, ['-np', '4']).stdout);
    equal(together[i].choices, alone.choices, `batched request ${i} = alone`);
  });
}

// --- weblm chat / run --chat ----------------------------------------------------------------
const chatArgs = ['chat', '-m', model, '-c', '512', '-t', '1', '--temp', '0', '-n', '16'];
{
  const reply = (msgs) => JSON.parse(complete({messages: msgs, max_tokens: 16, temperature: 0}).stdout).choices[0].message.content;
  const hello = {role: 'user', content: 'Hello'};
  const first = reply([hello]);
  const second = reply([hello, {role: 'assistant', content: first}, {role: 'user', content: 'Tell me more'}]);
  const terse = reply([{role: 'system', content: 'Be terse.'}, hello]);
  const r = ok(chatArgs, 'Hello\nTell me more\n/reset\nHello\n/system Be terse.\nHello\n');
  // Each reply ends with a newline; after /reset the first turn comes again.
  equal(r.stdout, [first, second, first, terse].map((t) => t + '\n').join(''), 'chat replies = complete of the same conversations');
  const stats = r.stderr.split('\n').filter((l) => l.includes('tok/s'));
  equal(stats.length, 4, 'a tok/s line per reply');
  const reused = stats.map((l) => Number(/\((\d+) reused\)/.exec(l)[1]));
  check(reused[1] > 10, `the second turn reuses the first one's KV: ${stats[1]}`);
  check(/new system prompt/.test(r.stderr) && /conversation reset\)/.test(r.stderr), '/reset and /system acknowledged');

  const once = ok(['run', '-m', model, '-c', '512', '-t', '1', '--chat', '-p', 'Hello', '-n', '16', '--temp', '0']);
  equal(once.stdout, first + '\n', 'run --chat = chat');
}

// Ctrl-C during a long reply interrupts it; the chat goes on to the next line. A larger model
// whose greedy reply to this prompt runs until the context is full (thousands of tokens, seconds).
const slow = path.join(work, 'slow.gguf');
ok(['gen-model', '--arch', 'qwen3', '--vocab', 'bpe', '--pre', 'qwen2', '--dim', '256', '--layers', '4', '--ff', '768',
    '--type', 'q8_0', '--n-vocab', '768', '--seed', '3', '-o', slow]);
await new Promise((resolve, reject) => {
  const child = spawn(weblm, ['chat', '-m', slow, '-c', '4096', '-t', '1', '--temp', '0']);
  let out = '', err = '', interrupted = false;
  const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`chat hung: ${err}`)); }, 60000);
  child.stdout.on('data', (d) => {
    out += d;
    if (!interrupted && out.length > 20) {
      interrupted = true;
      child.kill('SIGINT');
      child.stdin.end('Hello again\n');
    }
  });
  child.stderr.on('data', (d) => { err += d; });
  child.on('exit', (code) => {
    clearTimeout(timer);
    try {
      check(code === 0, `chat exits normally after Ctrl-C (code ${code}): ${err}`);
      const stats = err.split('\n').filter((l) => l.includes('tok/s'));
      check(stats.length === 2 && stats[0].includes('interrupted'), `first reply interrupted, second answered: ${err}`);
      resolve();
    } catch (e) { reject(e); }
  });
  child.stdin.write('Write a very long story about everything.\n');
});

console.log('api cli: all checks passed');
