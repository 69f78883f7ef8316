// The engine on the calling thread (a Web Worker, or Node): the wasm module (js/weblm.mjs), one
// model, and its OpenAI-shaped service, which batches concurrent requests into shared forward
// passes so they never interleave into garbage.
import {type ChatService, requestGpuDevice, type Session, Weblm} from 'weblm-core';

import {defaultCacheBackend, openByteStore} from './byte_store.js';
import {AsyncQueue} from './async_queue.js';
import {LoadAbortedError, ModelLoadError, ModelNotLoadedError, ModelTooLargeError, RequestError, WeblmError,
        WebGPUNotAvailableError} from './errors.js';
import {yieldToEventLoop} from './event_loop.js';
import {ModelCache} from './model_cache.js';
import {normalizeModel, openModel, modelUrls} from './model_loader.js';
import type {CacheBackend, ChatCompletions, Completions, EngineConfig, EngineInterface, LoadedModelInfo,
             ModelSource, RuntimeStats} from './types.js';

// wasm32 memory is 4 GiB; the GGUF is copied into it whole, plus the KV cache and buffers.
const MAX_MODEL_BYTES = 3.5 * 2 ** 30;

type Endpoint = 'chat.completions' | 'completions';

function emptyStats(backend: RuntimeStats['backend'] = null, backendReason = ''): RuntimeStats {
  return {backend, backendReason, prefillTokensPerSecond: 0, decodeTokensPerSecond: 0, timeToFirstTokenMs: 0,
          promptTokens: 0, completionTokens: 0, memoryBytes: 0, requests: 0, draftedTokens: 0, acceptedTokens: 0};
}

// The service's errors carry OpenAI's error object; others pass through.
function requestError(e: any): Error {
  if (e?.error?.message) return new RequestError(e.error.message, e.status ?? 400, e.error.code ?? null, e.error.param ?? null);
  return e;
}

function loadError(e: any, size: number): Error {
  if (e instanceof WeblmError) return e;
  const message = String(e?.message ?? e);
  if (/cannot allocate|out of memory/.test(message))
    return new ModelTooLargeError(`the model (${Math.round(size / 1048576)} MiB) does not fit in this browser's wasm memory ` +
                                  `(${message}): pick a smaller or more quantized model, or close other tabs`);
  if (/WebGPU backend requested but unavailable/.test(message))
    return new WebGPUNotAvailableError(`${message}: use backend: 'auto' or 'cpu'`);
  return new ModelLoadError(`cannot load the model: ${message}`);
}

function cacheFor(backend: CacheBackend | undefined): ModelCache | null {
  const store = openByteStore(backend ?? defaultCacheBackend());
  return store && new ModelCache(store);
}

// Whether every byte of `model` is in the cache (no download needed).
export async function hasModelInCache(model: ModelSource, options: {cache?: CacheBackend} = {}): Promise<boolean> {
  const cache = cacheFor(options.cache);
  const urls = modelUrls(normalizeModel(model));
  if (!cache || !urls.length) return false;
  for (const url of urls) if (!(await cache.isComplete(url))) return false;
  return true;
}

// Deletes the cached copy of `model` (complete or partial).
export async function deleteModelFromCache(model: ModelSource, options: {cache?: CacheBackend} = {}): Promise<void> {
  const cache = cacheFor(options.cache);
  if (cache) for (const url of modelUrls(normalizeModel(model))) await cache.delete(url);
}

export class Engine implements EngineInterface {
  #weblm: Promise<Weblm> | null = null;
  #gpuDevice: Promise<{device: object | null; reason?: string}> | null = null;
  #session: Session | null = null;
  #service: ChatService | null = null;
  #info: LoadedModelInfo | null = null;
  #running = new Map<number, Promise<unknown>>();
  #stats = emptyStats();
  #serviceOptions: {speculation: string; draft_max?: number} = {speculation: 'none'};

