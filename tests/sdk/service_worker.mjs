// The SDK's Service Worker engine in headless Chromium: a page registers
// sdk/dist/service-worker.js, loads a model into it and chats; the browser then navigates to
// another page, which connects to the same worker and finds the model loaded (no download, the
// same engine: its request count goes on), with answers equal to the Web Worker engine's.
//   node service_worker.mjs --weblm build/src/cli/weblm --work DIR
import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

import {check, cliArgs, finish} from '../harness.mjs';
import {launchChromium, serve} from '../wasm/server.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = cliArgs();
fs.mkdirSync(args.work, {recursive: true});
const model = path.join(args.work, 'sw-q8_0.gguf');
execFileSync(args.weblm, ['gen-model', '--arch', 'llama', '--type', 'q8_0', '--dim', '64', '--layers', '2', '--heads', '4',
                          '--kv-heads', '2', '--ff', '128', '--n-vocab', '384', '--seed', '6', '-o', model], {stdio: 'ignore'});

const page = (title) => `<!doctype html><meta charset="utf-8"><title>${title}</title>
<script type="module">
  import * as sdk from '/sdk/dist/index.js';
  window.sdk = sdk;
  window.registration = navigator.serviceWorker.register('/sdk/dist/service-worker.js', {type: 'module'});
  window.pageReady = true;
</script>`;
const modelRequests = [];
const server = await serve({'/': root, '/models/': args.work}, {
  pages: {'/first.html': page('first'), '/second.html': page('second')},
  onRequest: (req) => req.url.startsWith('/models/') && modelRequests.push(`${req.method} ${req.url}`),
});
const body = {messages: [{role: 'user', content: 'Tell me a story'}], max_tokens: 16, temperature: 0, ignore_eos: true};
const browser = await launchChromium();
try {
  const context = await browser.newContext();
  const tab = await context.newPage();
  tab.setDefaultTimeout(120000);
  tab.on('pageerror', (e) => console.log(`  page error: ${e.message}`));
  context.on('serviceworker', (worker) => worker.on('console', (m) => console.log(`  service worker: ${m.text()}`)));

  await tab.goto(`${server.url}/first.html`);
  await tab.waitForFunction(() => window.pageReady === true);
  const first = await tab.evaluate(async (body) => {
    const engine = await sdk.CreateServiceWorkerEngine(await registration, '/models/sw-q8_0.gguf', {cache: 'none'});
    const reply = await engine.chat.completions.create(body);
    let streamed = '';
    for await (const c of await engine.chat.completions.create({...body, stream: true})) streamed += c.choices[0]?.delta?.content ?? '';
    // The same request on a Web Worker engine, for comparison.
    const worker = await sdk.CreateWebWorkerEngine(new Worker('/sdk/dist/worker.js', {type: 'module'}), '/models/sw-q8_0.gguf',
                                                   {backend: 'cpu', cache: 'none'});
    const reference = await worker.chat.completions.create(body);
    return {info: engine.info ?? null, text: reply.choices[0].message.content, streamed,
            reference: reference.choices[0].message.content, stats: await engine.runtimeStats()};
  }, body);
  const downloadsBefore = modelRequests.filter((r) => r.startsWith('GET')).length;
  check(first.text === first.reference && first.streamed === first.text && first.stats.backend === 'cpu' &&
        first.stats.requests === 2,
        `first page: the Service Worker engine answers ${JSON.stringify(first.text)} like the Web Worker engine, ` +
        `streamed equal, ${first.stats.requests} requests`);

  await tab.goto(`${server.url}/second.html`);
  await tab.waitForFunction(() => window.pageReady === true);
  const second = await tab.evaluate(async (body) => {
    const started = performance.now();
    const engine = await sdk.CreateServiceWorkerEngine(await registration, '/models/sw-q8_0.gguf', {cache: 'none'});
    const connectMs = performance.now() - started;
    const reply = await engine.chat.completions.create(body);
    return {text: reply.choices[0].message.content, stats: await engine.runtimeStats(), connectMs};
  }, body);
  const downloadsAfter = modelRequests.filter((r) => r.startsWith('GET')).length;
  check(second.text === first.text && second.stats.requests === 3 && downloadsAfter === downloadsBefore,
        `after navigating: the model is still loaded in the Service Worker (connected in ${second.connectMs.toFixed(0)} ms, ` +
        `no download: ${downloadsAfter - downloadsBefore}, request count ${second.stats.requests}), same answer`);
} finally {
  await browser.close();
  server.close();
}
finish('the Service Worker engine keeps its model across page navigation');
