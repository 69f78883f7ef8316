// The page side of the Service Worker engine: the same message protocol as the Web Worker engine,
// carried by the registration's active worker and navigator.serviceWorker's message events.
import {WebWorkerEngine} from './worker_engine.js';
import type {Endpoint} from './protocol.js';
import type {EngineConfig, ModelSource} from './types.js';

const KEEP_ALIVE_MS = 10_000;

async function activeWorker(registration: ServiceWorkerRegistration): Promise<ServiceWorker> {
  const worker = registration.active ?? registration.waiting ?? registration.installing;
  if (!worker) throw new Error('the Service Worker registration has no worker');
  if (worker.state !== 'activated') {
    await new Promise<void>((resolve, reject) => worker.addEventListener('statechange', () => {
      if (worker.state === 'activated') resolve();
      if (worker.state === 'redundant') reject(new Error('the weblm Service Worker failed to install'));
    }));
  }
  return worker;
}

// Messages tagged with a channel of their own, so several engines (pages, tabs) share the worker.
function serviceWorkerEndpoint(worker: ServiceWorker): Endpoint {
  const channel = Math.random().toString(36).slice(2);
  const container = navigator.serviceWorker;
  return {
    postMessage: (message: unknown) => worker.postMessage({weblmChannel: channel, message}),
    addEventListener: (type: string, listener: (event: MessageEvent) => void) => container.addEventListener(type, (event: Event) => {
      const data = (event as MessageEvent).data;
      if (data?.weblmChannel === channel) listener({data: data.message} as MessageEvent);
    }),
  } as unknown as Endpoint;
}

// URLs resolve against the page, not the worker's script.
function absolute(model: ModelSource): ModelSource {
  const resolve = (u: string) => new URL(u, location.href).href;
  if (typeof model === 'string') return resolve(model);
  if (Array.isArray(model)) return model.map(resolve);
  if (typeof Blob === 'function' && model instanceof Blob) return model;
  const record = model as {url?: string | string[]};
  if (record.url === undefined) return model;
  return {...record, url: Array.isArray(record.url) ? record.url.map(resolve) : resolve(record.url)} as ModelSource;
}

export class ServiceWorkerEngine extends WebWorkerEngine {
  constructor(worker: ServiceWorker) {
    super(serviceWorkerEndpoint(worker));
    setInterval(() => this.keepAlive(), KEEP_ALIVE_MS);
  }

  // A model the worker already holds (loaded by this or an earlier page) is not loaded again.
  override reload(model: ModelSource, config: EngineConfig = {}) {
    return super.reload(absolute(model), config);
  }
}

// Loads `model` into the engine of the weblm Service Worker that `registration` runs (register
// '@weblm/web/service-worker' with {type: 'module'}), or finds it already loaded there.
export async function CreateServiceWorkerEngine(registration: ServiceWorkerRegistration, model: ModelSource,
                                                config: EngineConfig = {}): Promise<ServiceWorkerEngine> {
  const engine = new ServiceWorkerEngine(await activeWorker(registration));
  await engine.reload(model, config);
  return engine;
}
