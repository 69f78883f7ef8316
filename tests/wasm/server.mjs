// A tiny static file server for browser tests and benchmarks: serves `roots` (URL prefix ->
// directory) on 127.0.0.1, with the cross-origin isolation headers wasm threads need
// (SharedArrayBuffer) unless `isolated` is false, byte ranges and HEAD (model loaders probe
// sizes and read ranges).
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

const TYPES = {'.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.cjs': 'text/javascript',
               '.wasm': 'application/wasm', '.json': 'application/json', '.gguf': 'application/octet-stream'};

// roots: {'/': dir, '/models/': dir}; pages: {'/bench.html': html} served from memory;
// onRequest(req) sees every request (tests count them). Resolves to {url, setIsolated(on), close()}.
export async function serve(roots, {isolated = true, pages = {}, onRequest} = {}) {
  const prefixes = Object.keys(roots).sort((a, b) => b.length - a.length);
  const state = {isolated};
  const isolation = () => (state.isolated ? {'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp'} : {});
  const server = http.createServer((req, res) => {
    onRequest?.(req);
    const url = new URL(req.url, 'http://x');
    if (pages[url.pathname] !== undefined) {
      res.writeHead(200, {'Content-Type': 'text/html', 'Cache-Control': 'no-store', ...isolation()}).end(pages[url.pathname]);
      return;
    }
    const prefix = prefixes.find((p) => url.pathname.startsWith(p));
    const dir = prefix && path.resolve(roots[prefix]);
    const file = prefix && path.join(dir, decodeURIComponent(url.pathname.slice(prefix.length)));
    if (!file || !file.startsWith(dir) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    const size = fs.statSync(file).size;
    const headers = {'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'Accept-Ranges': 'bytes',
                     'Cache-Control': 'no-store', 'Cross-Origin-Resource-Policy': 'same-origin', ...isolation()};
    const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
    let start = 0, end = size - 1, status = 200;
    if (range && (range[1] || range[2])) {
      start = range[1] ? Number(range[1]) : size - Number(range[2]);
      end = range[1] && range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
      if (start > end || start >= size) {
        res.writeHead(416, {'Content-Range': `bytes */${size}`}).end();
        return;
      }
      status = 206;
      headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    }
    headers['Content-Length'] = end - start + 1;
    res.writeHead(status, headers);
    if (req.method === 'HEAD') res.end();
    else fs.createReadStream(file, {start, end}).pipe(res);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    setIsolated(on) { state.isolated = on; },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

// Headless Chromium as ENVIRONMENT.md prescribes (no network, fresh profile), via playwright-core.
export async function launchChromium(extraArgs = []) {
  const {chromium} = await import('playwright-core');
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--no-first-run', '--disable-quic', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', ...extraArgs],
  });
}
