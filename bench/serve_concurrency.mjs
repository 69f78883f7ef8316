// Aggregate decode speed of `weblm serve` (continuous batching) at 1, 2, 4, 8 concurrent streams,
// against llama.cpp (node-llama-cpp, one context with as many sequences, evaluated concurrently so
// that its batch dispatcher decodes them together), same file, same threads, same token prompts.
// TinyLlama-1.1B shape with random weights (as bench/compare_llama.mjs makes it).
//   node bench/serve_concurrency.mjs [--threads 2] [--peer-threads 1] [--type q4_0] [--n 64]
//                                    [--streams 1,2,4,8] [--work build/bench] [--weblm build/src/cli/weblm]
// llama.cpp runs at 1 thread by default: through node-llama-cpp, 2 threads on a 2-core machine
// compete with Node's own thread, and with several sequences that collapsed (2 sequences x 16
// tokens: 30 s at 2 threads, 1.9 s at 1, load average 8). Pass --peer-threads 2 to see it.
// Aggregate decode tok/s, two ways, from every token's arrival time:
//   concurrent: while all N streams are decoding (from the last stream's first token to the first
//     stream's end), tokens of all streams over that time: the throughput at N concurrent streams;
//   whole: tokens decoded after each stream's first token over the time from the first stream's
//     first token to the last stream's end, which also counts the ramp (streams whose prompts are
//     still being processed while others decode) and the tail.
import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {getLlama, LlamaLogLevel} from 'node-llama-cpp';

import {startServe} from '../tests/server/serve_process.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name, fallback) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : fallback);
const weblm = opt('weblm', path.join(root, 'build/src/cli/weblm'));
const work = opt('work', path.join(root, 'build/bench'));
const threads = Number(opt('threads', '2')), peerThreads = Number(opt('peer-threads', '1')), nGen = Number(opt('n', '64')), type = opt('type', 'q4_0');
const streamCounts = opt('streams', '1,2,4,8').split(',').map(Number);
const maxStreams = Math.max(...streamCounts);
const nPrompt = 16, nVocab = 32000;
fs.mkdirSync(work, {recursive: true});

const shape = ['--arch', 'llama', '--dim', '2048', '--layers', '22', '--heads', '32', '--kv-heads', '4',
               '--ff', '5632', '--n-vocab', String(nVocab), '--ctx', '2048'];
const file = path.join(work, `tinyllama-${type}.gguf`);
if (!fs.existsSync(file)) execFileSync(weblm, ['gen-model', ...shape, '--type', type, '-o', file], {stdio: 'inherit'});

// Distinct prompts (no shared prefix to reuse), the same token ids on both sides.
const promptOf = (stream, round) => Array.from({length: nPrompt}, (_, i) => 3 + ((stream * 997 + round * 131 + i * 7919) % (nVocab - 3)));

// streams: [[arrival time of each token, ms]] -> {concurrent, whole} aggregate decode tok/s
function aggregate(streams) {
  const firsts = streams.map((t) => t[0]), ends = streams.map((t) => t.at(-1));
  const from = Math.max(...firsts), to = Math.min(...ends);
  const during = streams.reduce((n, t) => n + t.filter((x) => x > from && x <= to).length, 0);
  const decoded = streams.reduce((n, t) => n + t.length - 1, 0);
  return {concurrent: during / ((to - from) / 1000), whole: decoded / ((Math.max(...ends) - Math.min(...firsts)) / 1000)};
}

