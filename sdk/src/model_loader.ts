// Opens a model for the engine: its size up front and its bytes as a stream of chunks, from the
// cache, the network (caching as it goes, resuming a partial download) or a local file. Checks
// the storage quota before downloading and, when asked, the sha256 of the whole file.
import {DownloadError, IntegrityError, LoadAbortedError, StorageQuotaError, throwIfAborted} from './errors.js';
import {type Manifest, ModelCache, PART_SIZE} from './model_cache.js';
import {ProgressMeter} from './progress.js';
import {Sha256} from './sha256.js';
import type {InitProgressCallback, ModelRecord, ModelSource} from './types.js';

export interface OpenedModel {
  id: string;
  key: string;  // identifies the bytes (the URLs, or the file's name/size/date)
  size: number;
  parts?: number[];  // the files' sizes (URL arrays: gguf-split parts, or pieces of one file)
  fromCache: boolean;
  meter: ProgressMeter;
  chunks: AsyncIterable<Uint8Array>;
}

export function normalizeModel(model: ModelSource): ModelRecord {
  if (typeof model === 'string' || Array.isArray(model)) return {url: model};
  if (typeof Blob === 'function' && model instanceof Blob) return {file: model};
  const record = model as ModelRecord;
  if (!record.url && !record.file) throw new TypeError('a model needs a url (or an array of urls) or a file');
  return record;
}

export function modelUrls(record: ModelRecord): string[] {
  const urls = record.url === undefined ? [] : Array.isArray(record.url) ? record.url : [record.url];
  const base = globalThis.location?.href;
  return urls.map((u) => new URL(u, base).href);
}

const baseName = (path: string) => decodeURIComponent(path.split(/[/\\]/).pop()!.split(/[?#]/)[0]) || 'model.gguf';

async function fetchChecked(url: string, init: RequestInit, signal?: AbortSignal): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, {...init, signal});
  } catch (e) {
    if (signal?.aborted) throw new LoadAbortedError(`downloading ${url} was cancelled`);
    throw new DownloadError(`cannot download ${url}: ${(e as Error).message} (check the URL and your connection)`);
  }
  if (!response.ok) throw new DownloadError(`cannot download ${url}: HTTP ${response.status} ${response.statusText}`);
  return response;
}

async function remoteSize(url: string, signal?: AbortSignal): Promise<number> {
  const response = await fetchChecked(url, {method: 'HEAD'}, signal);
  const size = Number(response.headers.get('content-length'));
  if (!(size > 0)) throw new DownloadError(`${url} has no Content-Length: the server must announce the model's size`);
  return size;
}

async function checkQuota(needed: number): Promise<void> {
  const estimate = await globalThis.navigator?.storage?.estimate?.();
  if (!estimate?.quota) return;
  const free = estimate.quota - (estimate.usage ?? 0);
  if (free < needed) {
    const mib = (n: number) => `${Math.ceil(n / 1048576)} MiB`;
    throw new StorageQuotaError(`caching the model needs ${mib(needed)} of browser storage but only ${mib(free)} is free: ` +
                                `free space (delete cached models with deleteModelFromCache) or load with cache: 'none'`);
  }
}

// Bytes of `response` from `skip` on, in the chunks they arrive in.
async function* bodyChunks(response: Response, skip: number, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  const reader = response.body!.getReader();
  try {
    for (;;) {
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await reader.read();
      } catch (e) {
        if (signal?.aborted) throw new LoadAbortedError('the download was cancelled');
        throw new DownloadError(`the download broke off: ${(e as Error).message} (load again to resume it)`);
      }
      if (result.done) return;
      let chunk = result.value;
      if (skip > 0) {
        const dropped = Math.min(skip, chunk.length);
        chunk = chunk.subarray(dropped);
        skip -= dropped;
      }
      if (chunk.length) yield chunk;
    }
  } finally {
    reader.releaseLock();
  }
}

