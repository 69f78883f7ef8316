// The WebGPU backend's bridge from wasm to today's WebGPU JavaScript API (an Emscripten
// --js-library), so one implementation serves browsers and Node (npm `webgpu`, Dawn).
// C++ side: src/backend/webgpu/gpu_bridge.h. Handles are small integers; C++ records a pass as
// a stream of u32 words that weblm_gpu_submit encodes into one command buffer:
//   1 dispatch  [1, pipeline, uniform offset, x, y, z, n, buffer handle per binding (n)]
//   2 copy      [2, src, src offset, dst, dst offset, bytes]
//   3 write     [3, dst, dst offset, bytes, heap pointer]   (in order with the dispatches)
// The host hands a GPUDevice over as Module.webgpuDevice (js/weblm.mjs's requestGpuDevice asks
// the adapter for its full buffer limits) and, after a submit, awaits Module.weblmBackendIdle()
// before collecting results: a GPU read cannot block in wasm.
// Every call runs on the thread that owns the device (the one that calls into the engine).
// Errors (validation, out of memory, device loss) are kept as a message that C++ turns into a
// weblm::Error; nothing here throws into wasm.

mergeInto(LibraryManager.library, {
  $WebGpu: {
    IDLE: 0,
    RUNNING: 1,
    FAILED: 2,
    buffers: [null],      // handle -> GPUBuffer
    pipelines: [null],    // handle -> {pipeline, layout, bindings, label}
    perDevice: null,      // device -> {modules: source -> GPUShaderModule, pipelines: key -> handle}
    bindGroups: null,     // (Maps are made in the postset: Emscripten writes this object out as a literal)
    contexts: [null],     // handle -> {device, status, failure, done, checks}

    fail: function(ctx, message) {
      if (!ctx.failure) ctx.failure = message;
      ctx.status = WebGpu.FAILED;
    },

    // Runs `create` inside error scopes; their verdict joins the context's pending checks.
    scoped: function(ctx, what, create) {
      const device = ctx.device;
      device.pushErrorScope('out-of-memory');
      device.pushErrorScope('validation');
      let result = null;
      try {
        result = create();
      } catch (e) {
        WebGpu.fail(ctx, 'WebGPU ' + what + ': ' + e.name + ' ' + e.message);
      }
      for (let i = 0; i < 2; i++) {
        ctx.checks.push(device.popErrorScope().then(function(error) {
          if (!error) return;
          const kind = (typeof GPUOutOfMemoryError != 'undefined' && error instanceof GPUOutOfMemoryError)
              ? 'out of memory' : 'error';
          WebGpu.fail(ctx, 'WebGPU ' + kind + ' in ' + what + ': ' + error.message);
        }, function(e) { WebGpu.fail(ctx, 'WebGPU ' + what + ': ' + e.message); }));
      }
      return result;
    },

    // "1w3r" -> bindings [0, 1, 3] and their layout: 0 is always the parameters (a uniform
    // block at a dynamic offset), then storage buffers, r read-only, w read-write.
    layoutOf: function(device, spec) {
      const entries = [{binding: 0, visibility: GPUShaderStage.COMPUTE,
                        buffer: {type: 'uniform', hasDynamicOffset: true}}];
      for (let i = 0; i < spec.length; i += 2) {
        entries.push({binding: Number(spec[i]), visibility: GPUShaderStage.COMPUTE,
                      buffer: {type: spec[i + 1] == 'w' ? 'storage' : 'read-only-storage'}});
      }
      return {layout: device.createBindGroupLayout({entries: entries}), bindings: entries.map(function(e) {
        return e.binding;
      })};
    },

    PARAMS_BYTES: 256,

    bindGroup: function(device, pipelineHandle, handles) {
      const key = pipelineHandle + ':' + handles.join(',');
      let group = WebGpu.bindGroups.get(key);
      if (!group) {
        const p = WebGpu.pipelines[pipelineHandle];
        group = device.createBindGroup({layout: p.layout, entries: p.bindings.map(function(binding, i) {
          const buffer = WebGpu.buffers[handles[i]];
          return {binding: binding, resource: i == 0 ? {buffer: buffer, size: WebGpu.PARAMS_BYTES} : {buffer: buffer}};
        })});
        WebGpu.bindGroups.set(key, group);
      }
      return group;
    },

    // Kernel times for benches: when the host sets device.weblmProfile = {} on a device with
    // 'timestamp-query', each dispatch runs in a compute pass of its own between two timestamps,
    // and weblmProfile[pipeline label] accumulates {ms, dispatches} once the pass is done.
    profiler: function(device, w, words) {
      const profile = device['weblmProfile'];
      if (!profile || !device.features.has('timestamp-query')) return null;
      let dispatches = 0;
      for (let i = 0; i < words; i += w[i] == 1 ? 7 + w[i + 6] : w[i] == 2 ? 6 : 5) dispatches += w[i] == 1 ? 1 : 0;
      if (dispatches == 0) return null;
      return {profile: profile, labels: [], querySet: device.createQuerySet({type: 'timestamp', count: 2 * dispatches})};
    },

    profiledPass: function(encoder, profiler, label) {
      const at = 2 * profiler.labels.length;
      profiler.labels.push(label);
      return encoder.beginComputePass({timestampWrites: {querySet: profiler.querySet, beginningOfPassWriteIndex: at,
                                                         endOfPassWriteIndex: at + 1}});
    },

    // Appends the copy of the timestamps to `encoder`; returns what collects them after submit.
    profileReadback: function(device, encoder, profiler) {
      const bytes = 16 * profiler.labels.length;
      const resolved = device.createBuffer({size: bytes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC});
      const read = device.createBuffer({size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST});
      encoder.resolveQuerySet(profiler.querySet, 0, 2 * profiler.labels.length, resolved, 0);
      encoder.copyBufferToBuffer(resolved, 0, read, 0, bytes);
      return function() {
        return read.mapAsync(GPUMapMode.READ).then(function() {
          const t = new BigInt64Array(read.getMappedRange());
          profiler.labels.forEach(function(label, k) {
            const entry = profiler.profile[label] || (profiler.profile[label] = {ms: 0, dispatches: 0});
            entry.ms += Number(t[2 * k + 1] - t[2 * k]) / 1e6;
            entry.dispatches++;
          });
          read.destroy();
          resolved.destroy();
          profiler.querySet.destroy();
        });
      };
    },

    idle: function() {
      return Promise.all(WebGpu.contexts.filter(Boolean).map(function(ctx) { return ctx.done; }));
    },
  },
  $WebGpu__postset: "WebGpu.bindGroups = new Map(); WebGpu.perDevice = new WeakMap();\n" +
                    "Module['weblmBackendIdle'] = function() { return WebGpu.idle(); };",

  // A context on Module.webgpuDevice; 0 when the host handed none over. Fills limits (f64):
  // maxStorageBufferBindingSize, maxBufferSize, minUniformBufferOffsetAlignment,
  // maxComputeWorkgroupsPerDimension, features (1 shader-f16, 2 subgroups).
  weblm_gpu_open__deps: ['$WebGpu'],
  weblm_gpu_open: function(limitsPtr) {
    limitsPtr >>>= 0;  // pointers and sizes arrive as signed i32: past 2 GiB they would be negative
    const device = Module['webgpuDevice'];
    if (!device || typeof device.createBuffer != 'function') return 0;
    const ctx = {device: device, status: WebGpu.IDLE, failure: null, done: Promise.resolve(), checks: []};
    device.lost.then(function(info) {
      WebGpu.fail(ctx, 'WebGPU device lost (' + info.reason + '): ' + info.message);
    });
    const l = device.limits;
    const out = limitsPtr >> 3;
    HEAPF64[out] = l.maxStorageBufferBindingSize;
    HEAPF64[out + 1] = l.maxBufferSize;
    HEAPF64[out + 2] = l.minUniformBufferOffsetAlignment;
    HEAPF64[out + 3] = l.maxComputeWorkgroupsPerDimension;
    HEAPF64[out + 4] = (device.features.has('shader-f16') ? 1 : 0) | (device.features.has('subgroups') ? 2 : 0);
    WebGpu.contexts.push(ctx);
    return WebGpu.contexts.length - 1;
  },

  weblm_gpu_close__deps: ['$WebGpu'],
  weblm_gpu_close: function(ctx) {
    WebGpu.contexts[ctx] = null;
  },

  weblm_gpu_adapter_name__deps: ['$WebGpu'],
  weblm_gpu_adapter_name: function(ctx, out, capacity) {
    const device = WebGpu.contexts[ctx].device;
    const info = device.adapterInfo || {};
    stringToUTF8([info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unnamed adapter',
                 out, capacity);
  },

  // usage 0: storage (copy source and destination), 1: uniform, 2: readback (map for reading).
  // Storage buffers are created mapped so that an allocation failure shows at once; the first
  // init_bytes come from the heap at init, the rest are zero. 0 on failure (see weblm_gpu_error).
  weblm_gpu_create_buffer__deps: ['$WebGpu'],
  weblm_gpu_create_buffer: function(ctx, size, usage, init, initBytes) {
    size >>>= 0;
    init >>>= 0;
    initBytes >>>= 0;
    const c = WebGpu.contexts[ctx];
    const flags = [GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
                   GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
                   GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST][usage];
    const buffer = WebGpu.scoped(c, 'creating a buffer of ' + size + ' bytes', function() {
      const b = c.device.createBuffer({size: size, usage: flags, mappedAtCreation: usage == 0});
      if (usage == 0) {
        if (initBytes > 0) new Uint8Array(b.getMappedRange()).set(HEAPU8.subarray(init, init + initBytes));
        b.unmap();
      }
      return b;
    });
    if (!buffer || c.failure) return 0;
    WebGpu.buffers.push(buffer);
    return WebGpu.buffers.length - 1;
  },

  weblm_gpu_destroy_buffer__deps: ['$WebGpu'],
  weblm_gpu_destroy_buffer: function(handle) {
    const buffer = WebGpu.buffers[handle];
    if (!buffer) return;
    buffer.destroy();
    WebGpu.buffers[handle] = null;
    WebGpu.bindGroups.forEach(function(group, key) {
      if (key.split(':')[1].split(',').indexOf(String(handle)) >= 0) WebGpu.bindGroups.delete(key);
    });
  },

  // constants: "NAME=value;NAME=value" (pipeline-overridable constants), may be empty.
  weblm_gpu_create_pipeline__deps: ['$WebGpu'],
  weblm_gpu_create_pipeline: function(ctx, sourcePtr, entryPtr, layoutPtr, constantsPtr, labelPtr) {
    const c = WebGpu.contexts[ctx];
    const code = UTF8ToString(sourcePtr);
    const entry = UTF8ToString(entryPtr);
    const label = UTF8ToString(labelPtr);
    const constants = {};
    UTF8ToString(constantsPtr).split(';').filter(Boolean).forEach(function(kv) {
      const parts = kv.split('=');
      constants[parts[0]] = Number(parts[1]);
    });
    let cache = WebGpu.perDevice.get(c.device);
    if (!cache) WebGpu.perDevice.set(c.device, cache = {modules: new Map(), pipelines: new Map()});
    const key = label + '|' + UTF8ToString(layoutPtr);
    if (cache.pipelines.has(key)) return cache.pipelines.get(key);
    const made = WebGpu.scoped(c, 'pipeline ' + label, function() {
      let module = cache.modules.get(code);
      if (!module) {
        module = c.device.createShaderModule({code: code, label: label});
        cache.modules.set(code, module);
      }
      const l = WebGpu.layoutOf(c.device, UTF8ToString(layoutPtr));
      const pipeline = c.device.createComputePipeline({
        label: label,
        layout: c.device.createPipelineLayout({bindGroupLayouts: [l.layout]}),
        compute: {module: module, entryPoint: entry, constants: constants},
      });
      return {pipeline: pipeline, layout: l.layout, bindings: l.bindings, label: label};
    });
    if (!made) return 0;
    WebGpu.pipelines.push(made);
    cache.pipelines.set(key, WebGpu.pipelines.length - 1);
    return WebGpu.pipelines.length - 1;
  },

  // Ordered before any later submit (the queue's order), after every earlier one.
  weblm_gpu_write_buffer__deps: ['$WebGpu'],
  weblm_gpu_write_buffer: function(ctx, handle, offset, data, bytes) {
    offset >>>= 0;
    data >>>= 0;
    bytes >>>= 0;
    const c = WebGpu.contexts[ctx];
    WebGpu.scoped(c, 'writing ' + bytes + ' bytes', function() {
      // A copy: with threads the heap is a SharedArrayBuffer, which Dawn's writeBuffer rejects.
      c.device.queue.writeBuffer(WebGpu.buffers[handle], offset, HEAPU8.slice(data, data + bytes));
    });
  },

  // Encodes the command stream into one command buffer and submits it; when readbackBytes > 0
  // the pass ends once the readback buffer's first bytes are copied to the heap at dst.
  weblm_gpu_submit__deps: ['$WebGpu'],
  weblm_gpu_submit: function(ctx, commandsPtr, words, readback, dst, readbackBytes) {
    commandsPtr >>>= 0;
    words >>>= 0;
    dst >>>= 0;
    readbackBytes >>>= 0;
    const c = WebGpu.contexts[ctx];
    if (c.failure) return;
    const device = c.device;
    const w = HEAPU32.subarray(commandsPtr >> 2, (commandsPtr >> 2) + words);
    const staging = [];
    WebGpu.scoped(c, 'a forward pass', function() {
      const encoder = device.createCommandEncoder();
      const profiler = WebGpu.profiler(device, w, words);
      let pass = null;
      for (let i = 0; i < words;) {
        const op = w[i];
        if (op == 1) {
          const n = w[i + 6];
          const handles = Array.from(w.subarray(i + 7, i + 7 + n));
          const pipeline = WebGpu.pipelines[w[i + 1]];
          if (profiler) pass = WebGpu.profiledPass(encoder, profiler, pipeline.label);
          else if (!pass) pass = encoder.beginComputePass();
          pass.setPipeline(pipeline.pipeline);
          pass.setBindGroup(0, WebGpu.bindGroup(device, w[i + 1], handles), [w[i + 2]]);
          pass.dispatchWorkgroups(w[i + 3], w[i + 4], w[i + 5]);
          if (profiler) {
            pass.end();
            pass = null;
          }
          i += 7 + n;
          continue;
        }
        if (pass) {
          pass.end();
          pass = null;
        }
        if (op == 2) {
          encoder.copyBufferToBuffer(WebGpu.buffers[w[i + 1]], w[i + 2], WebGpu.buffers[w[i + 3]], w[i + 4], w[i + 5]);
          i += 6;
        } else if (op == 3) {
          const bytes = w[i + 3];
          const src = device.createBuffer({size: (bytes + 3) & ~3, usage: GPUBufferUsage.COPY_SRC, mappedAtCreation: true});
          new Uint8Array(src.getMappedRange(0, bytes)).set(HEAPU8.subarray(w[i + 4], w[i + 4] + bytes));
          src.unmap();
          encoder.copyBufferToBuffer(src, 0, WebGpu.buffers[w[i + 1]], w[i + 2], bytes);
          staging.push(src);
          i += 5;
        } else {
          throw new Error('unknown command ' + op + ' at word ' + i);
        }
      }
      if (pass) pass.end();
      const collectProfile = profiler && WebGpu.profileReadback(device, encoder, profiler);
      device.queue.submit([encoder.finish()]);
      if (collectProfile) c.checks.push(collectProfile());
    });
    staging.forEach(function(b) { b.destroy(); });  // freed once the submitted copies are done
    if (readbackBytes == 0) return;  // its checks are awaited with the next pass that reads back
    const buffer = WebGpu.buffers[readback];
    const checks = c.checks;
    c.checks = [];
    c.status = WebGpu.RUNNING;
    c.done = Promise.all(checks.concat([buffer.mapAsync(GPUMapMode.READ, 0, readbackBytes)])).then(function() {
      if (c.failure) {
        buffer.unmap();
        return;
      }
      HEAPU8.set(new Uint8Array(buffer.getMappedRange(0, readbackBytes)), dst);
      buffer.unmap();
      c.status = WebGpu.IDLE;
    }).catch(function(e) {
      WebGpu.fail(c, 'WebGPU readback: ' + (e && e.message ? e.message : e));
    });
  },

  // 0 idle (the last pass is done), 1 running, 2 failed (weblm_gpu_error says why).
  weblm_gpu_status__deps: ['$WebGpu'],
  weblm_gpu_status: function(ctx) {
    const c = WebGpu.contexts[ctx];
    return c.failure ? WebGpu.FAILED : c.status;
  },

  weblm_gpu_error__deps: ['$WebGpu'],
  weblm_gpu_error: function(ctx, out, capacity) {
    stringToUTF8(WebGpu.contexts[ctx].failure || '', out, capacity);
  },
});
