// weblm's wasm CPU backend vs wllama (llama.cpp compiled to wasm, npm @wllama/wllama) in the same
// headless Chromium, same GGUF, same prompt text, same threads, on a TinyLlama-1.1B-shaped
// random model; plus native llama.cpp's decode speed (node-llama-cpp) for the "40% of native"
// floor. Prints pp / tg / TTFT side by side.
//   node bench/wasm_vs_wllama.mjs [--threads 1,2] [--types q4_0,q8_0] [--p 128] [--n 32]
//        [--work build-wasm/bench] [--weblm build/src/cli/weblm] [--backend cpu|webgpu] [--no-native]
// wllama's prompt processing crashed past a few hundred tokens here (ENVIRONMENT.md), so the
// default prompt is 128 tokens.
import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

import {launchChromium, serve} from '../tests/wasm/server.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name, fallback) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : fallback);
const weblm = opt('weblm', path.join(root, 'build/src/cli/weblm'));
const work = opt('work', path.join(root, 'build-wasm/bench'));
const threadCounts = opt('threads', '2').split(',').map(Number);
const nPrompt = Number(opt('p', '128')), nGen = Number(opt('n', '32'));
const types = opt('types', 'q4_0,q8_0').split(',');
const backend = opt('backend', 'cpu');
fs.mkdirSync(work, {recursive: true});

const shape = ['--arch', 'llama', '--dim', '2048', '--layers', '22', '--heads', '32', '--kv-heads', '4',
               '--ff', '5632', '--n-vocab', '32000', '--ctx', '2048'];

// The page: measures one engine on one model and returns its numbers.
const PAGE = `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">
<script type="module">
import {requestGpuDevice, responseSource, Weblm} from '/js/weblm.mjs';
import {Wllama} from '/node_modules/@wllama/wllama/esm/index.js';

// Prompt text of at least nPrompt tokens under the model's own tokenizer, so both engines
// process the same text.
function promptText(session, nPrompt) {
  const words = 'the quick brown fox jumps over a lazy dog while seven wizards quietly judge boxing'.split(' ');
  let text = '';
  for (let i = 0; session.tokenize(text).length < nPrompt; i++) text += (i ? ' ' : '') + words[(i * 7) % words.length];
  return text;
}

window.benchWeblm = async ({model, threads, nPrompt, nGen, backend}) => {
  const weblm = await Weblm.load({threads});
  if (backend !== 'cpu') weblm.webgpuDevice = (await requestGpuDevice()).device ?? undefined;
  const t0 = performance.now();
  const session = await weblm.loadModel(responseSource(await fetch(model)), {backend, nCtx: 2 * nPrompt + nGen + 16, name: model});
  const loadMs = performance.now() - t0;
  const text = promptText(session, nPrompt);
  const r = await session.bench({prompt: session.tokenize(text), nGen});
  return {...r, load_ms: loadMs, text, backend_name: session.info.backend_name};
};

window.benchWllama = async ({model, threads, text, nGen}) => {
  const wllama = new Wllama({default: '/node_modules/@wllama/wllama/esm/wasm/wllama.wasm'}, {suppressNativeLog: true});
  const t0 = performance.now();
  await wllama.loadModelFromUrl(new URL(model, location.href).href,
                                {n_ctx: 2048, n_batch: 512, n_threads: threads, useCache: false});
  const loadMs = performance.now() - t0;
  const r = await wllama.createCompletion({prompt: text, max_tokens: nGen, temperature: 0, ignore_eos: true, cache_prompt: false});
  const t = r.timings;
  await wllama.exit();
  return {n_prompt: t.prompt_n, n_gen: t.predicted_n, pp_tps: t.prompt_per_second, tg_tps: t.predicted_per_second,
          ttft_ms: t.prompt_ms + t.predicted_per_token_ms, load_ms: loadMs};
};
window.pageReady = true;
</script>`;

const loadBefore = os.loadavg()[0];
const server = await serve({'/': root, '/models/': work}, {pages: {'/bench.html': PAGE}});
const browser = await launchChromium(backend === 'cpu' ? [] : ['--enable-unsafe-webgpu', '--enable-features=Vulkan']);
const rows = [];
try {
  for (const type of types) {
    const file = path.join(work, `tinyllama-${type}.gguf`);
    if (!fs.existsSync(file)) execFileSync(weblm, ['gen-model', ...shape, '--type', type, '-o', file], {stdio: 'inherit'});
    const model = `/models/${path.basename(file)}`;
    const measure = async (fn, options) => {
      const page = await browser.newPage();  // a fresh page each: no memory carried over
      page.setDefaultTimeout(600000);
      page.on('pageerror', (e) => console.error(`  page error: ${e.message}`));
      await page.goto(`${server.url}/bench.html`);
      await page.waitForFunction(() => window.pageReady === true);
      try {
        return await page.evaluate(([f, o]) => window[f](o), [fn, options]);
      } catch (e) {
        console.error(`  ${fn} ${type}: ${e.message.split('\n')[0]}`);
        return null;
      } finally {
        await page.close();
      }
    };
    const native = {};
    if (!argv.includes('--no-native')) {
      for (const t of threadCounts) {
        const out = execFileSync('node', [path.join(root, 'tests/oracle/llama_oracle.mjs'), 'bench', '--model', file, '--p', String(nPrompt),
                                          '--n', String(nGen), '--threads', String(t)], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit']});
        native[t] = JSON.parse(out.trim().split('\n').pop()).tg_tps;
      }
    }
    for (const threads of threadCounts) {
      const ours = await measure('benchWeblm', {model, threads, nPrompt, nGen, backend});
      const peer = ours && await measure('benchWllama', {model, threads, text: ours.text, nGen});
      console.error(`${type} ${threads}t: weblm ${ours ? `tg ${ours.tg_tps.toFixed(1)}` : 'failed'}, wllama ${peer ? `tg ${peer.tg_tps.toFixed(1)}` : 'failed'}, ` +
                    `llama.cpp native tg ${native[threads]?.toFixed(1) ?? '-'}`);
      rows.push({type, threads, mib: fs.statSync(file).size / 1048576, ours, peer, native: native[threads]});
    }
  }
} finally {
  await browser.close();
  await server.close();
}

const f = (x, d = 1) => (x === undefined || x === null ? '-' : x.toFixed(d)).padStart(7);
console.log(`TinyLlama-1.1B shape (random weights), headless Chromium, prompt ${nPrompt} tokens, ${nGen} generated; ` +
            `tokens/s, TTFT in ms; weblm backend: ${backend}; llama.cpp native = node-llama-cpp, same threads; ` +
            `${os.cpus().length} cores, load average ${loadBefore.toFixed(1)} before, ${os.loadavg()[0].toFixed(1)} after ` +
            '(other processes take cores from spinning thread pools: compare at load < 1)');
console.log('| type | MiB | threads | weblm pp | wllama pp | weblm tg | wllama tg | weblm/wllama tg | weblm TTFT | wllama TTFT | ' +
            'llama.cpp native tg | weblm/native tg |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const {type, mib, threads, ours, peer, native} of rows) {
  console.log(`| ${type} | ${f(mib, 0)} | ${threads} | ${f(ours?.pp_tps)} | ${f(peer?.pp_tps)} | ${f(ours?.tg_tps)} | ${f(peer?.tg_tps)} | ` +
              `${f(peer && ours ? ours.tg_tps / peer.tg_tps : null, 2)} | ${f(ours?.ttft_ms, 0)} | ${f(peer?.ttft_ms, 0)} | ` +
              `${f(native)} | ${f(ours && native ? ours.tg_tps / native : null, 2)} |`);
}
