// Plain vs speculative decoding, side by side in one run, on a TinyLlama-1.1B-shaped random
// model (the shape of compare_llama.mjs): the F16 target alone, with its own Q4_0 copy as the
// draft model, and with n-gram (prompt-lookup) drafting on a repetitive prompt; decode tok/s,
// acceptance rate and speedup. Random weights make the Q4_0 copy agree with the target only
// partly, so the draft-model acceptance here says little about real models.
// Runs alternate (plain, then each speculative case, per round); the table shows medians.
//   node bench/speculative.mjs [--threads 2] [--n 128] [--draft-max 8] [--rounds 3] [--work build/bench]
//                              [--target FILE (an F16 TinyLlama-shaped GGUF to reuse)]
//                              [--weblm build/src/cli/weblm]
import {execFileSync, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name, fallback) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : fallback);
const weblm = opt('weblm', path.join(root, 'build/src/cli/weblm'));
const work = opt('work', path.join(root, 'build/bench'));
const threads = opt('threads', '2'), nGen = opt('n', '128'), draftMax = opt('draft-max', '8');
const rounds = Number(opt('rounds', '3'));
fs.mkdirSync(work, {recursive: true});

const shape = ['--arch', 'llama', '--dim', '2048', '--layers', '22', '--heads', '32', '--kv-heads', '4',
               '--ff', '5632', '--n-vocab', '32000', '--ctx', '2048'];
const target = opt('target', path.join(work, 'tinyllama-f16.gguf'));
if (!fs.existsSync(target)) execFileSync(weblm, ['gen-model', ...shape, '--type', 'f16', '-o', target], {stdio: 'inherit'});
const draft = path.join(work, 'tinyllama-f16-copy-q4_0.gguf');
if (!fs.existsSync(draft)) execFileSync(weblm, ['quantize', target, draft, 'q4_0'], {stdio: 'inherit'});

const prose = 'Write a short story about a lighthouse keeper who finds a message in a bottle on a stormy night.';
const repetitive = Array(6).fill('def add(a, b):\n    return a + b\n\ndef sub(a, b):\n    return a - b\n').join('\n');

// One `weblm run` (greedy, fixed length): decode tok/s from its stderr line, the acceptance when
// speculating, and the text (which must equal plain decoding's).
function measure(prompt, flags) {
  const args = ['run', '-m', target, '-p', prompt, '-n', nGen, '--temp', '0', '--ignore-eos', '-t', threads, '-c', '1024',
                ...flags];
  const r = spawnSync(weblm, args, {encoding: 'utf8', maxBuffer: 64 << 20});
  if (r.status !== 0) throw new Error(`weblm ${args.join(' ')} failed: ${r.stderr}`);
  const gen = /generated: (\d+) tokens in ([\d.]+) ms \(([\d.]+) tok\/s\)/.exec(r.stderr);
  if (!gen) throw new Error(`no timing line in: ${r.stderr}`);
  const spec = /speculative: drafted (\d+), accepted (\d+)/.exec(r.stderr);
  return {text: r.stdout, tps: Number(gen[3]), drafted: spec ? Number(spec[1]) : 0, accepted: spec ? Number(spec[2]) : 0};
}

const cases = [
  ['prose', prose, 'draft: Q4_0 copy', ['--draft-model', draft, '--draft-max', draftMax]],
  ['repetitive code', repetitive, 'draft: Q4_0 copy', ['--draft-model', draft, '--draft-max', draftMax]],
  ['repetitive code', repetitive, 'n-gram', ['--spec', 'ngram', '--draft-max', draftMax]],
];
const load = os.loadavg()[0];
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b), mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
const plain = new Map();  // prompt name -> tok/s of each round
const rows = cases.map(([promptName, , mode]) => ({promptName, mode, tps: [], drafted: 0, accepted: 0}));
for (let round = 0; round < rounds; ++round) {
  const texts = new Map();
  cases.forEach(([promptName, prompt, mode, flags], i) => {
    if (!texts.has(promptName)) {
      const base = measure(prompt, []);
      texts.set(promptName, base.text);
      plain.set(promptName, [...(plain.get(promptName) || []), base.tps]);
    }
    const spec = measure(prompt, flags);
    if (spec.text !== texts.get(promptName)) throw new Error(`${promptName}, ${mode}: output differs from plain decoding`);
    rows[i].tps.push(spec.tps);
    rows[i].drafted += spec.drafted;
    rows[i].accepted += spec.accepted;
  });
  console.error(`round ${round + 1} of ${rounds}: done`);
}
const f = (x, d = 1) => x.toFixed(d);
console.log(`TinyLlama-1.1B shape (random weights), F16 target, ${threads} threads, greedy, ${nGen} tokens, ` +
            `--draft-max ${draftMax}, median of ${rounds} alternating rounds; load average ${f(load, 2)} at start, ` +
            `${f(os.loadavg()[0], 2)} at end`);
console.log('| prompt | speculation | plain tok/s | speculative tok/s | speedup | drafted (all rounds) | accepted | acceptance |');
console.log('|---|---|---|---|---|---|---|---|');
for (const {promptName, mode, tps, drafted, accepted} of rows) {
  const base = median(plain.get(promptName)), spec = median(tps);
  const rate = drafted ? `${f(100 * accepted / drafted)}%` : '-';
  console.log(`| ${promptName} | ${mode} | ${f(base)} | ${f(spec)} | ${f(spec / base, 2)}x | ${drafted} | ${accepted} | ${rate} |`);
}
