// weblm perplexity against llama.cpp's (llama_oracle.mjs perplexity: the same chunking, from
// llama.cpp's logits) on generated models and a short text: they must agree within 1% (f32:
// within 1e-4, only summation order differs), over the same number of tokens.
//   node perplexity.mjs --weblm build/src/cli/weblm --work DIR
import assert from 'node:assert/strict';
import {execFileSync, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const weblm = argv[argv.indexOf('--weblm') + 1];
const work = argv[argv.indexOf('--work') + 1];
fs.mkdirSync(work, {recursive: true});
const run = (cmd, args) => execFileSync(cmd, args, {stdio: ['ignore', 'pipe', 'pipe']}).toString();

const sentences = ['The lighthouse keeper climbed the stairs at dusk.', 'A synonym of quick is fast; its opposite is slow.',
                   'Seven ships passed the harbour before 10 o\'clock!', 'What does "serendipity" mean? A happy accident.'];
const text = Array.from({length: 40}, (_, i) => sentences[(i * 3) % 4] + (i % 5 === 4 ? '\n' : ' ')).join('');
const textFile = path.join(work, 'text.txt');
fs.writeFileSync(textFile, text);
const CTX = 64;

for (const [type, relTol] of [['f32', 1e-4], ['q8_0', 1e-2]]) {
  const model = path.join(work, `llama-${type}.gguf`);
  run(weblm, ['gen-model', '--arch', 'llama', '--type', type, '--dim', '64', '--layers', '2', '--n-vocab', '384',
              '--seed', '7', '-o', model]);
  const r = spawnSync(weblm, ['perplexity', '-m', model, '-f', textFile, '-c', String(CTX), '-b', '32']);
  assert.equal(r.status, 0, r.stderr.toString());
  const out = r.stdout.toString();
  const m = out.match(/Final estimate: PPL = ([0-9.]+) \+\/- ([0-9.]+) \((\d+) tokens scored\)/);
  assert.ok(m, `no final estimate in: ${out}`);
  assert.match(out, /^\[1\][0-9.]+,\[2\][0-9.]+,/, 'running perplexity per chunk');
  const ours = {ppl: Number(m[1]), error: Number(m[2]), scored: Number(m[3])};
  const ref = JSON.parse(run('node', [path.join(here, 'llama_oracle.mjs'), 'perplexity', '--model', model,
                                       '--text-file', textFile, '--ctx', String(CTX)]));
  const rel = Math.abs(ours.ppl - ref.ppl) / ref.ppl;
  console.log(`${type}: weblm PPL ${ours.ppl} +/- ${ours.error}, llama.cpp ${ref.ppl.toFixed(4)} +/- ${ref.ppl_error.toFixed(5)}, ` +
              `${ref.n_chunks} chunks, ${ref.n_scored} tokens scored; relative difference ${rel.toExponential(2)}`);
  assert.equal(ours.scored, ref.n_scored, 'scored token counts differ (tokenization or chunking)');
  assert.ok(rel <= relTol, `${type}: perplexity differs by ${rel} (tolerance ${relTol})`);
  assert.ok(Math.abs(ours.error - ref.ppl_error) <= relTol * ref.ppl_error + 1e-4, 'error estimates differ');
}

// Too little text for two chunks: an error saying what is needed.
const r = spawnSync(weblm, ['perplexity', '-m', path.join(work, 'llama-f32.gguf'), '-f', textFile, '-c', '4096']);
assert.equal(r.status, 1);
assert.match(r.stderr.toString(), /perplexity with a context of 4096 needs at least 8192/);
console.log('perplexity: all passed');
