// The JS API of the weblm wasm module, for browsers (page or Web Worker) and Node 20.
//
//   const weblm = await Weblm.load({threads: 4});                 // instantiates the module
//   const session = await weblm.loadModel(fileSource(size, chunks), {backend: 'auto'});
//   console.log(session.info.backend, session.info.backend_reason);
//   const stats = await session.generate({prompt: 'Hello', maxTokens: 32}, (token, text) => ...);
//
// Two builds of the module sit in one directory (build-wasm/dist): weblm.mjs (pthreads; needs
// SharedArrayBuffer, i.e. cross-origin isolation in browsers) and weblm-st.mjs (one thread).
// load() takes the threaded one wherever it can run.
//
// A forward pass is submitted, then awaited, then collected: the CPU backend is done at once;
// a WebGPU pass finishes while the JS event loop runs (its bridge, wasm/webgpu_bridge.js, sets
// Module.weblmBackendIdle to a function returning a promise of that moment; without one the
// loop polls every macrotask).

const LOGITS_MODE = {none: 0, last: 1, all: 2};
const isNode = typeof process === 'object' && typeof process.versions?.node === 'string';

// Threads this machine offers to a page or process.
export async function hardwareThreads() {
  if (isNode) return (await import('node:os')).availableParallelism();
  return globalThis.navigator?.hardwareConcurrency || 1;
}

// Whether the threaded build can run here (shared memory: Node, or a cross-origin isolated page
// or worker that can start workers; a Service Worker cannot).
export function threadsAvailable() {
  return typeof SharedArrayBuffer === 'function' &&
         (isNode || (globalThis.crossOriginIsolated === true && typeof globalThis.Worker === 'function'));
}

// A GGUF to stream into the module: its size and its bytes in chunks of any size; `parts`: the
// sizes of its files when it comes as several (a gguf-split model, or pieces of one file).
export function fileSource(size, chunks, parts) {
  return {size, chunks, ...(parts && {parts})};
}

// A GGUF from a fetch() Response, streamed (the server must send Content-Length).
export function responseSource(response) {
  if (!response.ok) throw new Error(`fetching the model failed: HTTP ${response.status} ${response.statusText}`);
  const size = Number(response.headers.get('content-length'));
  if (!(size > 0)) throw new Error('the model response has no Content-Length; pass fileSource(size, chunks) instead');
  return fileSource(size, (async function* () {
    const reader = response.body.getReader();
    for (;;) {
      const {done, value} = await reader.read();
      if (done) return;
      yield value;
    }
  })());
}

// A GGUF file in Node, read in 16 MiB chunks.
export async function nodeFileSource(path) {
  const fs = await import('node:fs/promises');
  const handle = await fs.open(path, 'r');
  const {size} = await handle.stat();
  return fileSource(size, (async function* () {
    try {
      const buffer = new Uint8Array(16 << 20);
      for (let pos = 0; pos < size;) {
        const {bytesRead} = await handle.read(buffer, 0, Math.min(buffer.length, size - pos), pos);
        if (bytesRead === 0) throw new Error(`${path}: file ended at byte ${pos} of ${size}`);
        yield buffer.subarray(0, bytesRead);
        pos += bytesRead;
      }
    } finally {
      await handle.close();
    }
  })());
}

// Asks a WebGPU implementation (navigator.gpu in browsers, npm `webgpu`'s create() in Node) for
// a device with the adapter's full buffer limits and the features kernels can use.
// Returns {device} or {device: null, reason}.
export async function requestGpuDevice(gpu = globalThis.navigator?.gpu) {
  if (!gpu) return {device: null, reason: 'this environment has no WebGPU (navigator.gpu)'};
  const adapter = await gpu.requestAdapter({powerPreference: 'high-performance'});
  if (!adapter) return {device: null, reason: 'no WebGPU adapter'};
  const wanted = ['shader-f16', 'subgroups', 'timestamp-query'];
  const requiredFeatures = wanted.filter((f) => adapter.features.has(f));
  const limits = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures,
    requiredLimits: {
      maxBufferSize: limits.maxBufferSize,
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
      maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
    },
  });
  gpuOfDevice.set(device, gpu);
  return {device};
}
// A device keeps the GPU object it came from alive: in Node, npm `webgpu`'s GPU object owns the
// Dawn instance, and collecting it while its device runs kills the process (futex errors).
const gpuOfDevice = new WeakMap();