async function benchWeblm() {
  const {server, listening} = startServe(weblm, ['-m', file, '-np', String(maxStreams), '-t', String(threads),
                                                 '-c', String(nPrompt + nGen + 16)]);
  const base = await listening;
  // One stream, read as server-sent events; returns each token's arrival time.
  async function stream(prompt) {
    const r = await fetch(`${base}/v1/completions`, {
      method: 'POST', headers: {'Content-Type': 'application/json'},
      // logprobs: 0 gives every token its own event: random weights over a byte-level vocabulary
      // mostly produce pieces of UTF-8 characters, which stream as no text until they complete.
      body: JSON.stringify({prompt, max_tokens: nGen, temperature: 0, ignore_eos: true, stream: true, logprobs: 0,
                            stream_options: {include_usage: true}})});
    if (!r.ok) throw new Error(`weblm serve answered ${r.status}: ${await r.text()}`);
    const times = [];
    let usage = null, buffer = '';
    const decoder = new TextDecoder();
    for await (const bytes of r.body) {
      buffer += decoder.decode(bytes, {stream: true});
      let cut;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const event = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        if (!event.startsWith('data: {')) continue;
        const chunk = JSON.parse(event.slice(6));
        if (chunk.choices[0]?.logprobs) times.push(performance.now());
        if (chunk.usage) usage = chunk.usage;
      }
    }
    if (usage.completion_tokens !== times.length) throw new Error(`${times.length} token events for ${usage.completion_tokens} tokens`);
    return times;
  }
  const results = {};
  await Promise.all([stream(promptOf(99, 99))]);  // warm-up
  for (const n of streamCounts) {
    results[n] = aggregate(await Promise.all(Array.from({length: n}, (_, s) => stream(promptOf(s, n)))));
    console.error(`weblm serve, ${n} streams: ${results[n].concurrent.toFixed(1)} tok/s`);
  }
  server.kill('SIGTERM');
  await new Promise((resolve) => server.on('exit', resolve));
  return results;
}

async function benchLlama() {
  const llama = await getLlama({gpu: false, build: 'never', logLevel: LlamaLogLevel.error});
  const model = await llama.loadModel({modelPath: file});
  const results = {};
  for (const n of streamCounts) {
    // node-llama-cpp splits contextSize among the sequences; room to spare keeps it from shifting.
    const context = await model.createContext({contextSize: n * 512, sequences: n, threads: peerThreads,
                                               batchSize: Math.max(512, n * nPrompt)});
    async function stream(sequence, prompt) {
      const times = [];
      for await (const token of sequence.evaluate(prompt, {temperature: 0})) {
        times.push(performance.now());
        if (times.length >= nGen) break;
      }
      return times;
    }
    const sequences = Array.from({length: n}, () => context.getSequence());
    await stream(sequences[0], promptOf(99, 99));  // warm-up
    await sequences[0].clearHistory();
    results[n] = aggregate(await Promise.all(sequences.map((seq, s) => stream(seq, promptOf(s, n)))));
    console.error(`llama.cpp, ${n} sequences: ${results[n].concurrent.toFixed(1)} tok/s`);
    await context.dispose();
  }
  await model.dispose();
  return results;
}

const ours = await benchWeblm();
const peer = await benchLlama();
const f = (x, d = 1) => x.toFixed(d).padStart(7);
console.log(`TinyLlama-1.1B shape (random weights), ${type}, weblm ${threads} threads, llama.cpp ${peerThreads}, ` +
            `${nGen} tokens per stream, ` +
            `prompts of ${nPrompt} tokens; aggregate decode tokens/s (load average ${os.loadavg()[0].toFixed(2)})`);
console.log('| streams | weblm, all N decoding | llama.cpp, all N decoding | ratio | weblm vs its 1 stream | ' +
            'weblm, whole run | llama.cpp, whole run |');
console.log('|---|---|---|---|---|---|---|');
for (const n of streamCounts)
  console.log(`| ${n} | ${f(ours[n].concurrent)} | ${f(peer[n].concurrent)} | ${f(ours[n].concurrent / peer[n].concurrent, 2)} | ` +
              `${f(ours[n].concurrent / ours[streamCounts[0]].concurrent, 2)}x | ${f(ours[n].whole)} | ${f(peer[n].whole)} |`);
if (ours[4] !== undefined && ours[1] !== undefined) {
  const ratio = ours[4].concurrent / ours[1].concurrent;
  console.log(`floor (4 streams >= 2x one stream, all decoding): ${ratio >= 2 ? 'met' : 'NOT met'} (${ratio.toFixed(2)}x)`);
  if (ratio < 2) process.exitCode = 1;
}
