// The browser SDK (sdk/dist) in headless Chromium: an engine in a Web Worker loads a generated
// model from a URL (progress events), chats with streaming, is interrupted, serves two
// concurrent requests correctly, keeps the page's main thread free while tokens stream, loads
// the second time from the cache without touching the network, refuses a corrupted cached copy
// and a wrong sha256, answers the same at temperature 0 on WebGPU (SwiftShader) and on the CPU
// backend, and loads a model given as several files (gguf-split parts, or pieces of one file).
//   node sdk_browser.mjs --weblm build/src/cli/weblm --work DIR
import {execFileSync} from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

import {launchChromium, serve} from '../wasm/server.mjs';
import {check, cliArgs, finish} from '../harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const args = cliArgs();
fs.mkdirSync(args.work, {recursive: true});

// Tiny models: WebGPU on SwiftShader is slow. q8_0 for the CPU checks; f32 for the WebGPU/CPU
// comparison, where only the backends' arithmetic may differ (q8_0 activations are quantized
// on the CPU backend only) and greedy text must be identical.
function genModel(name, type, seed) {
  const file = path.join(args.work, name);
  execFileSync(args.weblm, ['gen-model', '--arch', 'llama', '--type', type, '--dim', '64', '--layers', '2', '--heads', '4',
                            '--kv-heads', '2', '--ff', '128', '--n-vocab', '384', '--seed', String(seed), '-o', file],
               {stdio: 'ignore'});
  return {file, url: `/models/${name}`, sha256: crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex')};
}
// Big enough for several 16 MiB cache parts (f32, ~54 MB).
function genModelBig() {
  const file = path.join(args.work, 'big-f32.gguf');
  execFileSync(args.weblm, ['gen-model', '--arch', 'llama', '--type', 'f32', '--dim', '512', '--layers', '4', '--heads', '8',
                            '--kv-heads', '4', '--ff', '1536', '--n-vocab', '384', '--seed', '5', '-o', file], {stdio: 'ignore'});
  return {file};
}
const q8 = genModel('tiny-q8_0.gguf', 'q8_0', 3);
const f32 = genModel('tiny-f32.gguf', 'f32', 4);

const modelRequests = [];
const server = await serve({'/': root, '/models/': args.work}, {
  onRequest: (req) => req.url.startsWith('/models/') && modelRequests.push(`${req.method} ${req.url} ${req.headers.range ?? ''}`),
});
const browser = await launchChromium(['--enable-unsafe-webgpu', '--enable-features=Vulkan']);
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(120000);
  page.on('pageerror', (e) => console.log(`  page error: ${e.message}`));
  page.on('crash', () => console.log('  the page crashed'));
  page.on('console', (m) => m.type() === 'error' && console.log(`  console: ${m.text()}`));
  await page.goto(`${server.url}/tests/sdk/page/index.html`);
  await page.waitForFunction(() => window.pageReady === true);

  // --- load from URL, with progress -------------------------------------------------------
  const first = await page.evaluate(async (url) => {
    await sdk.deleteModelFromCache(url);
    window.engine = newWorkerEngine();
    const events = [];
    const info = await engine.reload(url, {backend: 'cpu', initProgressCallback: (p) => events.push(p)});
    return {info, events, cached: await sdk.hasModelInCache(url)};
  }, q8.url);
  const size = fs.statSync(q8.file).size;
  const stages = [...new Set(first.events.map((e) => e.stage))];
  const last = first.events.at(-1);
  check(first.info.backend === 'cpu' && !first.info.fromCache && first.info.bytes === size &&
        stages.join(',') === 'download,upload,ready' && last.loaded === size && last.total === size &&
        last.progress === 1 && first.events.every((e) => e.text && e.bytesPerSecond >= 0 && e.etaSeconds >= 0) &&
        modelRequests.some((r) => r.startsWith('GET')) && first.cached,
        `load from URL: ${first.events.length} progress events, stages ${stages.join(' > ')}, ${last.loaded}/${size} bytes, ` +
        `cached afterwards: ${first.cached}`);

  // --- streaming chat ---------------------------------------------------------------------
  const request = {messages: [{role: 'user', content: 'Tell me a story'}], max_tokens: 24, temperature: 0, ignore_eos: true};
  const chat = await page.evaluate(async (body) => {
    const chunks = [];
    for await (const c of await engine.chat.completions.create({...body, stream: true})) chunks.push(c);
    const whole = await engine.chat.completions.create(body);
    return {chunks, whole, stats: await engine.runtimeStats()};
  }, request);
  const streamed = chat.chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
  check(chat.chunks.length > 10 && chat.chunks.every((c) => c.object === 'chat.completion.chunk') &&
        streamed === chat.whole.choices[0].message.content && chat.whole.usage.completion_tokens === 24 &&
        chat.stats.decodeTokensPerSecond > 0 && chat.stats.prefillTokensPerSecond > 0 && chat.stats.backend === 'cpu' &&
        chat.stats.memoryBytes > 0,
        `streaming chat: ${chat.chunks.length} chunks = the non-streamed reply (${JSON.stringify(streamed.slice(0, 40))}...); ` +
        `stats: decode ${chat.stats.decodeTokensPerSecond.toFixed(0)} tok/s, prefill ${chat.stats.prefillTokensPerSecond.toFixed(0)} tok/s, ` +
        `TTFT ${chat.stats.timeToFirstTokenMs.toFixed(1)} ms`);

  // --- the completions endpoint -----------------------------------------------------------
  const completion = await page.evaluate(() => engine.completions.create({prompt: 'Once upon', max_tokens: 8, temperature: 0,
                                                                          ignore_eos: true}));
  check(completion.object === 'text_completion' && completion.usage.completion_tokens === 8,
        `completions.create: ${JSON.stringify(completion.choices[0].text)}`);

  // --- interrupt --------------------------------------------------------------------------
  const interrupted = await page.evaluate(async () => {
    let n = 0;
    let finish = null;
    for await (const c of await engine.chat.completions.create({messages: [{role: 'user', content: 'Go on'}], max_tokens: 2000,
                                                                stream: true, ignore_eos: true})) {
      if (c.choices[0]?.delta?.content && ++n === 3) engine.interruptGenerate();
      finish = c.choices[0]?.finish_reason ?? finish;
    }
    return {n, finish};
  });
  check(interrupted.finish === 'cancelled' && interrupted.n >= 3 && interrupted.n < 200,
        `interruptGenerate: stopped after ${interrupted.n} tokens (finish_reason ${interrupted.finish})`);

  // --- two concurrent requests, each equal to the same request alone ---------------------
  const concurrent = await page.evaluate(async () => {
    const body = (content) => ({messages: [{role: 'user', content}], max_tokens: 16, temperature: 0, ignore_eos: true});
    const alone = [];
    for (const p of ['First question', 'A different question']) alone.push((await engine.chat.completions.create(body(p))).choices[0].message.content);
    const both = await Promise.all(['First question', 'A different question'].map((p) => engine.chat.completions.create(body(p))));
    return {alone, both: both.map((r) => r.choices[0].message.content)};
  });
  check(concurrent.both[0] === concurrent.alone[0] && concurrent.both[1] === concurrent.alone[1] &&
        concurrent.alone[0] !== concurrent.alone[1],
        'two concurrent requests: each equals its answer alone (batched, not interleaved)');

  // --- resetChat: statistics and kept conversations start over; the engine still answers --
  const reset = await page.evaluate(async (body) => {
    const before = (await engine.runtimeStats()).requests;
    await engine.resetChat();
    const after = (await engine.runtimeStats()).requests;
    const r = await engine.chat.completions.create(body);
    return {before, after, text: r.choices[0].message.content, cached: r.usage.prompt_tokens_details?.cached_tokens ?? 0};
  }, request);
  check(reset.before > 0 && reset.after === 0 && reset.text === streamed && reset.cached === 0,
        `resetChat: ${reset.before} requests -> ${reset.after}; the same answer again, nothing reused from before`);

  // --- the main thread stays free while tokens stream -------------------------------------
  const responsiveness = await page.evaluate(async () => {
    const longTasks = [];
    const observer = new PerformanceObserver((list) => longTasks.push(...list.getEntries().map((e) => e.duration)));
    observer.observe({type: 'longtask'});
    // Frames keep ticking: the longest gap between animation frames while streaming.
    let lastFrame = performance.now(), worstFrame = 0, streaming = true;
    const tick = (t) => { worstFrame = Math.max(worstFrame, t - lastFrame); lastFrame = t; if (streaming) requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
    let tokens = 0;
    const start = performance.now();
    for await (const c of await engine.chat.completions.create({messages: [{role: 'user', content: 'Write a lot'}], max_tokens: 800,
                                                                stream: true, ignore_eos: true,
                                                                stream_options: {include_usage: true}})) {
      tokens = c.usage?.completion_tokens ?? tokens;
    }
    const ms = performance.now() - start;
    streaming = false;
    await new Promise((r) => setTimeout(r, 100));  // let the observer deliver
    observer.disconnect();
    return {longest: Math.max(0, ...longTasks), count: longTasks.length, tokens, ms, worstFrame};
  });
  check(responsiveness.count === 0 && responsiveness.tokens === 800,
        `main thread while streaming ${responsiveness.tokens} tokens in ${responsiveness.ms.toFixed(0)} ms: ` +
        `${responsiveness.count} long tasks (longest ${responsiveness.longest.toFixed(0)} ms; < 50 ms required), ` +
        `worst frame gap ${responsiveness.worstFrame.toFixed(0)} ms`);

  // --- second load: from the cache, no network request for the model ----------------------
  modelRequests.length = 0;
  const second = await page.evaluate(async (url) => {
    const events = [];
    const info = await engine.reload(url, {backend: 'cpu', initProgressCallback: (p) => events.push(p.stage)});
    const r = await engine.chat.completions.create({messages: [{role: 'user', content: 'Tell me a story'}], max_tokens: 24,
                                                    temperature: 0, ignore_eos: true});
    return {info, stages: [...new Set(events)], text: r.choices[0].message.content};
  }, q8.url);
  check(second.info.fromCache && modelRequests.length === 0 && second.stages[0] === 'cache' && second.text === streamed,
        `second load from the cache: ${modelRequests.length} model requests, stages ${second.stages.join(' > ')}, same answer`);

  // --- the OPFS cache: the same, in the origin's private file system ----------------------
  const opfsRequests = modelRequests.length;
  const opfs = await page.evaluate(async (url) => {
    await sdk.deleteModelFromCache(url, {cache: 'opfs'});
    const first = await engine.reload(url, {backend: 'cpu', cache: 'opfs'});
    const cached = await sdk.hasModelInCache(url, {cache: 'opfs'});
    const second = await engine.reload(url, {backend: 'cpu', cache: 'opfs'});
    return {first: first.fromCache, cached, second: second.fromCache};
  }, q8.url);
  const opfsSecondRequests = modelRequests.length - opfsRequests;
  check(opfs.first === false && opfs.cached && opfs.second === true && opfsSecondRequests === 2,
        `OPFS cache: first load downloads (HEAD + GET), the second comes from OPFS (${opfsSecondRequests} requests in all)`);

  // --- a corrupted cached copy is refused (and dropped, so the next load downloads anew) ---
  const corrupted = await page.evaluate(async (url) => {
    const cache = await caches.open('weblm-models');
    const key = (await cache.keys()).find((r) => r.url.includes(encodeURIComponent(`${new URL(url, location.href).href}#part-0`)));
    const bytes = new Uint8Array(await (await cache.match(key)).arrayBuffer());
    bytes[bytes.length >> 1] ^= 0xff;
    await cache.put(key, new Response(bytes));
    let error = null;
    try {
      await engine.reload(url, {backend: 'cpu'});
    } catch (e) {
      error = {name: e.name, message: e.message, isClass: e instanceof sdk.IntegrityError};
    }
    const cachedAfter = await sdk.hasModelInCache(url);
    const again = await engine.reload(url, {backend: 'cpu'});
    return {found: !!key, error, cachedAfter, againFromCache: again.fromCache};
  }, q8.url);
  check(corrupted.found && corrupted.error?.isClass && !corrupted.cachedAfter && corrupted.againFromCache === false,
        `corrupted cached copy: ${corrupted.error?.name}: ${corrupted.error?.message}; reloaded from the network`);

  // --- sha256: a wrong one is refused and nothing is cached; the right one loads ----------
  const integrity = await page.evaluate(async ({url, sha256}) => {
    await sdk.deleteModelFromCache(url);
    let error = null;
    try {
      await engine.reload({url, sha256: '0'.repeat(64)}, {backend: 'cpu'});
    } catch (e) {
      error = {name: e.name, message: e.message, isClass: e instanceof sdk.IntegrityError};
    }
    const cachedAfterWrong = await sdk.hasModelInCache(url);
    const ok = await engine.reload({url, sha256}, {backend: 'cpu'});
    const okFromCache = await engine.reload({url, sha256}, {backend: 'cpu'});
    return {error, cachedAfterWrong, ok: ok.backend, okFromCache: okFromCache.fromCache};
  }, q8);
  check(integrity.error?.isClass && !integrity.cachedAfterWrong && integrity.ok === 'cpu' && integrity.okFromCache,
        `wrong sha256: ${integrity.error?.name}: ${integrity.error?.message?.slice(0, 70)}...; the right one loads (and from cache)`);

  // --- WebGPU forced off: the CPU backend answers exactly as WebGPU at temperature 0 ------
  const backends = await page.evaluate(async (url) => {
    const body = {messages: [{role: 'user', content: 'Hello there'}], max_tokens: 12, temperature: 0, ignore_eos: true};
    const out = {};
    for (const backend of ['auto', 'cpu']) {
      const info = await engine.reload(url, {backend});
      const r = await engine.chat.completions.create(body);
      out[backend] = {backend: info.backend, reason: info.backendReason, text: r.choices[0].message.content};
    }
    return out;
  }, f32.url);
  check(backends.auto.backend === 'webgpu' && backends.cpu.backend === 'cpu' && backends.auto.text === backends.cpu.text &&
        backends.cpu.text.length > 0,
        `auto picked ${backends.auto.backend} (${backends.auto.reason}); cpu answers identically: ${JSON.stringify(backends.cpu.text)}`);

  // --- typed errors ------------------------------------------------------------------------
  const errors = await page.evaluate(async () => {
    const out = {};
    const name = (e) => `${e.name}${e.status ? ` ${e.status} ${e.param}` : ''}`;
    await engine.chat.completions.create({messages: [{role: 'user', content: 'x'}], temperature: 9}).catch((e) => (out.invalid = name(e)));
    await engine.reload('/models/missing.gguf', {backend: 'cpu'}).catch((e) => (out.missing = `${e.name}: ${e.message}`));
    await engine.chat.completions.create({messages: [{role: 'user', content: 'x'}]}).catch((e) => (out.unloaded = name(e)));
    return out;
  });
  check(errors.invalid === 'RequestError 400 temperature' && /^DownloadError: .*HTTP 404/.test(errors.missing ?? '') &&
        errors.unloaded === 'ModelNotLoadedError',
        `typed errors: ${errors.invalid}; ${errors.missing}; then ${errors.unloaded}`);

  // --- an interrupted download resumes where the cache left off (Range request) -----------
  // A model of several cache parts from a second server (cross-origin, CORS) that breaks the
  // first download off after BREAK_AT bytes.
  const big = genModelBig();
  const bigSize = fs.statSync(big.file).size;
  const BREAK_AT = 20 << 20;
  const seen = [];
  const flaky = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.headers.range ?? ''}`);
    const cors = {'Access-Control-Allow-Origin': '*', 'Access-Control-Allow-Headers': 'Range',
                  'Access-Control-Expose-Headers': 'Content-Length, Content-Range', 'Cross-Origin-Resource-Policy': 'cross-origin'};
    if (req.method === 'OPTIONS') return res.writeHead(204, cors).end();
    const start = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
    res.writeHead(start ? 206 : 200, {...cors, 'Content-Length': bigSize - start, 'Accept-Ranges': 'bytes',
                                      ...(start && {'Content-Range': `bytes ${start}-${bigSize - 1}/${bigSize}`})});
    if (req.method === 'HEAD') return res.end();
    const stream = fs.createReadStream(big.file, {start, end: start ? bigSize - 1 : BREAK_AT - 1});
    stream.pipe(res, {end: false});
    stream.on('end', () => (start ? res.end() : res.destroy()));  // the first download breaks off
  });
  await new Promise((resolve) => flaky.listen(0, '127.0.0.1', resolve));
  const bigUrl = `http://127.0.0.1:${flaky.address().port}/big.gguf`;
  const resumed = await page.evaluate(async (url) => {
    await sdk.deleteModelFromCache(url);
    let error = null;
    try {
      await engine.reload(url, {backend: 'cpu'});
    } catch (e) {
      error = `${e.name}: ${e.message}`;
    }
    const stages = [];
    const info = await engine.reload(url, {backend: 'cpu', initProgressCallback: (p) => stages.push(p.stage)});
    return {error, info, stages: [...new Set(stages)], cached: await sdk.hasModelInCache(url)};
  }, bigUrl);
  flaky.close();
  const rangeGet = seen.find((r) => r.startsWith('GET bytes='));
  check(/^DownloadError/.test(resumed.error ?? '') && rangeGet === `GET bytes=${16 << 20}-` && resumed.info.bytes === bigSize &&
        resumed.stages.join(',') === 'cache,download,upload,ready' && resumed.cached,
        `interrupted download (${resumed.error?.slice(0, 60)}...) resumed with ${rangeGet} of ${bigSize} bytes; ` +
        `stages ${resumed.stages.join(' > ')}; requests: ${seen.join(', ')}`);

  // --- a model in several files: gguf-split parts (weblm split) and pieces of one file -------
  execFileSync(args.weblm, ['split', q8.file, path.join(args.work, 'tiny-split'), '--parts', '3'], {stdio: 'ignore'});
  const whole = fs.readFileSync(q8.file), third = Math.ceil(whole.length / 3);
  for (let i = 0; i < 3; ++i) fs.writeFileSync(path.join(args.work, `tiny-piece-${i}`), whole.subarray(i * third, (i + 1) * third));
  const several = await page.evaluate(async ({url, splitUrls, pieceUrls}) => {
    const body = {messages: [{role: 'user', content: 'Once more'}], max_tokens: 12, temperature: 0, ignore_eos: true};
    const answer = async (model) => {
      const e = newWorkerEngine();
      const info = await e.reload(model, {backend: 'cpu', cache: 'none'});
      const text = (await e.chat.completions.create(body)).choices[0].message.content;
      await e.unload();
      return {text, id: info.modelId, bytes: info.bytes};
    };
    return {whole: await answer(url), split: await answer(splitUrls), pieces: await answer(pieceUrls)};
  }, {url: q8.url, splitUrls: [1, 2, 3].map((i) => `/models/tiny-split-0000${i}-of-00003.gguf`),
      pieceUrls: [0, 1, 2].map((i) => `/models/tiny-piece-${i}`)});
  check(several.split.text === several.whole.text && several.pieces.text === several.whole.text &&
        several.split.id === 'tiny-split' && several.pieces.bytes === whole.length,
        `a model in 3 files, as gguf-split parts (model id ${several.split.id}) and as pieces of one file: ` +
        `the same answer as the whole file, ${JSON.stringify(several.whole.text)}`);
  await page.close();
} finally {
  await browser.close();
  await server.close();
}
finish('the SDK works in Chromium');
