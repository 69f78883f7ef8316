// Appended inside the module factory (--post-js): what the JS API (js/weblm.mjs) needs from
// Emscripten's private state.

// Heap views, renewed when memory grew since they were made (with threads, growth on a worker
// leaves this thread's views on the old, shorter buffer).
Module['heapViews'] = function() {
  if (wasmMemory.buffer != buffer) updateGlobalBufferAndViews(wasmMemory.buffer);
  return {u8: HEAPU8, i32: HEAP32, f32: HEAPF32};
};
