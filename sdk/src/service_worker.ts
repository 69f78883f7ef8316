// The package's Service Worker script (@weblm/web/service-worker): one engine for every page of
// the origin, so a loaded model survives navigation from page to page. Pages connect with
// CreateServiceWorkerEngine. A Service Worker can start no workers, so the engine runs the
// single-thread wasm build (bundled in: a Service Worker cannot import() at run time), and the
// browser may stop the worker when it has been idle for a while (about 30 s in Chromium): the
// page's engine proxy pings it while it is open.
import createSingleThread from 'weblm-core-st';

import {Engine} from './engine.js';
import type {Request} from './protocol.js';
import {EngineHandler} from './worker_handler.js';

interface ExtendableMessageEvent {
  data: any;
  source: {id: string; postMessage(message: unknown): void} | null;
  waitUntil(promise: Promise<unknown>): void;
}
const scope = globalThis as any;
const engine = new Engine({singleThreadFactory: createSingleThread});
const handlers = new Map<string, EngineHandler>();  // by client id and channel

scope.addEventListener('install', () => scope.skipWaiting());
scope.addEventListener('activate', (event: any) => event.waitUntil(scope.clients.claim()));
scope.addEventListener('message', (event: ExtendableMessageEvent) => {
  const {weblmChannel, message} = event.data ?? {};
  const client = event.source;
  if (typeof weblmChannel !== 'string' || !client) return;
  const key = `${client.id}/${weblmChannel}`;
  let handler = handlers.get(key);
  if (!handler) {
    handler = new EngineHandler({postMessage: (reply: unknown) => client.postMessage({weblmChannel, message: reply})}, engine,
                                true);
    handlers.set(key, handler);
  }
  // Alive until the operation (a load, a whole generation) is done.
  event.waitUntil(handler.handle(message as Request));
});
