// llama.cpp (through node-llama-cpp, prebuilt, offline) as the reference for weblm.
//   node llama_oracle.mjs logits --model F --ids 1,2,3 --out FILE [--batch N]
//       every position's logits, little-endian float32 [positions][vocab]
//   node llama_oracle.mjs tokenize --model F --text-file T [--no-special]
//       ids, comma-separated (BOS where the model adds one)
//   node llama_oracle.mjs detokenize --model F --ids 1,2,3
//   node llama_oracle.mjs perplexity --model F --text-file T [--ctx 512] [--parse-special]
//       llama-perplexity's measurement from llama.cpp's logits (node-llama-cpp has no perplexity
//       call): chunks of --ctx tokens, each from an empty cache with BOS first, the second half of
//       each chunk scored; prints JSON {ppl, ppl_error, n_chunks, n_scored, n_tokens}
// Settings for exact logits (see shared/ENVIRONMENT.md): no flash attention, F32 KV cache, one thread.
import fs from 'node:fs';
import {getLlama, LlamaLogLevel} from 'node-llama-cpp';

function parseArgs(argv) {
  const args = {_: []};
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith('--')) {
      const key = argv[i].slice(2);
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) args[key] = true;
      else { args[key] = next; i++; }
    } else args._.push(argv[i]);
  }
  return args;
}

const args = parseArgs(process.argv.slice(2));
const command = args._[0];
if (!args.model) throw new Error('--model is required');
const llama = await getLlama({gpu: false, build: 'never', logLevel: LlamaLogLevel.error});

if (command === 'logits') {
  const ids = String(args.ids).split(',').map(Number);
  const model = await llama.loadModel({modelPath: args.model});
  const context = await model.createContext({
    contextSize: Math.max(256, ids.length + 1),
    batchSize: Number(args.batch ?? 512),
    flashAttention: false,
    experimentalKvCacheKeyType: 'F32',
    experimentalKvCacheValueType: 'F32',
    threads: Number(args.threads ?? 1),
  });
  const sequence = context.getSequence();
  const results = await sequence.controlledEvaluate(ids.map((t) => [t, {generateNext: {logits: true}}]));
  const n = results[0].next.logits.size;
  const out = new Float32Array(ids.length * n);
  results.forEach((r, pos) => {
    for (const [token, logit] of r.next.logits) out[pos * n + token] = logit;
  });
  fs.writeFileSync(args.out, Buffer.from(out.buffer));
  await context.dispose();
  await model.dispose();
} else if (command === 'tokenize') {
  const model = await llama.loadModel({modelPath: args.model, vocabOnly: true});
  const text = fs.readFileSync(args['text-file'], 'utf8');
  const ids = model.tokenize(text, !args['no-special']);
  const bos = model.tokens.bos;
  const addBos = model.tokens.shouldPrependBosToken;
  const all = addBos && bos !== null ? [bos, ...ids] : ids;
  process.stdout.write(all.join(',') + '\n');
  await model.dispose();
} else if (command === 'detokenize') {
  const model = await llama.loadModel({modelPath: args.model, vocabOnly: true});
  process.stdout.write(model.detokenize(String(args.ids).split(',').map(Number), true));
  await model.dispose();
} else if (command === 'perplexity') {
  const nCtx = Number(args.ctx ?? 512);
  const model = await llama.loadModel({modelPath: args.model});
  // As llama-perplexity's common_tokenize(text, add_special = true, parse_special = false), or
  // weblm perplexity --parse-special.
  const text = fs.readFileSync(args['text-file'], 'utf8');
  const bos = model.tokens.bos;
  const addBos = model.tokens.shouldPrependBosToken && bos !== null;
  const tokens = [...(addBos ? [bos] : []), ...model.tokenize(text, Boolean(args['parse-special']))];
  const nChunks = Math.floor(tokens.length / nCtx);
  if (nChunks < 2) throw new Error(`${tokens.length} tokens: need at least ${2 * nCtx}`);
  const context = await model.createContext({
    contextSize: nCtx, batchSize: nCtx, flashAttention: false,
    experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32', threads: Number(args.threads ?? 1),
  });
  const first = nCtx >> 1;
  let nll = 0, nll2 = 0, count = 0;
  const sequence = context.getSequence();
  for (let c = 0; c < nChunks; c++) {
    await sequence.clearHistory();
    const chunk = tokens.slice(c * nCtx, (c + 1) * nCtx);
    if (addBos) chunk[0] = bos;
    const results = await sequence.controlledEvaluate(chunk.map((t, j) => (j >= first ? [t, {generateNext: {logits: true}}] : t)));
    for (let j = first; j < nCtx - 1; j++) {
      // llama.cpp's log_softmax: float max subtracted, exponentials summed in double.
      const logits = results[j].next.logits;
      let max = -Infinity;
      for (const v of logits.values()) max = Math.max(max, v);
      let sum = 0;
      for (const v of logits.values()) sum += Math.exp(Math.fround(v - max));
      const v = -(Math.fround(logits.get(tokens[c * nCtx + j + 1]) - max) - Math.log(sum));
      nll += v; nll2 += v * v; count++;
    }
  }
  const mean = nll / count, ppl = Math.exp(mean);
  const variance = nll2 / count - mean * mean;
  console.log(JSON.stringify({ppl, ppl_error: variance > 0 ? Math.sqrt(variance / (count - 1)) * ppl : 0,
                              n_chunks: nChunks, n_scored: count, n_tokens: tokens.length}));
  await context.dispose();
  await model.dispose();
} else if (command === 'bench') {
  // Same measurement as `weblm bench`: a prompt of -p tokens in one pass, then -n greedy tokens.
  const nPrompt = Number(args.p ?? 512), nGen = Number(args.n ?? 128);
  const model = await llama.loadModel({modelPath: args.model});
  const context = await model.createContext({contextSize: nPrompt + nGen + 16, batchSize: nPrompt,
                                             threads: Number(args.threads ?? 2)});
  const sequence = context.getSequence();
  const nVocab = Number(args['n-vocab'] ?? 32000);
  const prompt = Array.from({length: nPrompt}, (_, i) => (i * 7919 + 13) % nVocab);
  let t0 = performance.now();
  await sequence.evaluateWithoutGeneratingNewTokens(prompt);
  const ppS = (performance.now() - t0) / 1000;
  let generated = 0;
  t0 = performance.now();
  for await (const token of sequence.evaluate([prompt[0]], {temperature: 0})) {
    if (++generated >= nGen) break;
  }
  const tgS = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({pp_tps: nPrompt / ppS, tg_tps: nGen / tgS,
                              peak_rss_mib: process.resourceUsage().maxRSS / 1024}));
  await context.dispose();
  await model.dispose();
} else {
  throw new Error(`unknown command ${command}`);
}
