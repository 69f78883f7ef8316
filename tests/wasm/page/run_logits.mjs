// What the browser test runs, in a page or a Web Worker: load the wasm module and a model from
// the test server, return the logits of every position (CPU backend).
import {responseSource, Weblm} from '/js/weblm.mjs';

const modules = new Map();  // one module per thread setup, reused across models

export async function runLogits({model, ids, threads, nBatch = 512, decode = false, singleThread = false}) {
  const key = `${threads}/${singleThread}`;
  if (!modules.has(key)) modules.set(key, await Weblm.load({threads, singleThread}));
  const weblm = modules.get(key);
  const session = await weblm.loadModel(responseSource(await fetch(model)),
                                        {backend: 'cpu', nCtx: ids.length, nBatch: decode ? 1 : nBatch, name: model});
  try {
    const logits = await session.prefill(session.createSequence(), ids, {allLogits: true});
    return {logits: Array.from(logits), info: session.info, build: weblm.build, isolated: globalThis.crossOriginIsolated};
  } finally {
    session.dispose();
  }
}
