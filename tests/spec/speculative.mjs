// Speculative decoding through the `weblm` CLI on generated models: at temperature 0 the output
// is token for token what plain decoding gives, on llama, qwen3 and gemma2, with a quantized
// copy of the target as the draft model, with an unrelated smaller model of the same vocabulary,
// and with n-gram (prompt-lookup) drafting; a draft model with another vocabulary is refused.
//   node speculative.mjs --weblm build/src/cli/weblm --work DIR
import fs from 'node:fs';
import path from 'node:path';
import {cliArgs, commandRunner, expect, expectEqual} from '../harness.mjs';

const {weblm, work} = cliArgs();
fs.mkdirSync(work, {recursive: true});

const {run, ok} = commandRunner(weblm);
const check = expect, equal = expectEqual;
const model = (name, args) => {
  const p = path.join(work, `${name}.gguf`);
  ok(['gen-model', ...args, '-o', p]);
  return p;
};

const repetitive = 'the quick brown fox jumps over the lazy dog; the quick brown fox jumps over the lazy dog; ' +
                   'the quick brown fox jumps over the lazy dog; the quick brown fox';
const requests = [
  {prompt: repetitive, max_tokens: 48, temperature: 0, ignore_eos: true, logprobs: 1},
  {prompt: 'Once upon a time, in a land far away,', max_tokens: 40, temperature: 0, ignore_eos: true, logprobs: 1},
];
// The requests run together in one batch (-np 2): each response, and its generated tokens.
function complete(target, extra) {
  const out = ok(['complete', '-m', target, '-np', '2', '-c', '256', '-t', '1', ...extra], JSON.stringify(requests));
  return out.stdout.trim().split('\n').map((line) => JSON.parse(line));
}
const tokens = (response) => response.choices[0].logprobs.tokens;

const archs = [
  ['llama', []],
  ['qwen3', ['--vocab', 'bpe', '--head-dim', '48']],
  ['gemma2', ['--window', '16']],
];
let checked = 0;
for (const [arch, extra] of archs) {
  const target = model(`${arch}-target`, ['--arch', arch, ...extra, '--dim', '128', '--layers', '2', '--seed', '3']);
  const quantized = path.join(work, `${arch}-q4_0.gguf`);
  ok(['quantize', target, quantized, 'q4_0']);
  const smaller = model(`${arch}-small`, ['--arch', arch, ...extra, '--dim', '64', '--layers', '1', '--seed', '11']);

  const plain = complete(target, []);
  for (const [label, flags] of [['quantized copy', ['--draft-model', quantized]],
                                ['unrelated smaller model', ['--spec', 'draft', '--draft-model', smaller, '--draft-max', '5']],
                                ['n-gram', ['--spec', 'ngram']]]) {
    const speculative = complete(target, flags);
    plain.forEach((expected, i) => {
      const got = speculative[i];
      equal(tokens(got), tokens(expected), `${arch}, ${label}, request ${i}: tokens`);
      equal(got.choices[0].text, expected.choices[0].text, `${arch}, ${label}, request ${i}: text`);
      equal(got.usage.completion_tokens, expected.usage.completion_tokens, `${arch}, ${label}: completion tokens`);
      const s = got.usage.speculative;
      check(s && s.accepted <= s.drafted && Math.abs(s.acceptance_rate - (s.drafted ? s.accepted / s.drafted : 0)) < 1e-9,
            `${arch}, ${label}: usage.speculative ${JSON.stringify(s)}`);
      check(!('speculative' in expected.usage), 'no speculative stats without speculation');
      ++checked;
    });
    // The draft models always have something to propose; n-gram matches on the repetitive prompt.
    check(speculative[0].usage.speculative.drafted > 0, `${arch}, ${label}: drafted nothing`);
    console.log(`${arch}, ${label}: ${JSON.stringify(speculative.map((r) => r.usage.speculative))}`);
  }
}

// `weblm run` (streaming text) gives the same text with a draft, and reports the acceptance.
{
  const target = path.join(work, 'llama-target.gguf');
  const args = ['run', '-m', target, '-p', repetitive, '-n', '40', '--temp', '0', '--ignore-eos', '-t', '1'];
  const plain = ok(args);
  const speculative = ok([...args, '--draft-model', path.join(work, 'llama-q4_0.gguf')]);
  equal(speculative.stdout, plain.stdout, 'run: same text with a draft model');
  check(/speculative: drafted \d+, accepted \d+ \(\d+\.\d%\)/.test(speculative.stderr), `run reports: ${speculative.stderr}`);
  check(!/speculative:/.test(plain.stderr), 'run without speculation reports none');
}

// Refusals with clear errors.
{
  const target = path.join(work, 'llama-target.gguf');
  const bigger = model('llama-vocab600', ['--n-vocab', '600', '--dim', '64', '--layers', '1']);
  const bpe = model('llama-bpe', ['--vocab', 'bpe', '--dim', '64', '--layers', '1']);
  const refused = (flags, pattern, what) => {
    const r = run(['run', '-m', target, '-p', 'hi', '-n', '4', ...flags]);
    check(r.status !== 0 && pattern.test(r.stderr), `${what}: status ${r.status}, stderr ${r.stderr}`);
  };
  refused(['--draft-model', bigger], /draft model '.*llama-vocab600\.gguf'.*600 tokens, the target's 512, and they first differ at token id \d+/, 'vocabulary size mismatch');
  refused(['--draft-model', bpe], /draft model .*differs from the target's at token id \d+/, 'vocabulary text mismatch');
  refused(['--spec', 'draft'], /--spec draft needs --draft-model/, 'draft without a model');
  refused(['--spec', 'fast'], /--spec must be none, ngram or draft/, 'unknown --spec');
  refused(['--spec', 'ngram', '--draft-model', bpe], /--draft-model needs --spec draft/, 'conflicting flags');
  refused(['--spec', 'ngram', '--draft-max', '0'], /--draft-max must be at least 1/, 'draft length bound');
}
console.log(`speculative: ${checked} comparisons, all equal`);
