// `weblm demo` end to end: it serves the page, the SDK, the wasm module and the model with the
// cross-origin isolation headers and byte ranges; in headless Chromium the page loads the
// default model by itself and a keyboard-only user chats with it (type in "Message", Tab to
// "Send", Enter) and sees a streamed, rendered reply. Saves a screenshot (--screenshot FILE).
//   node demo_page.mjs --weblm build/src/cli/weblm --work DIR [--screenshot FILE]
import {execFileSync, spawn} from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import {launchChromium} from '../wasm/server.mjs';
import {check, cliArgs, finish} from '../harness.mjs';

const args = cliArgs();
fs.mkdirSync(args.work, {recursive: true});

const model = path.join(args.work, 'demo-tiny.gguf');
execFileSync(args.weblm, ['gen-model', '--arch', 'llama', '--type', 'q8_0', '--dim', '64', '--layers', '2', '--heads', '4',
                          '--kv-heads', '2', '--ff', '128', '--n-vocab', '384', '--seed', '7', '-o', model], {stdio: 'ignore'});

// A MODEL.sha256 beside it (as models/default.gguf has): the page checks the bytes against it.
const sha256 = crypto.createHash('sha256').update(fs.readFileSync(model)).digest('hex');
fs.writeFileSync(`${model}.sha256`, `${sha256}  ${path.basename(model)}\n`);

const demo = spawn(args.weblm, ['demo', '--port', '0', '--model', model], {stdio: ['ignore', 'pipe', 'inherit']});
const url = await new Promise((resolve, reject) => {
  let out = '';
  demo.stdout.on('data', (d) => {
    out += d;
    const m = /open (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
    if (m) resolve(m[1]);
  });
  demo.on('exit', (code) => reject(new Error(`weblm demo exited (${code}) before printing its URL: ${out}`)));
  setTimeout(() => reject(new Error('weblm demo printed no URL within 10 s')), 10000);
});

const browser = await launchChromium();
try {
  // Plain HTTP: the page, the SDK bundle, the wasm module and the model, all cross-origin isolated.
  const isolated = (r) => r.headers.get('cross-origin-opener-policy') === 'same-origin' &&
                          r.headers.get('cross-origin-embedder-policy') === 'require-corp';
  const size = fs.statSync(model).size;
  const gets = {};
  for (const p of ['', 'sdk/index.js', 'sdk/worker.js', 'sdk/wasm/weblm.wasm', 'model/default.gguf', 'config.json']) {
    const r = await fetch(url + p);
    gets[p] = {status: r.status, isolated: isolated(r), type: r.headers.get('content-type'), bytes: (await r.arrayBuffer()).byteLength};
  }
  const config = await (await fetch(`${url}config.json`)).json();
  check(config.model.sha256 === sha256 && config.model.size === size && config.model.name === 'demo-tiny.gguf' &&
        /^\/model\/default\.gguf\?v=/.test(config.model.url),
        `config.json: ${JSON.stringify(config.model).slice(0, 120)}...`);
  const range = await fetch(`${url}model/default.gguf`, {headers: {Range: 'bytes=100-199'}});
  const rangeBytes = new Uint8Array(await range.arrayBuffer());
  const fileBytes = fs.readFileSync(model).subarray(100, 200);
  check(Object.values(gets).every((g) => g.status === 200 && g.isolated) && gets['model/default.gguf'].bytes === size &&
        gets['sdk/wasm/weblm.wasm'].type === 'application/wasm' && /javascript/.test(gets['sdk/index.js'].type) &&
        range.status === 206 && isolated(range) && Buffer.compare(Buffer.from(rangeBytes), fileBytes) === 0,
        `weblm demo serves the page, SDK, wasm and model (${size} bytes; range 100-199: ${range.status}) with COOP/COEP`);

  const page = await browser.newPage({viewport: {width: 1280, height: 800}});
  page.setDefaultTimeout(60000);
  page.on('pageerror', (e) => console.log(`  page error: ${e.message}`));
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.state === 'ready');
  const badge = await page.locator('#backend').textContent();
  const progress = await page.locator('#progress-text').textContent();
  check(/CPU|WebGPU/.test(badge) && /ready/.test(progress), `the default model loads by itself: badge "${badge}", "${progress}"`);

  // Keyboard only: type into the box labelled "Message", Tab to the button named "Send", Enter.
  const message = page.getByLabel('Message');
  await message.focus();
  await page.keyboard.type('Hello! Please **introduce** yourself.');
  await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => document.activeElement?.textContent);
  const send = page.getByRole('button', {name: 'Send'});
  const sendFocused = await send.evaluate((b) => b === document.activeElement);
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.body.dataset.state === 'generating' || document.querySelector('.message.assistant .meta'));
  await page.waitForFunction(() => document.body.dataset.state === 'ready');
  const reply = await page.locator('.message.assistant .bubble').first().textContent();
  const meta = await page.locator('.message.assistant .meta').first().textContent();
  const user = await page.locator('.message.user .bubble').first().textContent();
  check(sendFocused && focused === 'Send' && user === 'Hello! Please **introduce** yourself.' && reply.length > 0 &&
        /tok\/s/.test(meta) && (await message.inputValue()) === '',
        `keyboard chat: Tab reached "${focused}", Enter sent; reply ${reply.length} chars, "${meta}"`);

  // The markdown renderer escapes HTML before adding its own tags.
  const rendered = await page.evaluate(async () => {
    const {renderMarkdown} = await import('/markdown.js');
    return renderMarkdown('**bold** <img src=x onerror=alert(1)> `a<b>` [x](javascript:alert(1))\n```\n<script>\n```');
  });
  check(rendered.includes('<strong>bold</strong>') && rendered.includes('&lt;img') && !rendered.includes('<img') &&
        rendered.includes('<code>a&lt;b&gt;</code>') && !rendered.includes('href="javascript') && rendered.includes('&lt;script&gt;'),
        `markdown renderer is safe: ${rendered.slice(0, 80)}...`);
  if (args.screenshot) {
    await page.waitForTimeout(300);  // buttons fade in when enabled
    await page.screenshot({path: args.screenshot});
  }
} finally {
  await browser.close();
  demo.kill();
}
finish('weblm demo serves a working chat page');
