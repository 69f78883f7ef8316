// llama.cpp (through node-llama-cpp, prebuilt, offline) as the reference for weblm.
//   node llama_oracle.mjs logits --model F --ids 1,2,3 --out FILE [--batch N]
//       every position's logits, little-endian float32 [positions][vocab]
//   node llama_oracle.mjs tokenize --model F --text-file T [--no-special]
//       ids, comma-separated (BOS where the model adds one)
//   node llama_oracle.mjs detokenize --model F --ids 1,2,3
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
