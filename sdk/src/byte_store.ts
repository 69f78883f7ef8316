// Where cached model bytes live: the Cache API (default) or the Origin Private File System.
// Both hold named blobs; model_cache.ts decides the names and what they mean.
import type {CacheBackend} from './types.js';

export interface ByteStore {
  get(name: string): Promise<Uint8Array | null>;
  put(name: string, bytes: Uint8Array): Promise<void>;
  // Deletes every entry whose name starts with `prefix`.
  deletePrefix(prefix: string): Promise<void>;
}

const CACHE_NAME = 'weblm-models';
// Cache API keys are requests; entries live under a URL no server answers.
const cacheUrl = (name: string) => `https://weblm.invalid/${encodeURIComponent(name)}`;

class CacheApiStore implements ByteStore {
  #cache = caches.open(CACHE_NAME);

  async get(name: string) {
    const response = await (await this.#cache).match(cacheUrl(name));
    return response ? new Uint8Array(await response.arrayBuffer()) : null;
  }

  async put(name: string, bytes: Uint8Array) {
    await (await this.#cache).put(cacheUrl(name), new Response(bytes as BlobPart));
  }

  async deletePrefix(prefix: string) {
    const cache = await this.#cache;
    const start = cacheUrl(prefix);
    for (const request of await cache.keys()) {
      if (request.url.startsWith(start)) await cache.delete(request);
    }
  }
}

class OpfsStore implements ByteStore {
  #dir = navigator.storage.getDirectory().then((root) => root.getDirectoryHandle(CACHE_NAME, {create: true}));

  async get(name: string) {
    try {
      const handle = await (await this.#dir).getFileHandle(encodeURIComponent(name));
      return new Uint8Array(await (await handle.getFile()).arrayBuffer());
    } catch (e) {
      if ((e as DOMException).name === 'NotFoundError') return null;
      throw e;
    }
  }

  async put(name: string, bytes: Uint8Array) {
    const handle = await (await this.#dir).getFileHandle(encodeURIComponent(name), {create: true});
    const writable = await handle.createWritable();
    await writable.write(bytes as BlobPart);
    await writable.close();
  }

  async deletePrefix(prefix: string) {
    const dir = await this.#dir;
    const start = encodeURIComponent(prefix);
    const names: string[] = [];
    for await (const name of (dir as any).keys() as AsyncIterable<string>) if (name.startsWith(start)) names.push(name);
    for (const name of names) await dir.removeEntry(name);
  }
}

// The default: the Cache API where this environment has it (browsers), else no cache (Node).
export function defaultCacheBackend(): CacheBackend {
  return typeof caches === 'object' ? 'cache' : 'none';
}

export function openByteStore(backend: CacheBackend): ByteStore | null {
  if (backend === 'none') return null;
  if (backend === 'cache') {
    if (typeof caches !== 'object') throw new Error('the Cache API is not available here: use cache: "none"');
    return new CacheApiStore();
  }
  if (!globalThis.navigator?.storage?.getDirectory) throw new Error('OPFS is not available here: use cache: "cache" or "none"');
  return new OpfsStore();
}
