// A model's bytes in a ByteStore, in parts of PART_SIZE bytes, each with its sha256 in a
// manifest. Parts make a download resumable (the parts already stored are kept, the rest is
// fetched with a Range request) and let a corrupted copy be found on reading, without ever
// holding the whole file in one buffer.
import type {ByteStore} from './byte_store.js';
import {IntegrityError} from './errors.js';
import {sha256Hex} from './sha256.js';

export const PART_SIZE = 16 << 20;

export interface Manifest {
  url: string;
  size: number;
  partSize: number;
  parts: string[];     // sha256 of each stored part, in order
  complete: boolean;   // every part is stored
}

async function digest(bytes: Uint8Array): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return sha256Hex(bytes);
  const hash = new Uint8Array(await subtle.digest('SHA-256', bytes as BufferSource));
  return Array.from(hash, (b) => b.toString(16).padStart(2, '0')).join('');
}

export class ModelCache {
  constructor(readonly store: ByteStore) {}

  #prefix(url: string) {
    return `${url}#`;
  }

  async manifest(url: string): Promise<Manifest | null> {
    const bytes = await this.store.get(`${this.#prefix(url)}manifest`);
    if (!bytes) return null;
    try {
      const m = JSON.parse(new TextDecoder().decode(bytes)) as Manifest;
      return m.url === url && m.partSize === PART_SIZE && Array.isArray(m.parts) ? m : null;
    } catch {
      return null;  // a torn manifest: the download starts over
    }
  }

  async isComplete(url: string): Promise<boolean> {
    return (await this.manifest(url))?.complete === true;
  }

  // Part `index`, checked against its length and sha256; a mismatch deletes the cached copy.
  async readPart(m: Manifest, index: number): Promise<Uint8Array> {
    const bytes = await this.store.get(`${this.#prefix(m.url)}part-${index}`);
    const expectedLength = Math.min(m.partSize, m.size - index * m.partSize);
    if (!bytes || bytes.length !== expectedLength || (await digest(bytes)) !== m.parts[index]) {
      await this.delete(m.url);
      throw new IntegrityError(`the cached copy of ${m.url} is corrupted (part ${index} of ${Math.ceil(m.size / m.partSize)} ` +
                               `does not match its checksum); it was deleted: load the model again to download it anew`);
    }
    return bytes;
  }

  // Stores the next part and records it in the manifest.
  async appendPart(m: Manifest, bytes: Uint8Array): Promise<void> {
    const index = m.parts.length;
    await this.store.put(`${this.#prefix(m.url)}part-${index}`, bytes);
    m.parts.push(await digest(bytes));
    m.complete = m.parts.length * m.partSize >= m.size;
    await this.store.put(`${this.#prefix(m.url)}manifest`, new TextEncoder().encode(JSON.stringify(m)));
  }

  async delete(url: string): Promise<void> {
    await this.store.deletePrefix(this.#prefix(url));
  }

  static newManifest(url: string, size: number): Manifest {
    return {url, size, partSize: PART_SIZE, parts: [], complete: false};
  }

  // Bytes of `m` already stored.
  static storedBytes(m: Manifest | null): number {
    return m ? Math.min(m.size, m.parts.length * m.partSize) : 0;
  }
}