export class Weblm {
  #module;

  // options.dist: URL of the directory holding the module's files (default: build-wasm/dist of
  //   this repository).
  // options.threads: CPU threads (default: all the machine's); 1 without cross-origin isolation.
  //   One thread loads the single-thread build.
  // options.singleThread: force the single-thread build.
  // options.webgpuDevice: a GPUDevice for the WebGPU backend (see requestGpuDevice); or set
  //   weblm.webgpuDevice later, before loadModel.
  // options.singleThreadFactory: the single-thread build's module factory (weblm-st.mjs's default
  //   export), imported statically by the caller: a Service Worker cannot import() at run time.
  //   Its .wasm is still found in options.dist.
  static async load(options = {}) {
    const dist = new URL(options.dist ?? '../build-wasm/dist/', import.meta.url);
    if (!dist.href.endsWith('/')) dist.href += '/';
    const threads = options.singleThread || !threadsAvailable() ? 1 : Math.max(1, options.threads ?? await hardwareThreads());
    // One thread needs no worker pool, and the threaded build cannot start with an empty one.
    const threaded = threads > 1;
    const name = threaded ? 'weblm' : 'weblm-st';
    const moduleOptions = {weblmPoolSize: threads - 1};
    if (options.webgpuDevice) moduleOptions.webgpuDevice = options.webgpuDevice;
    if (isNode) {
      // Emscripten 3.1.6 cannot fetch file: URLs in Node; hand it the bytes.
      const fs = await import('node:fs/promises');
      moduleOptions.wasmBinary = await fs.readFile(new URL(`${name}.wasm`, dist));
    }
    let create;
    if (!threaded && options.singleThreadFactory) {
      create = options.singleThreadFactory;
      moduleOptions.locateFile = (file) => new URL(file, dist).href;
    } else {
      ({default: create} = await import(new URL(`${name}.mjs`, dist).href));
    }
    return new Weblm(await create(moduleOptions), {threads, threaded, build: name});
  }

  constructor(module, {threads, threaded, build}) {
    this.#module = module;
    this.threads = threads;
    this.threaded = threaded;
    this.build = build;
    // {webgpu: whether this build has the WebGPU backend, threads}
    this.buildInfo = JSON.parse(module.UTF8ToString(module._weblm_build_info()));
  }

  // The GPUDevice the WebGPU backend runs on (Module.webgpuDevice, which the backend reads when a
  // model is loaded).
  get webgpuDevice() {
    return this.#module.webgpuDevice;
  }

  set webgpuDevice(device) {
    this.#module.webgpuDevice = device;
  }

  // source: fileSource / responseSource / nodeFileSource, or a Uint8Array.
  // options: backend ('auto' | 'cpu' | 'webgpu'), nCtx (0 = min(4096, the model's)), nBatch,
  //   nSeqMax, threads (<= the module's), name (for messages).
  async loadModel(source, options = {}) {
    if (source instanceof Uint8Array) source = fileSource(source.length, [source]);
    const m = this.#module;
    const threads = options.threads ?? this.threads;
    if (threads > this.threads)
      throw new Error(`${threads} threads asked for, but the module was loaded with ${this.threads} (Weblm.load({threads}))`);
    const file = m._malloc(source.size) >>> 0;
    if (!file) throw new Error(`cannot allocate ${source.size} bytes for the model in wasm memory (at most 4 GiB)`);
    let filled = 0;
    try {
      for await (const chunk of source.chunks) {
        if (filled + chunk.length > source.size) throw new Error(`the model has more than the announced ${source.size} bytes`);
        m.heapViews().u8.set(chunk, file + filled);
        filled += chunk.length;
      }
      if (filled !== source.size) throw new Error(`the model ended after ${filled} of ${source.size} bytes`);
    } catch (e) {
      m._free(file);
      throw e;
    }
    const json = JSON.stringify({
      backend: options.backend ?? 'auto', threads, name: options.name ?? 'model.gguf',
      ...(options.nCtx !== undefined && {n_ctx: options.nCtx}),
      ...(options.nBatch !== undefined && {n_batch: options.nBatch}),
      ...(options.nSeqMax !== undefined && {n_seq_max: options.nSeqMax}),
      ...(source.parts?.length > 1 && {parts: source.parts}),
    });
    const handle = this.withString(json, (p) => m._weblm_session_create(file, source.size, p)) >>> 0;
    if (!handle) this.#fail();
    return new Session(this, handle);
  }

