// The cross-backend op test: every case of the native reference driver (every op, every weight
// type, several shapes) on WebGPU (Dawn in Node; SwiftShader without a GPU), on WebGPU "plain"
// (no subgroups: the kernels every device runs; weights split across 16 KiB buffers), and on the
// WASM CPU backend, each against the native CPU backend's output under the tolerances stated in
// op_cases.cpp.
//   node tests/webgpu/op_test.mjs --reference build/tests/webgpu/webgpu_op_reference \
//        --module build-wasm-gpu/tests/webgpu/webgpu_op_test.js --work DIR [--only SUBSTRING]
import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import {createRequire} from 'node:module';
import path from 'node:path';
import {requestGpuDevice} from '../../js/weblm.mjs';
import {openWebGpu} from './webgpu_node.mjs';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) =>
  a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc, []));
for (const need of ['reference', 'module', 'work']) if (!args[need]) throw new Error(`--${need} is required`);
fs.mkdirSync(args.work, {recursive: true});

const gpu = await openWebGpu();
const casesFile = path.join(args.work, 'op_cases.bin');
execFileSync(args.reference, [casesFile], {stdio: 'inherit'});

const {device, reason} = await requestGpuDevice(gpu);
if (!device) throw new Error(reason);
const createModule = createRequire(import.meta.url)(path.resolve(args.module));
// Emscripten 3.1.6 cannot fetch a file path in Node: hand it the wasm bytes.
const wasmBinary = fs.readFileSync(path.resolve(args.module).replace(/\.js$/, '.wasm'));
const M = await createModule({webgpuDevice: device, wasmBinary});

const text = (ptr) => M.UTF8ToString(ptr);
const json = (ptr) => (text(ptr) ? JSON.parse(text(ptr)) : {});
const bytes = fs.readFileSync(casesFile);
const ptr = M._malloc(bytes.length);
M.HEAPU8.set(bytes, ptr);
const n = M._op_test_load(ptr, bytes.length);
if (n < 0) throw new Error(`cannot load the cases: ${text(M._op_test_error())}`);

const KINDS = [['webgpu', 0], ['webgpu plain+split', 1], ['wasm cpu', 2]];
for (const [label, kind] of KINDS) {
  const opened = json(M._op_test_open(kind));
  if (opened.error) throw new Error(`${label}: ${opened.error}`);
  console.log(`${label}: ${opened.name}`);
}

let failures = 0;
const start = performance.now();
const rows = [];
for (let i = 0; i < n; i++) {
  const name = text(M._op_test_case_name(i));
  if (args.only && !name.includes(args.only)) continue;
  const cells = [];
  for (const [label, kind] of KINDS) {
    const submitted = text(M._op_test_submit(kind, i));
    let verdict = submitted ? JSON.parse(submitted) : null;
    if (!verdict) {
      while (!M._op_test_ready(kind)) await M.weblmBackendIdle();
      verdict = json(M._op_test_check(kind, i));
    }
    if (verdict.error || !(verdict.worst <= 1)) {
      failures++;
      console.error(`FAIL ${name} on ${label}: ` + (verdict.error ??
          `output ${verdict.index} is ${verdict.got}, ${verdict.against} says ${verdict.want} ` +
          `(${verdict.worst.toFixed(2)} x the tolerance ${verdict.tolerance})`));
    }
    cells.push(verdict.error ? 'error' : verdict.worst.toFixed(3));
  }
  rows.push([name, ...cells]);
}
const width = Math.max(...rows.map((r) => r[0].length));
console.log(`${'case'.padEnd(width)}  ${KINDS.map(([l]) => l.padStart(20)).join('')}   (worst |difference| / tolerance)`);
for (const [name, ...cells] of rows) console.log(`${name.padEnd(width)}  ${cells.map((c) => c.padStart(20)).join('')}`);
console.log(`${rows.length} cases in ${((performance.now() - start) / 1000).toFixed(1)} s, ${failures} failure(s)`);

// A lost device must turn into an Error naming the loss, never into results.
device.destroy();
await device.lost;
const afterLoss = json(M._op_test_submit(0, 0));
if (!/device lost/.test(afterLoss.error ?? '')) {
  failures++;
  console.error(`FAIL after device.destroy(), a pass gave ${JSON.stringify(afterLoss)} instead of a device-lost Error`);
} else {
  console.log(`after device.destroy(): ${afterLoss.error}`);
}
process.exit(failures ? 1 : 0);