  readonly chat = {completions: {create: (request: any) => this.#create('chat.completions', request)} as ChatCompletions};
  readonly completions = {create: (request: any) => this.#create('completions', request)} as Completions;

  // singleThreadFactory: the single-thread wasm build's factory, imported statically (a Service
  // Worker cannot import() at run time; see service_worker.ts).
  constructor(readonly options: {singleThreadFactory?: unknown} = {}) {}

  get info(): LoadedModelInfo | null {
    return this.#info;
  }

  async reload(model: ModelSource, config: EngineConfig = {}): Promise<LoadedModelInfo> {
    await this.unload();
    const {signal} = config;
    if (config.speculation !== undefined && !['none', 'ngram'].includes(config.speculation))
      throw new ModelLoadError(`speculation must be 'none' or 'ngram', got ${JSON.stringify(config.speculation)}`);
    const weblm = await this.#module(config);
    const backend = await this.#chooseBackend(weblm, config);
    const opened = await openModel(model, cacheFor(config.cache), {signal, onProgress: config.initProgressCallback});
    if (opened.size > MAX_MODEL_BYTES)
      throw new ModelTooLargeError(`the model is ${(opened.size / 2 ** 30).toFixed(1)} GiB; the browser engine holds at most ` +
                                   `${MAX_MODEL_BYTES / 2 ** 30} GiB (wasm32): pick a smaller or more quantized model`);
    const chunks = (async function* () {
      yield* opened.chunks;
      opened.meter.report('upload');
    })();
    let session: Session;
    try {
      session = await weblm.loadModel({size: opened.size, chunks, parts: opened.parts}, {
        backend: backend.name, name: opened.id, nCtx: config.contextWindowSize, nSeqMax: config.maxConcurrentRequests ?? 4,
        ...(config.threads && {threads: Math.min(config.threads, weblm.threads)}),
      });
    } catch (e) {
      throw signal?.aborted ? new LoadAbortedError('loading the model was cancelled') : loadError(e, opened.size);
    }
    this.#session = session;
    this.#serviceOptions = {speculation: config.speculation ?? 'none',
                            ...(config.draftMaxTokens !== undefined && {draft_max: config.draftMaxTokens})};
    this.#service = this.#newService(opened.id);
    const backendReason = backend.reason || session.info.backend_reason;
    this.#info = {modelId: opened.id, backend: session.info.backend, backendReason, contextWindowSize: session.info.n_ctx,
                  bytes: opened.size, fromCache: opened.fromCache};
    this.#stats = emptyStats(session.info.backend, backendReason);
    opened.meter.report('ready');
    return this.#info;
  }

  interruptGenerate(): void {
    for (const id of this.#running.keys()) this.#service?.cancel(id);
  }

  // Ends every request and forgets the conversations kept for prefix reuse.
  async resetChat(): Promise<void> {
    await this.#stopAll();
    if (!this.#service) return;
    this.#service.dispose();
    this.#service = this.#newService(this.#info!.modelId);
    this.#stats = emptyStats(this.#stats.backend, this.#stats.backendReason);
  }

  async unload(): Promise<void> {
    await this.#stopAll();
    this.#service?.dispose();
    this.#session?.dispose();
    this.#service = null;
    this.#session = null;
    this.#info = null;
  }

  async runtimeStats(): Promise<RuntimeStats> {
    const weblm = this.#weblm && (await this.#weblm);
    return {...this.#stats, memoryBytes: weblm ? weblm.module.heapViews().u8.buffer.byteLength : 0};
  }

  // --- internals ----------------------------------------------------------------------------

  #module(config: EngineConfig): Promise<Weblm> {
    this.#weblm ??= Weblm.load({dist: config.wasmUrl ?? new URL('./wasm/', import.meta.url), threads: config.threads,
                                singleThreadFactory: this.options.singleThreadFactory});
    return this.#weblm;
  }

  // 'cpu' | 'webgpu' | 'auto' for the module, with the reason when WebGPU was ruled out here.
  async #chooseBackend(weblm: Weblm, config: EngineConfig): Promise<{name: string; reason: string}> {
    const wanted = config.backend ?? 'auto';
    if (wanted === 'cpu') return {name: 'cpu', reason: ''};
    let reason: string | undefined;
    if (!weblm.buildInfo.webgpu) {
      reason = 'this build of the wasm module has no WebGPU backend';
    } else {
      const gpu = config.gpu ?? (globalThis.navigator as any)?.gpu;
      this.#gpuDevice ??= requestGpuDevice(gpu).catch((e: Error) => ({device: null, reason: e.message}));
      const {device, reason: why} = await this.#gpuDevice;
      if (device) weblm.webgpuDevice = device;
      else reason = why ?? 'no WebGPU device';
    }
    if (!reason) return {name: wanted, reason: ''};
    if (wanted === 'webgpu')
      throw new WebGPUNotAvailableError(`WebGPU was requested but ${reason}: use a browser with WebGPU enabled ` +
                                        `(e.g. Chrome 113+ on a supported GPU), or backend: 'auto' / 'cpu'`);
    return {name: 'cpu', reason: `auto: WebGPU unavailable (${reason})`};
  }

  #newService(modelId: string): ChatService {
    const service = this.#session!.createService({model_id: modelId, ...this.#serviceOptions});
    service.stepYield = yieldToEventLoop;
    return service;
  }

  async #stopAll(): Promise<void> {
    this.interruptGenerate();
    await Promise.allSettled(this.#running.values());
  }

  #create(endpoint: Endpoint, request: any): Promise<any> {
    const service = this.#service;
    if (!service) return Promise.reject(new ModelNotLoadedError('no model is loaded: call reload(model) (or CreateEngine) first'));
    const queue = request?.stream === true ? new AsyncQueue<unknown>() : null;
    let submitted: ReturnType<ChatService['submit']>;
    try {
      submitted = service.submit(request, {endpoint, onChunk: queue ? (chunk) => queue.push(chunk) : undefined});
    } catch (e) {
      return Promise.reject(requestError(e));
    }
    const finished = submitted.done.then(({response, stats}) => {
      this.#record(stats);
      return response;
    }, (e) => {
      throw requestError(e);
    });
    const settled = finished.finally(() => this.#running.delete(submitted.id)).catch(() => {});
    this.#running.set(submitted.id, settled);
    if (!queue) return finished;
    finished.then(() => queue.end(), (e) => queue.fail(e));
    return Promise.resolve(queue);
  }

  #record(s: {prompt_tokens: number; cached_tokens: number; completion_tokens: number; queued_ms: number;
              prompt_ms: number; decode_ms: number; drafted: number; accepted: number}): void {
    const computed = s.prompt_tokens - s.cached_tokens;
    Object.assign(this.#stats, {
      prefillTokensPerSecond: s.prompt_ms > 0 ? computed / (s.prompt_ms / 1000) : 0,
      decodeTokensPerSecond: s.decode_ms > 0 && s.completion_tokens > 1 ? (s.completion_tokens - 1) / (s.decode_ms / 1000) : 0,
      timeToFirstTokenMs: s.queued_ms + s.prompt_ms,
      promptTokens: s.prompt_tokens,
      completionTokens: s.completion_tokens,
      requests: this.#stats.requests + 1,
      draftedTokens: s.drafted,
      acceptedTokens: s.accepted,
    });
  }
}

// Loads `model` into a new engine on this thread (in a browser, prefer CreateWebWorkerEngine:
// the page stays responsive).
export async function CreateEngine(model: ModelSource, config: EngineConfig = {}): Promise<Engine> {
  const engine = new Engine();
  await engine.reload(model, config);
  return engine;
}
