// The page side: an engine whose work runs in a Web Worker. Every call is a message; the page
// thread only posts and receives (streamed chunks, progress), so it never blocks on compute.
import {AsyncQueue} from './async_queue.js';
import {LoadAbortedError} from './errors.js';
import {deserializeError, type Endpoint, type Op, type Reply} from './protocol.js';
import type {ChatCompletions, Completions, EngineConfig, EngineInterface, InitProgressCallback, LoadedModelInfo,
             ModelSource, RuntimeStats} from './types.js';

interface Call {
  resolve(value: any): void;
  reject(error: Error): void;
  onProgress?: InitProgressCallback;
  onChunk?(chunk: unknown): void;
}

export class WebWorkerEngine implements EngineInterface {
  #endpoint: Endpoint;
  #nextId = 1;
  #calls = new Map<number, Call>();

  readonly chat = {completions: {create: (request: any) => this.#create('chat.completions', request)} as ChatCompletions};
  readonly completions = {create: (request: any) => this.#create('completions', request)} as Completions;

  constructor(endpoint: Endpoint) {
    this.#endpoint = endpoint;
    endpoint.addEventListener('message', (event) => this.#receive(event.data as Reply));
    (endpoint as MessagePort).start?.();
  }

  async reload(model: ModelSource, config: EngineConfig = {}): Promise<LoadedModelInfo> {
    // Callbacks and signals cannot be posted: progress comes back as messages, abort goes as one.
    const {initProgressCallback, signal, ...rest} = config;
    if (signal?.aborted) throw new LoadAbortedError('loading the model was cancelled');
    const id = this.#nextId;
    const onAbort = () => this.#post(this.#nextId++, 'abort', id);
    signal?.addEventListener('abort', onAbort, {once: true});
    try {
      return await this.#call('reload', {model, config: rest}, {onProgress: initProgressCallback});
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  interruptGenerate(): void {
    this.#post(this.#nextId++, 'interrupt');
  }

  resetChat(): Promise<void> {
    return this.#call('resetChat');
  }

  unload(): Promise<void> {
    return this.#call('unload');
  }

  runtimeStats(): Promise<RuntimeStats> {
    return this.#call('runtimeStats');
  }

  #create(endpoint: string, request: any): Promise<any> {
    if (request?.stream !== true) return this.#call('create', {endpoint, request});
    const queue = new AsyncQueue<unknown>();
    this.#call('create', {endpoint, request}, {onChunk: (chunk) => queue.push(chunk)})
        .then(() => queue.end(), (e) => queue.fail(e));
    return Promise.resolve(queue);
  }

  // A message that needs no reply (a Service Worker counts it as activity).
  protected keepAlive(): void {
    this.#post(this.#nextId++, 'keepAlive');
  }

  #post(id: number, op: Op, args?: unknown): void {
    this.#endpoint.postMessage({id, op, args});
  }

  #call(op: Op, args?: unknown, hooks: Partial<Call> = {}): Promise<any> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#calls.set(id, {resolve, reject, ...hooks});
      this.#post(id, op, args);
    });
  }

  #receive(reply: Reply): void {
    const call = this.#calls.get(reply.id);
    if (!call) return;
    if ('progress' in reply) {
      call.onProgress?.(reply.progress as any);
    } else if ('chunk' in reply) {
      call.onChunk?.(reply.chunk);
    } else {
      this.#calls.delete(reply.id);
      if (reply.error) call.reject(deserializeError(reply.error));
      else call.resolve(reply.result);
    }
  }
}

// Loads `model` in `worker` (a module Worker running WebWorkerEngineHandler, e.g. the package's
// worker entry: new Worker(new URL('@weblm/web/worker', import.meta.url), {type: 'module'})).
export async function CreateWebWorkerEngine(worker: Worker | MessagePort, model: ModelSource,
                                            config: EngineConfig = {}): Promise<WebWorkerEngine> {
  const engine = new WebWorkerEngine(worker as unknown as Endpoint);
  await engine.reload(model, config);
  return engine;
}
