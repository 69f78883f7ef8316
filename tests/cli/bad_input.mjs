// Bad input gets a clear error, never a crash: each damaged model or request must make `weblm`
// exit with status 1 and a message naming the problem.
//   node bad_input.mjs --weblm build/src/cli/weblm --work DIR
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {readGguf, writeGguf} from './gguf.mjs';

const argv = process.argv.slice(2);
const weblm = argv[argv.indexOf('--weblm') + 1];
const work = argv[argv.indexOf('--work') + 1];
fs.mkdirSync(work, {recursive: true});
const good = path.join(work, 'good.gguf');
const gen = spawnSync(weblm, ['gen-model', '--arch', 'llama', '--type', 'q8_0', '-o', good]);
if (gen.status !== 0) throw new Error(`gen-model failed: ${gen.stderr}`);
const bytes = fs.readFileSync(good);
const model = readGguf(good);

function variant(name, edit) {
  const file = path.join(work, name + '.gguf');
  const copy = structuredClone({version: model.version, kv: model.kv, tensors: model.tensors.map((t) => ({...t, data: Buffer.from(t.data)}))});
  edit(copy);
  writeGguf(file, copy);
  return file;
}
function raw(name, buf) { const file = path.join(work, name + '.gguf'); fs.writeFileSync(file, buf); return file; }

const cases = [
  ['wrong magic', ['info', raw('magic', Buffer.concat([Buffer.from('GGUX'), bytes.subarray(4)]))], /magic/i],
  ['version 99', ['info', raw('version', Buffer.concat([bytes.subarray(0, 4), Buffer.from([99, 0, 0, 0]), bytes.subarray(8)]))], /version/i],
  ['truncated header', ['info', raw('trunc-header', bytes.subarray(0, 200))], /truncated|end of|past the end|outside|could hold/i],
  ['truncated data', ['run', '-m', raw('trunc-data', bytes.subarray(0, bytes.length - 1000)), '-p', 'hi', '-n', '1'], /outside|truncated|past the end|end of/i],
  ['tensor outside the file', ['run', '-m', variant('outside', (m) => { m.tensors[m.tensors.length - 1].offsetOverride = 1 << 30; }), '-p', 'hi'], /outside|past the end|beyond/i],
  ['unknown architecture', ['run', '-m', variant('arch', (m) => { m.kv.find((e) => e.key === 'general.architecture').value = 'mamba9'; }), '-p', 'hi'], /unknown architecture 'mamba9'/],
  ['unknown tensor type', ['info', variant('type', (m) => { m.tensors[1].type = 77; })], /type 77|unknown.*type|unsupported.*type/i],
  ['unsupported weight type', ['run', '-m', variant('q8k', (m) => {
    const t = m.tensors.find((x) => x.name === 'blk.0.attn_q.weight'); t.type = 15; t.dims = [256, 1]; t.data = Buffer.alloc(292);
  }), '-p', 'hi'], /blk\.0\.attn_q\.weight.*q8_K/],
  ['missing tensor', ['run', '-m', variant('missing', (m) => { m.tensors = m.tensors.filter((t) => t.name !== 'blk.1.ffn_down.weight'); }), '-p', 'hi'], /blk\.1\.ffn_down\.weight/],
  ['missing key', ['run', '-m', variant('nokey', (m) => { m.kv = m.kv.filter((e) => e.key !== 'llama.embedding_length'); }), '-p', 'hi'], /llama\.embedding_length/],
  ['prompt longer than the context', ['run', '-m', good, '-c', '8', '-p', 'the quick brown fox jumps over the lazy dog again and again'], /exceeds the context/],
  ['token id outside the vocabulary', ['logits', '-m', good, '--ids', '1,99999', '--out', path.join(work, 'x.bin')], /outside the vocabulary/],
  ['bad option value', ['run', '-m', good, '-p', 'hi', '--temp', 'warm'], /--temp expects a number/],
  ['missing file', ['info', path.join(work, 'nope.gguf')], /nope\.gguf/],
];

let failed = 0;
for (const [what, args, expect] of cases) {
  const r = spawnSync(weblm, args, {encoding: 'utf8'});
  const ok = r.status === 1 && r.signal === null && expect.test(r.stderr);
  if (!ok) failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}: exit ${r.status}${r.signal ? ' signal ' + r.signal : ''}: ${r.stderr.trim().split('\n')[0]}`);
}
process.exit(failed ? 1 : 0);
