// The wasm module in headless Chromium (Debian's, driven by playwright-core): a page served with
// cross-origin isolation loads the threaded build, in the page and in a Web Worker; a page
// without it gets the single-thread build. Each runs models on the CPU backend, and the logits
// must match the native engine's (same tolerances as logits_parity.mjs). The page also runs
// models on the WebGPU backend (SwiftShader), within model_parity.mjs's tolerances.
//   node browser.mjs --weblm build/src/cli/weblm --work DIR
import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

import {launchChromium, serve} from './server.mjs';
import {check, cliArgs, finish} from '../harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const args = cliArgs();
const work = args.work;
fs.mkdirSync(work, {recursive: true});

const N_VOCAB = 384;
const ids = Array.from({length: 200}, (_, i) => (i * 7919 + 11) % N_VOCAB);
// [arch, type, tolerance (see logits_parity.mjs)]
const MODELS = [['llama', 'q4_0', 0.15], ['qwen3', 'q8_0', 0.15], ['gemma2', 'q4_K', 0.2], ['phi3', 'f32', 1e-4]];

function nativeLogits(model, count, extra) {
  const out = path.join(work, `${path.basename(model)}.${count}.native.bin`);
  execFileSync(args.weblm, ['logits', '-m', model, '--ids', ids.slice(0, count).join(','), '--out', out, '-t', '2', ...extra],
               {stdio: ['ignore', 'ignore', 'pipe']});
  const b = fs.readFileSync(out);
  return new Float32Array(b.buffer, b.byteOffset, b.length / 4);
}

function maxDiff(ours, ref) {
  if (ours.length !== ref.length) return Infinity;
  let m = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(ours[i] - ref[i]);
    m = d <= m ? m : Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

const models = MODELS.map(([arch, type, tol], i) => {
  const file = path.join(work, `${arch}-${type}.gguf`);
  execFileSync(args.weblm, ['gen-model', '--arch', arch, '--type', type, '--vocab', i % 2 ? 'bpe' : 'spm', '--dim', '256',
                            '--heads', '4', '--kv-heads', '2', '--ff', '512', '--layers', '2', '--n-vocab', String(N_VOCAB),
                            '--window', '48', '--seed', String(i + 1), '-o', file], {stdio: 'ignore'});
  return {file, name: `${arch}-${type}`, tol};
});

const server = await serve({'/': root, '/models/': work});
const browser = await launchChromium(['--enable-unsafe-webgpu', '--enable-features=Vulkan']);
try {
  const open = async () => {
    const page = await browser.newPage();
    page.setDefaultTimeout(120000);
    page.on('pageerror', (e) => console.log(`  page error: ${e.message}`));
    page.on('console', (m) => m.type() === 'error' && console.log(`  console: ${m.text()}`));
    await page.goto(`${server.url}/tests/wasm/page/index.html`);
    await page.waitForFunction(() => window.pageReady === true);
    return page;
  };
  const run = (page, where, options) =>
    page.evaluate(([w, o]) => (w === 'page' ? window.logitsInPage(o) : window.logitsInWorker(o)), [where, options]);

  // Cross-origin isolated: the threaded build, 2 threads, in the page (prompt in chunks of 64)
  // and in a worker (decode, one token per pass).
  const page = await open();
  for (const m of models) {
    for (const [where, count, extra, options] of [
      ['page', ids.length, ['-b', '64'], {nBatch: 64}],
      ['worker', 24, ['--decode'], {decode: true}],
    ]) {
      const r = await run(page, where, {model: `/models/${path.basename(m.file)}`, ids: ids.slice(0, count), threads: 2, ...options});
      const d = maxDiff(r.logits, nativeLogits(m.file, count, extra));
      check(r.build === 'weblm' && r.isolated === true && r.info.threads === 2 && d <= m.tol,
            `${m.name.padEnd(11)} ${where.padEnd(6)} (${r.build}, ${r.info.threads} threads, ${count} tokens): ${d.toExponential(2)}`);
    }
  }

  // WebGPU in the page: prompt in chunks of 32, and decode. SwiftShader is slow: short inputs.
  for (const m of [models[0], models[2]]) {
    for (const [count, extra, options] of [[48, ['-b', '32'], {nBatch: 32}], [8, ['--decode'], {decode: true}]]) {
      const r = await run(page, 'page', {model: `/models/${path.basename(m.file)}`, ids: ids.slice(0, count), threads: 2,
                                         backend: 'webgpu', ...options});
      const d = maxDiff(r.logits, nativeLogits(m.file, count, extra));
      check(r.info.backend === 'webgpu' && d <= m.tol,
            `${m.name.padEnd(11)} page   (${r.info.backend}, ${count} tokens${options.decode ? ', decode' : ''}): ${d.toExponential(2)}`);
    }
  }
  await page.close();

  // Without cross-origin isolation (no SharedArrayBuffer): the single-thread build.
  server.setIsolated(false);
  const plain = await open();
  for (const where of ['page', 'worker']) {
    const m = models[0];
    const r = await run(plain, where, {model: `/models/${path.basename(m.file)}`, ids: ids.slice(0, 64), threads: 2, nBatch: 32});
    const d = maxDiff(r.logits, nativeLogits(m.file, 64, ['-b', '32']));
    check(r.build === 'weblm-st' && r.isolated === false && d <= m.tol,
          `${m.name.padEnd(11)} ${where.padEnd(6)} not isolated (${r.build}): ${d.toExponential(2)}`);
  }
} finally {
  await browser.close();
  await server.close();
}
finish('the wasm module in Chromium agrees with the native engine');
