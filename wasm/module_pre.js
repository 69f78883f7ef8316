// Prepended inside the module factory (--pre-js). Emscripten 3.1.6's ES module output still
// calls CommonJS's require() and __dirname under Node, which ES modules lack: derive them from
// the module's URL (_scriptDir = import.meta.url, which Emscripten's optimizer cannot parse
// here; process.getBuiltinModule needs Node >= 20.16). A pthread worker in Node already has a
// global require (worker.js sets it).
if (typeof process == 'object' && typeof process.getBuiltinModule == 'function') {
  var require = globalThis.require || process.getBuiltinModule('module').createRequire(_scriptDir);
  var __dirname = process.getBuiltinModule('path').dirname(process.getBuiltinModule('url').fileURLToPath(_scriptDir));
}
