// The built-in model: models/default.gguf matches its recorded sha256, and `weblm run` and
// `weblm chat` without -m load it and answer a held-out dictionary question (greedy, so the
// answer is fixed; the lemma 'tactual' was held out of training).
//   node default_model.mjs --weblm build/src/cli/weblm
import assert from 'node:assert/strict';
import {createHash} from 'node:crypto';
import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const argv = process.argv.slice(2);
const weblm = argv[argv.indexOf('--weblm') + 1];
const models = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../models');

const [recorded, name] = fs.readFileSync(path.join(models, 'default.gguf.sha256'), 'utf8').trim().split(/\s+/);
assert.equal(name, 'default.gguf');
const actual = createHash('sha256').update(fs.readFileSync(path.join(models, 'default.gguf'))).digest('hex');
assert.equal(actual, recorded, 'models/default.gguf does not match models/default.gguf.sha256');

const question = "What part of speech is 'tactual'?";
const answer = "The word 'tactual' is an adjective.";
const run = execFileSync(weblm, ['run', '--chat', '-p', question, '-n', '24', '--temp', '0'],
                         {stdio: ['ignore', 'pipe', 'pipe']}).toString();
assert.equal(run.trim(), answer);

const chat = execFileSync(weblm, ['chat', '--temp', '0', '-n', '24'],
                          {input: `${question}\nIs 'necessity' a noun or a verb?\n`, stdio: ['pipe', 'pipe', 'pipe']});
const out = chat.toString();
assert.ok(out.includes(answer), `chat without -m: ${out}`);
assert.ok(out.includes("The word 'necessity' is a noun."), `chat without -m, second turn: ${out}`);
console.log('default model: run and chat without -m answer from models/default.gguf');