  // --- plumbing shared with Session ---------------------------------------------------------
  get module() {
    return this.#module;
  }

  #fail() {
    throw new Error(this.#module.UTF8ToString(this.#module._weblm_last_error()));
  }

  // Throws the module's last error when `result` says the call failed (-1 or a null pointer).
  check(result, failed = -1) {
    if (result === failed) this.#fail();
    return result;
  }

  checkPointer(ptr) {
    return this.check(ptr >>> 0, 0);
  }

  // Calls fn(ptr) with `text` as a NUL-terminated UTF-8 string in wasm memory.
  withString(text, fn) {
    const bytes = new TextEncoder().encode(text);
    const ptr = this.#module._malloc(bytes.length + 1) >>> 0;
    const u8 = this.#module.heapViews().u8;
    u8.set(bytes, ptr);
    u8[ptr + bytes.length] = 0;
    try {
      return fn(ptr);
    } finally {
      this.#module._free(ptr);
    }
  }

  // Calls fn(ptr) with `ids` as int32 in wasm memory.
  withInts(ids, fn) {
    const ptr = this.#module._malloc(Math.max(4, ids.length * 4)) >>> 0;
    this.#module.heapViews().i32.set(ids, ptr >>> 2);
    try {
      return fn(ptr);
    } finally {
      this.#module._free(ptr);
    }
  }

  string(ptr) {
    return this.#module.UTF8ToString(this.checkPointer(ptr));
  }

  // `size` bytes at ptr as UTF-8 (they may hold NUL, which C strings cannot); `size` -1 throws
  // the module's error.
  bytesString(size, ptr) {
    this.check(size);
    const start = ptr >>> 0;
    // TextDecoder refuses views of shared memory: copy first.
    return new TextDecoder().decode(this.#module.heapViews().u8.slice(start, start + size));
  }
}

// One model in the module: tokenizer, sequences (each its own KV history), forward passes,
// generation and a benchmark.
export class Session {
  #weblm;
  #m;
  #h;

