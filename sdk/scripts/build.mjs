// Builds the package into sdk/dist: type declarations (tsc), ES module bundles (esbuild: the
// library and the Web Worker entry, each with js/weblm.mjs inside) and the wasm module's files
// (weblm.mjs/.wasm/.worker.js and weblm-st.mjs/.wasm, copied from a wasm build's dist/).
//   node sdk/scripts/build.mjs [--wasm-dist build-wasm/dist]
import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const sdk = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const root = path.resolve(sdk, '..');
const flag = process.argv.indexOf('--wasm-dist');
const wasmDist = path.resolve(flag > 0 ? process.argv[flag + 1] : path.join(root, 'build-wasm/dist'));
const WASM_FILES = ['weblm.mjs', 'weblm.wasm', 'weblm.worker.js', 'weblm-st.mjs', 'weblm-st.wasm'];
const missing = WASM_FILES.filter((f) => !fs.existsSync(path.join(wasmDist, f)));
if (missing.length) {
  console.error(`sdk build: ${wasmDist} lacks ${missing.join(', ')}: build the wasm module first ` +
                '(emcmake cmake -S . -B build-wasm -G Ninja && ninja -C build-wasm wasm)');
  process.exit(1);
}

const dist = path.join(sdk, 'dist');
fs.rmSync(dist, {recursive: true, force: true});
execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(sdk, 'tsconfig.json')],
             {stdio: 'inherit'});

const esbuild = await import('esbuild');
await esbuild.build({
  entryPoints: {index: path.join(sdk, 'src/index.ts'), worker: path.join(sdk, 'src/worker.ts'),
                'service-worker': path.join(sdk, 'src/service_worker.ts')},
  outdir: dist,
  bundle: true,
  format: 'esm',
  target: 'es2022',
  platform: 'neutral',
  external: ['node:*'],  // js/weblm.mjs imports Node built-ins only when running in Node
  alias: {'weblm-core': path.join(root, 'js/weblm.mjs'), 'weblm-core-st': path.join(wasmDist, 'weblm-st.mjs')},
  sourcemap: true,
  logLevel: 'warning',
});

fs.mkdirSync(path.join(dist, 'wasm'));
for (const f of WASM_FILES) fs.copyFileSync(path.join(wasmDist, f), path.join(dist, 'wasm', f));
// The pthread worker script is CommonJS; the package says "type": "module".
fs.writeFileSync(path.join(dist, 'wasm/package.json'), '{"type": "commonjs"}\n');
console.log(`sdk build: ${path.relative(root, dist)} (bundles, declarations, wasm from ${path.relative(root, wasmDist)})`);
