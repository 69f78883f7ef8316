// A model in several files (llama.cpp's gguf-split format): `weblm split` writes the parts, and
// llama.cpp, which reads that format natively, must give bit-identical logits from the parts and
// from the whole file, as must weblm; bad sets (a part opened first, a missing part, a misnamed
// first part) are clear errors; `weblm quantize` of a split model writes one ordinary file.
//   node split_model.mjs --weblm build/src/cli/weblm --work DIR
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

import {cliArgs, commandRunner, expect} from '../harness.mjs';

const args = cliArgs();
fs.mkdirSync(args.work, {recursive: true});
const oracle = path.join(path.dirname(fileURLToPath(import.meta.url)), 'llama_oracle.mjs');
const weblm = commandRunner(args.weblm), node = commandRunner(process.execPath);
const at = (name) => path.join(args.work, name);
const ids = Array.from({length: 40}, (_, i) => (i * 37 + 5) % 512).join(',');
const same = (a, b) => Buffer.compare(fs.readFileSync(a), fs.readFileSync(b)) === 0;

weblm.ok(['gen-model', '--arch', 'qwen3', '--type', 'q4_K', '--dim', '256', '--ff', '512', '--layers', '3', '-o', at('whole.gguf')]);
weblm.ok(['split', at('whole.gguf'), at('model'), '--parts', '3']);
const first = at('model-00001-of-00003.gguf');
for (const i of [1, 2, 3]) expect(fs.existsSync(at(`model-0000${i}-of-00003.gguf`)), `part ${i} written`);

node.ok([oracle, 'logits', '--model', at('whole.gguf'), '--ids', ids, '--out', at('llama-whole.bin')]);
node.ok([oracle, 'logits', '--model', first, '--ids', ids, '--out', at('llama-split.bin')]);
expect(same(at('llama-whole.bin'), at('llama-split.bin')), 'llama.cpp reads the split model as the whole file');
weblm.ok(['logits', '-m', at('whole.gguf'), '--ids', ids, '--out', at('weblm-whole.bin')]);
weblm.ok(['logits', '-m', first, '--ids', ids, '--out', at('weblm-split.bin')]);
expect(same(at('weblm-whole.bin'), at('weblm-split.bin')), 'weblm reads the split model as the whole file');

const refused = (model, pattern, what) => {
  const r = weblm.run(['logits', '-m', model, '--ids', '1', '--out', at('x.bin')]);
  expect(r.status !== 0 && pattern.test(r.stderr), `${what}: status ${r.status}, ${r.stderr.trim()}`);
  console.log(`${what}: ${r.stderr.trim()}`);
};
refused(at('model-00002-of-00003.gguf'), /is part 2 of a model split in 3 files: open the first part/, 'a later part first');
fs.copyFileSync(first, at('renamed.gguf'));
refused(at('renamed.gguf'), /part 1 of a model split in 3 files, but not named PREFIX-00001-of-00003\.gguf/, 'misnamed first part');
fs.renameSync(at('model-00003-of-00003.gguf'), at('aside.gguf'));
refused(first, /model-00003-of-00003\.gguf/, 'a missing part');
fs.renameSync(at('aside.gguf'), at('model-00003-of-00003.gguf'));

weblm.ok(['quantize', first, at('joined-q8_0.gguf'), 'q8_0']);
const info = weblm.ok(['info', at('joined-q8_0.gguf')]).stdout;
expect(!/split\./.test(info), 'a quantized split model is one file without split.* keys');
console.log('split models: llama.cpp and weblm read weblm split parts bit-identically to the whole file');