  constructor(weblm, handle) {
    this.#weblm = weblm;
    this.#m = weblm.module;
    this.#h = handle;
    // backend ('cpu' | 'webgpu'), backend_name, backend_reason, threads, arch, n_vocab, n_ctx,
    // n_batch, bos, eos, add_bos, chat_template, ...
    this.info = JSON.parse(weblm.string(this.#m._weblm_session_info(handle)));
  }

  dispose() {
    if (this.#h) this.#m._weblm_session_destroy(this.#h);
    this.#h = 0;
  }

  get nVocab() {
    return this.info.n_vocab;
  }

  // Token ids of `text`; addSpecial adds BOS where the model wants one.
  tokenize(text, {addSpecial = true, parseSpecial = true} = {}) {
    const n = this.#weblm.check(
        this.#weblm.withString(text, (p) => this.#m._weblm_tokenize(this.#h, p, addSpecial ? 1 : 0, parseSpecial ? 1 : 0)));
    const ptr = this.#m._weblm_ids(this.#h) >>> 0;
    return Array.from(this.#m.heapViews().i32.subarray(ptr >>> 2, (ptr >>> 2) + n));
  }

  detokenize(ids, {renderSpecial = false} = {}) {
    const size = this.#weblm.withInts(ids, (p) => this.#m._weblm_detokenize(this.#h, p, ids.length, renderSpecial ? 1 : 0));
    return this.#weblm.bytesString(size, this.#m._weblm_text(this.#h));
  }

  isEndOfGeneration(token) {
    return this.#m._weblm_is_end_of_generation(this.#h, token) === 1;
  }

  createSequence() {
    return this.#weblm.check(this.#m._weblm_seq_create(this.#h));
  }

  releaseSequence(seq) {
    this.#weblm.check(this.#m._weblm_seq_release(this.#h, seq));
  }

  sequenceLength(seq) {
    return this.#weblm.check(this.#m._weblm_seq_length(this.#h, seq));
  }

  truncateSequence(seq, length) {
    this.#weblm.check(this.#m._weblm_seq_truncate(this.#h, seq, length));
  }

  // One forward pass appending `ids` (at most n_batch) to `seq`; resolves to the wanted logits,
  // [rows][n_vocab] flattened, as a Float32Array copy.
  async forward(seq, ids, logits = 'last') {
    const {ptr, rows} = await this.#forwardInPlace(seq, ids, logits);
    return this.#copyLogits(ptr, rows);
  }

  // A prompt of any length in chunks of n_batch; resolves to the last token's logits, or every
  // token's with {allLogits: true}.
  async prefill(seq, ids, {allLogits = false} = {}) {
    if (!allLogits) {
      const {ptr, rows} = await this.#prefillInPlace(seq, ids);
      return this.#copyLogits(ptr, rows);
    }
    const out = new Float32Array(ids.length * this.nVocab);
    let at = 0;
    await this.#prefillInPlace(seq, ids, ({ptr, rows}) => {
      out.set(this.#logitsView(ptr, rows), at);
      at += rows * this.nVocab;
    });
    return out;
  }

  // Generates from request.prompt (text, or ids), calling onToken(token, text) for each token
  // (return false to stop). request: maxTokens (default 128, < 0 until the context is full),
  // sampling ({temperature, top_k, top_p, min_p, repeat_penalty, repeat_last_n,
  // frequency_penalty, presence_penalty, seed, logit_bias}), ignoreEos, seq (default: a new
  // sequence, released at the end). Resolves to {promptTokens, generatedTokens, promptMs,
  // decodeMs, finish: 'stop' | 'length', text}.
  async generate(request, onToken = () => true) {
    const prompt = typeof request.prompt === 'string' ? this.tokenize(request.prompt) : request.prompt;
    if (!prompt?.length) throw new Error('the prompt is empty');
    const maxTokens = request.maxTokens ?? 128;
    const ownSeq = request.seq === undefined;
    const seq = ownSeq ? this.createSequence() : request.seq;
    const sampler = this.#weblm.checkPointer(
        this.#weblm.withString(JSON.stringify(request.sampling ?? {}), (p) => this.#m._weblm_sampler_create(this.#h, p)));
    const stats = {promptTokens: prompt.length, generatedTokens: 0, promptMs: 0, decodeMs: 0, finish: 'length', text: ''};
    try {
      for (const t of prompt) this.#m._weblm_sampler_accept(sampler, t);
      const start = performance.now();
      let {ptr} = await this.#prefillInPlace(seq, prompt);
      stats.promptMs = performance.now() - start;
      const decodeStart = performance.now();
      while (maxTokens < 0 || stats.generatedTokens < maxTokens) {
        const token = this.#weblm.check(this.#m._weblm_sampler_sample(sampler, ptr));
        if (!request.ignoreEos && this.isEndOfGeneration(token)) {
          stats.finish = 'stop';
          break;
        }
        this.#m._weblm_sampler_accept(sampler, token);
        stats.generatedTokens++;
        const text = this.#weblm.bytesString(this.#m._weblm_sampler_text(sampler, token), this.#m._weblm_sampler_text_data(sampler));
        stats.text += text;
        if (onToken(token, text) === false) {
          stats.finish = 'stop';
          break;
        }
        if (this.sequenceLength(seq) >= this.info.n_ctx) break;  // context full: 'length'
        if (maxTokens >= 0 && stats.generatedTokens >= maxTokens) break;
        ({ptr} = await this.#forwardInPlace(seq, [token], 'last'));
      }
      const rest = this.#weblm.bytesString(this.#m._weblm_sampler_text_finish(sampler), this.#m._weblm_sampler_text_data(sampler));
      if (rest) {
        stats.text += rest;
        onToken(-1, rest);
      }
      stats.decodeMs = performance.now() - decodeStart;
      return stats;
    } finally {
      this.#m._weblm_sampler_destroy(sampler);
      if (ownSeq) this.releaseSequence(seq);
    }
  }

  // Same measurement as the native `weblm bench`: a prompt of nPrompt tokens (or `prompt`, ids)
  // in chunks of n_batch, then nGen greedy tokens one pass each. The session needs
  // n_ctx > prompt + nGen.
  async bench({nPrompt = 512, nGen = 128, prompt} = {}) {
    prompt ??= Array.from({length: nPrompt}, (_, i) => (i * 7919 + 13) % this.nVocab);
    nPrompt = prompt.length;
    const seq = this.createSequence();
    const greedy = this.#weblm.checkPointer(
        this.#weblm.withString('{"temperature": 0}', (p) => this.#m._weblm_sampler_create(this.#h, p)));
    try {
      const t0 = performance.now();
      let {ptr} = await this.#prefillInPlace(seq, prompt);
      const ppMs = performance.now() - t0;
      let token = this.#m._weblm_sampler_sample(greedy, ptr);
      const ttftMs = performance.now() - t0;
      const t1 = performance.now();
      for (let i = 0; i < nGen; i++) {
        ({ptr} = await this.#forwardInPlace(seq, [token], 'last'));
        token = this.#m._weblm_sampler_sample(greedy, ptr);
      }
      const tgMs = performance.now() - t1;
      return {backend: this.info.backend, threads: this.info.threads, n_prompt: nPrompt, n_gen: nGen,
              pp_tps: nPrompt / (ppMs / 1000), tg_tps: nGen / (tgMs / 1000), ttft_ms: ttftMs};
    } finally {
      this.#m._weblm_sampler_destroy(greedy);
      this.releaseSequence(seq);
    }
  }

  // The OpenAI-shaped chat service over this session (src/api/service.h). While it exists, use
  // the session only through it. options: {model_id, cached_sequences, speculation: 'none' |
  // 'ngram' | 'draft', draftSession (a CPU session of a smaller model with the same vocabulary,
  // kept open while the service lives), draft_max}.
  createService(options = {}) {
    const {draftSession, ...rest} = options;
    if (draftSession) rest.draft_session = draftSession.#h;
    const handle = this.#weblm.checkPointer(
        this.#weblm.withString(JSON.stringify(rest), (p) => this.#m._weblm_service_create(this.#h, p)));
    return new ChatService(this.#weblm, handle, () => this.#backendDone());
  }

  // --- internals ----------------------------------------------------------------------------

  // Resolves once the pass in flight is done.
  async #backendDone() {
    while (!this.#m._weblm_forward_ready(this.#h)) {
      const idle = this.#m.weblmBackendIdle;
      await (idle ? idle() : new Promise((resolve) => setTimeout(resolve, 0)));
    }
  }

  // Submits, awaits and collects one pass; the logits stay in wasm memory until the next pass.
  async #forwardInPlace(seq, ids, logits) {
    const mode = LOGITS_MODE[logits];
    if (mode === undefined) throw new Error(`logits must be 'none', 'last' or 'all', not '${logits}'`);
    const rows = this.#weblm.check(
        this.#weblm.withInts(ids, (p) => this.#m._weblm_forward_submit(this.#h, seq, p, ids.length, mode)));
    await this.#backendDone();
    return {ptr: this.#weblm.checkPointer(this.#m._weblm_forward_collect(this.#h)), rows};
  }

  // Chunks of n_batch; resolves to the last chunk's {ptr, rows}. With onChunk, every chunk
  // asks for all its logits and hands them to onChunk before the next pass overwrites them.
  async #prefillInPlace(seq, ids, onChunk) {
    if (!ids.length) throw new Error('prefill: no tokens');
    const n = this.info.n_batch;
    let last;
    for (let done = 0; done < ids.length; done += n) {
      const chunk = ids.slice(done, done + n);
      const lastChunk = done + chunk.length === ids.length;
      last = await this.#forwardInPlace(seq, chunk, onChunk ? 'all' : lastChunk ? 'last' : 'none');
      if (onChunk) onChunk(last);
    }
    return last;
  }

  #logitsView(ptr, rows) {
    const start = ptr >>> 2;
    return this.#m.heapViews().f32.subarray(start, start + rows * this.nVocab);
  }

  #copyLogits(ptr, rows) {
    return this.#logitsView(ptr, rows).slice();
  }
}

// OpenAI chat.completions / completions requests, batched together (one forward pass per step
// over every running request), streamed.
//   const service = session.createService();
//   const {id, done} = service.submit({messages: [{role: 'user', content: 'Hi'}], max_tokens: 16},
//                                     {onChunk: (chunk) => ...});   // chunks when body.stream
//   const {response, stats} = await done;
// submit throws for a request rejected before any compute: error.status (400) and error.error
// (OpenAI's error object).
export class ChatService {
  #weblm;
  #m;
  #h;
  #backendDone;
  #pending = new Map();  // id -> {onChunk, resolve, reject}
  #running = false;      // #run is stepping (cleared synchronously when it stops)
  // When set, awaited after every step: a function returning a promise of the next macrotask
  // lets the thread's event loop run between tokens (a worker then sees cancel() and new
  // requests while generating on the CPU backend, whose passes finish synchronously).
  stepYield = null;

  constructor(weblm, handle, backendDone) {
    this.#weblm = weblm;
    this.#m = weblm.module;
    this.#h = handle;
    this.#backendDone = backendDone;
  }

  submit(body, {endpoint = 'chat.completions', onChunk} = {}) {
    const r = JSON.parse(this.#weblm.string(this.#weblm.withString(JSON.stringify(body), (b) =>
        this.#weblm.withString(endpoint, (e) => this.#m._weblm_service_submit(this.#h, b, e)))));
    if (r.error) throw Object.assign(new Error(r.error.message), {status: r.status, error: r.error});
    let resolve, reject;
    const done = new Promise((res, rej) => { resolve = res; reject = rej; });
    this.#pending.set(r.id, {onChunk, resolve, reject});
    if (!this.#running) this.#run();
    return {id: r.id, done};
  }

  // Ends a request at the next step; its `done` resolves with finish_reason "cancelled".
  cancel(id) {
    return this.#m._weblm_service_cancel(this.#h, id) === 1;
  }

  dispose() {
    if (this.#h) this.#m._weblm_service_destroy(this.#h);
    this.#h = 0;
  }

  // Steps until no request is left, handing each event to its request.
  async #run() {
    this.#running = true;
    try {
      while (!this.#m._weblm_service_idle(this.#h)) {
        const submitted = this.#weblm.check(this.#m._weblm_service_step_submit(this.#h));
        this.#dispatch();
        if (!submitted) {
          if (this.#pending.size) throw new Error('the service has requests it cannot run (no forward pass to submit)');
          break;
        }
        await this.#backendDone();
        this.#weblm.check(this.#m._weblm_service_step_complete(this.#h));
        this.#dispatch();
        if (this.stepYield) await this.stepYield();
      }
    } catch (e) {
      for (const p of this.#pending.values()) p.reject(e);
      this.#pending.clear();
    } finally {
      this.#running = false;
    }
  }

  #dispatch() {
    for (const event of JSON.parse(this.#weblm.string(this.#m._weblm_service_events(this.#h)))) {
      const p = this.#pending.get(event.id);
      if (!p) continue;
      if (event.chunk) {
        p.onChunk?.(event.chunk);
      } else {
        this.#pending.delete(event.id);
        if (event.error) p.reject(Object.assign(new Error(event.error.message), {status: event.status, error: event.error}));
        else p.resolve({response: event.response, stats: event.stats});
      }
    }
  }
}