// One URL's bytes: the stored parts from the cache, then the rest from the network (one Range
// request), stored part by part as it arrives.
async function* urlChunks(url: string, size: number, manifest: Manifest | null, cache: ModelCache | null,
                          meter: ProgressMeter, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  const m = manifest ?? ModelCache.newManifest(url, size);
  for (let i = 0; i < m.parts.length; i++) {
    throwIfAborted(signal, 'loading the model');
    const part = await cache!.readPart(m, i);
    meter.advance('cache', part.length);
    yield part;
  }
  const offset = ModelCache.storedBytes(m);
  if (offset >= size) return;
  const response = await fetchChecked(url, offset ? {headers: {Range: `bytes=${offset}-`}} : {}, signal);
  const skip = response.status === 206 ? 0 : offset;  // a server ignoring Range sends it all
  const part = cache ? new Uint8Array(Math.min(PART_SIZE, size - offset)) : null;
  let filled = 0;
  let received = offset;
  for await (const chunk of bodyChunks(response, skip, signal)) {
    if (received + chunk.length > size) throw new DownloadError(`${url} sent more than its announced ${size} bytes`);
    received += chunk.length;
    meter.advance('download', chunk.length);
    if (part) {
      for (let at = 0; at < chunk.length;) {
        const take = Math.min(part.length - filled, chunk.length - at);
        part.set(chunk.subarray(at, at + take), filled);
        filled += take;
        at += take;
        const partEnd = Math.min(size, (m.parts.length + 1) * PART_SIZE);
        if (filled === partEnd - m.parts.length * PART_SIZE) {
          await cache!.appendPart(m, part.slice(0, filled));
          filled = 0;
        }
      }
    }
    yield chunk;
  }
  if (received !== size) throw new DownloadError(`${url} ended after ${received} of ${size} bytes (load again to resume)`);
}

export async function openModel(model: ModelSource, cache: ModelCache | null,
                                {signal, onProgress}: {signal?: AbortSignal; onProgress?: InitProgressCallback}): Promise<OpenedModel> {
  const record = normalizeModel(model);
  throwIfAborted(signal, 'loading the model');
  if (record.file) {
    const file = record.file;
    const name = (file as File).name || 'model.gguf';
    const meter = new ProgressMeter(file.size, onProgress);
    return {
      id: record.id ?? name, key: `file:${name}:${file.size}:${(file as File).lastModified ?? 0}`, size: file.size,
      fromCache: false, meter,
      chunks: withIntegrity(record, [], (async function* () {
        for (let at = 0; at < file.size; at += PART_SIZE) {
          throwIfAborted(signal, 'loading the model');
          const chunk = new Uint8Array(await file.slice(at, Math.min(file.size, at + PART_SIZE)).arrayBuffer());
          meter.advance('file', chunk.length);
          yield chunk;
        }
      })(), null),
    };
  }

  const urls = modelUrls(record);
  const shards: {url: string; size: number; manifest: Manifest | null}[] = [];
  let missing = 0;
  for (const url of urls) {
    let manifest = cache ? await cache.manifest(url) : null;
    if (manifest?.complete) {
      shards.push({url, size: manifest.size, manifest});
      continue;
    }
    const size = await remoteSize(url, signal);
    if (manifest && manifest.size !== size) {  // the file changed on the server: start over
      await cache!.delete(url);
      manifest = null;
    }
    missing += size - ModelCache.storedBytes(manifest);
    shards.push({url, size, manifest});
  }
  if (cache && missing) await checkQuota(missing);
  const size = shards.reduce((n, s) => n + s.size, 0);
  const meter = new ProgressMeter(size, onProgress);
  meter.report(ModelCache.storedBytes(shards[0].manifest) > 0 || !missing ? 'cache' : 'download');
  return {
    id: record.id ?? baseName(urls[0]).replace(/(-0+1-of-\d+)?\.gguf$/, ''), key: urls.join(' '), size,
    parts: shards.map((s) => s.size), fromCache: missing === 0, meter,
    chunks: withIntegrity(record, urls, (async function* () {
      for (const s of shards) yield* urlChunks(s.url, s.size, s.manifest, cache, meter, signal);
    })(), cache),
  };
}

// Passes chunks through; with record.sha256, hashes them and throws IntegrityError (deleting the
// cached copy) when the whole file's digest differs.
async function* withIntegrity(record: ModelRecord, urls: string[], chunks: AsyncIterable<Uint8Array>,
                              cache: ModelCache | null): AsyncGenerator<Uint8Array> {
  if (!record.sha256) {
    yield* chunks;
    return;
  }
  const hasher = new Sha256();
  for await (const chunk of chunks) {
    hasher.update(chunk);
    yield chunk;
  }
  const actual = hasher.hex();
  if (actual !== record.sha256.toLowerCase()) {
    for (const url of urls) await cache?.delete(url);
    throw new IntegrityError(`the model's sha256 is ${actual}, not the expected ${record.sha256}: the file is not the one ` +
                             `you meant to load (it was not cached; check the URL and the expected hash)`);
  }
}
