// Compiles every kernel of the WebGPU backend with Tint (Dawn's Null backend: no GPU, no driver)
// and creates a pipeline for each entry point. Any error or warning fails, printed as
// file.wgsl:line:column with the message.
//   node tests/webgpu/validate_wgsl.mjs
import {create, globals} from 'webgpu';
import {kernels} from './wgsl_sources.mjs';

Object.assign(globalThis, globals);
const gpu = create(['backend=null']);
const adapter = await gpu.requestAdapter();
if (!adapter) throw new Error('Dawn offers no Null adapter');
// Kernels for optional features (`enable subgroups;`) need them on the device.
const device = await adapter.requestDevice({
  requiredFeatures: ['subgroups', 'shader-f16'].filter((f) => adapter.features.has(f)),
});
if (!device.features.has('subgroups')) throw new Error("Dawn's Null adapter offers no 'subgroups' feature");

let problems = 0;
let entryPoints = 0;
const all = kernels();
for (const k of all) {
  device.pushErrorScope('validation');  // the same errors as getCompilationInfo, unprinted
  const module = device.createShaderModule({code: k.source, label: k.name});
  await device.popErrorScope();
  const info = await module.getCompilationInfo();
  for (const m of info.messages) {
    console.error(`${k.origin(m.lineNum)}:${m.linePos}: ${m.type}: ${m.message}  (in kernel ${k.name})`);
    problems++;
  }
  if (info.messages.some((m) => m.type === 'error')) continue;
  for (const [, entry] of k.source.matchAll(/@compute[^\n]*\n\s*fn\s+(\w+)/g)) {
    device.pushErrorScope('validation');
    device.createComputePipeline({layout: 'auto', compute: {module, entryPoint: entry}});
    const error = await device.popErrorScope();
    if (error) {
      console.error(`${k.name}.wgsl (entry point ${entry}): ${error.message}`);
      problems++;
    }
    entryPoints++;
  }
}
if (problems) {
  console.error(`WGSL validation: ${problems} problem(s)`);
  process.exit(1);
}
console.log(`WGSL validation: ${all.length} kernels, ${entryPoints} entry points compile with Tint`);
process.exit(0);
