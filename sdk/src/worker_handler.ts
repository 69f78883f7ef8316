// The worker side: runs an Engine and answers an engine proxy's messages (protocol.ts). In a
// worker script, as with WebLLM:
//   const handler = new WebWorkerEngineHandler();
//   self.onmessage = (event) => handler.onmessage(event);
import {Engine} from './engine.js';
import {serializeError, type Endpoint, type Reply, type Request} from './protocol.js';

// What a reload asked for: URLs, or a file's name, size and date, and the config.
function loadKey({model, config}: {model: any; config: unknown}): string {
  const file = typeof Blob === 'function' && (model instanceof Blob || model?.file instanceof Blob) ? (model.file ?? model) : null;
  const source = file ? {name: file.name, size: file.size, lastModified: file.lastModified} : model;
  return JSON.stringify({source, config});
}
const loadedKeys = new WeakMap<Engine, string>();

export class EngineHandler {
  #aborts = new Map<number, AbortController>();

  // keepLoaded: a reload of the model already loaded (same URLs or file, same config) keeps it
  // (the Service Worker's engine outlives the pages that load it).
  constructor(readonly endpoint: Pick<Endpoint, 'postMessage'>, readonly engine: Engine = new Engine(),
              readonly keepLoaded = false) {}

  onmessage(event: MessageEvent): void {
    void this.handle(event.data as Request);
  }

  async handle({id, op, args}: Request): Promise<void> {
    const reply = (message: Omit<Reply, 'id'>) => this.endpoint.postMessage({id, ...message});
    try {
      let result: unknown = null;
      switch (op) {
        case 'reload': {
          if (this.keepLoaded && this.engine.info && loadKey(args) === loadedKeys.get(this.engine)) {
            result = this.engine.info;
            break;
          }
          const abort = new AbortController();
          this.#aborts.set(id, abort);
          try {
            result = await this.engine.reload(args.model, {
              ...args.config, signal: abort.signal, initProgressCallback: (progress) => reply({progress}),
            });
            loadedKeys.set(this.engine, loadKey(args));
          } finally {
            this.#aborts.delete(id);
          }
          break;
        }
        case 'abort':
          this.#aborts.get(args)?.abort();
          return;
        case 'interrupt':
          this.engine.interruptGenerate();
          return;
        case 'keepAlive':  // a message is all it takes: it restarts a Service Worker's idle timer
          return;
        case 'create': {
          const api: {create(request: unknown): Promise<unknown>} =
              args.endpoint === 'completions' ? this.engine.completions : this.engine.chat.completions;
          const response = await api.create(args.request);
          if (args.request.stream === true) {
            for await (const chunk of response as AsyncIterable<unknown>) reply({chunk});
          } else {
            result = response;
          }
          break;
        }
        case 'resetChat':
          await this.engine.resetChat();
          break;
        case 'unload':
          await this.engine.unload();
          break;
        case 'runtimeStats':
          result = await this.engine.runtimeStats();
          break;
        default:
          throw new TypeError(`unknown engine operation '${op}'`);
      }
      reply({result});
    } catch (e) {
      reply({error: serializeError(e)});
    }
  }
}

// The handler inside a dedicated Web Worker: replies go to the worker's own scope.
export class WebWorkerEngineHandler extends EngineHandler {
  constructor() {
    super(globalThis as unknown as Pick<Endpoint, 'postMessage'>);
  }
}
