// weblm vs llama.cpp (node-llama-cpp, same file, same threads), side by side in one run, on a
// TinyLlama-1.1B-shaped random model: prompt processing (pp), generation (tg), peak memory.
//   node bench/compare_llama.mjs [--threads 2] [--types f16,q8_0,q4_0,q4_K] [--p 512] [--n 128]
//                                [--work build/bench] [--weblm build/src/cli/weblm]
import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name, fallback) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : fallback);
const weblm = opt('weblm', path.join(root, 'build/src/cli/weblm'));
const work = opt('work', path.join(root, 'build/bench'));
const threads = opt('threads', '2'), nPrompt = opt('p', '512'), nGen = opt('n', '128');
const types = opt('types', 'f16,q8_0,q4_0,q4_K').split(',');
fs.mkdirSync(work, {recursive: true});

const shape = ['--arch', 'llama', '--dim', '2048', '--layers', '22', '--heads', '32', '--kv-heads', '4',
               '--ff', '5632', '--n-vocab', '32000', '--ctx', '2048'];
const json = (cmd, args) => JSON.parse(execFileSync(cmd, args, {encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit']})
  .trim().split('\n').pop());

const rows = [];
for (const type of types) {
  const file = path.join(work, `tinyllama-${type}.gguf`);
  if (!fs.existsSync(file)) execFileSync(weblm, ['gen-model', ...shape, '--type', type, '-o', file], {stdio: 'inherit'});
  const ours = json(weblm, ['bench', '-m', file, '-p', nPrompt, '-n', nGen, '-t', threads, '--json']);
  const peer = json('node', [path.join(root, 'tests/oracle/llama_oracle.mjs'), 'bench', '--model', file,
                             '--p', nPrompt, '--n', nGen, '--threads', threads]);
  const mib = fs.statSync(file).size / 1048576;
  rows.push({type, mib, ours, peer});
  console.error(`${type}: done`);
}
const f = (x, d = 1) => x.toFixed(d).padStart(8);
console.log(`TinyLlama-1.1B shape (random weights), ${threads} threads, pp${nPrompt} / tg${nGen}, tokens/s; RSS MiB`);
console.log('| type | file MiB | weblm pp | llama.cpp pp | ratio | weblm tg | llama.cpp tg | ratio | weblm RSS | llama.cpp RSS |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const {type, mib, ours, peer} of rows) {
  console.log(`| ${type} | ${f(mib, 0)} | ${f(ours.pp_tps)} | ${f(peer.pp_tps)} | ${f(ours.pp_tps / peer.pp_tps, 2)} | ` +
              `${f(ours.tg_tps)} | ${f(peer.tg_tps)} | ${f(ours.tg_tps / peer.tg_tps, 2)} | ${f(ours.peak_rss_mib, 0)} | ` +
              `${f(peer.peak_rss_mib, 0)} |`);
}
