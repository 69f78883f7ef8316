// What the browser test runs, in a page or a Web Worker: load the wasm module and a model from
// the test server, return the logits of every position (CPU or WebGPU backend).
import {requestGpuDevice, responseSource, Weblm} from '/js/weblm.mjs';

const modules = new Map();  // one module per thread setup and backend, reused across models

async function loadModule({threads, singleThread, backend}) {
  if (backend !== 'webgpu') return Weblm.load({threads, singleThread});
  const {device, reason} = await requestGpuDevice();
  if (!device) throw new Error(`WebGPU: ${reason}`);
  return Weblm.load({threads, singleThread, webgpuDevice: device});
}

export async function runLogits({model, ids, threads, nBatch = 512, decode = false, singleThread = false, backend = 'cpu'}) {
  const key = `${threads}/${singleThread}/${backend}`;
  if (!modules.has(key)) modules.set(key, await loadModule({threads, singleThread, backend}));
  const weblm = modules.get(key);
  const session = await weblm.loadModel(responseSource(await fetch(model)),
                                        {backend, nCtx: ids.length, nBatch: decode ? 1 : nBatch, name: model});
  try {
    const logits = await session.prefill(session.createSequence(), ids, {allLogits: true});
    return {logits: Array.from(logits), info: session.info, build: weblm.build, isolated: globalThis.crossOriginIsolated};
  } finally {
    session.dispose();
  }
}
