// A minimal GGUF reader/writer in JS, independent of weblm's C++ one, so tests can build
// damaged files on purpose (wrong types, missing tensors, offsets past the end).
import fs from 'node:fs';

const SCALARS = {0: ['Uint8', 1], 1: ['Int8', 1], 2: ['Uint16', 2], 3: ['Int16', 2], 4: ['Uint32', 4],
  5: ['Int32', 4], 6: ['Float32', 4], 7: ['Uint8', 1], 10: ['BigUint64', 8], 11: ['BigInt64', 8], 12: ['Float64', 8]};

export function readGguf(file) {
  const buf = fs.readFileSync(file);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.length);
  let p = 0;
  const u32 = () => { const v = dv.getUint32(p, true); p += 4; return v; };
  const u64 = () => { const v = Number(dv.getBigUint64(p, true)); p += 8; return v; };
  const str = () => { const n = u64(); const s = buf.subarray(p, p + n).toString('utf8'); p += n; return s; };
  const value = (type) => {
    if (type === 8) return str();
    if (type === 9) { const t = u32(); const n = u64(); const items = []; for (let i = 0; i < n; i++) items.push(value(t)); return {arrayType: t, items}; }
    const [getter, size] = SCALARS[type];
    const v = dv[`get${getter}`](p, true); p += size; return v;
  };
  if (buf.subarray(0, 4).toString() !== 'GGUF') throw new Error('not GGUF');
  p = 4;
  const version = u32(); const nTensors = u64(); const nKv = u64();
  const kv = [];
  for (let i = 0; i < nKv; i++) { const key = str(); const type = u32(); kv.push({key, type, value: value(type)}); }
  const tensors = [];
  for (let i = 0; i < nTensors; i++) {
    const name = str(); const nd = u32(); const dims = []; for (let d = 0; d < nd; d++) dims.push(u64());
    tensors.push({name, dims, type: u32(), offset: u64()});
  }
  const align = kv.find((e) => e.key === 'general.alignment')?.value ?? 32;
  const dataStart = Math.ceil(p / align) * align;
  const ends = tensors.map((t) => t.offset).concat([buf.length - dataStart]).sort((a, b) => a - b);
  for (const t of tensors) {
    const end = ends.find((e) => e > t.offset);
    t.data = buf.subarray(dataStart + t.offset, dataStart + end);
  }
  return {version, kv, tensors};
}

export function writeGguf(file, {version = 3, kv, tensors}) {
  const parts = [];
  const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); parts.push(b); };
  const u64 = (v) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); parts.push(b); };
  const str = (s) => { const b = Buffer.from(s, 'utf8'); u64(b.length); parts.push(b); };
  const value = (type, v) => {
    if (type === 8) return str(v);
    if (type === 9) { u32(v.arrayType); u64(v.items.length); for (const x of v.items) value(v.arrayType, x); return; }
    const [getter, size] = SCALARS[type];
    const b = Buffer.alloc(size); new DataView(b.buffer, b.byteOffset)[`set${getter}`](0, v, true); parts.push(b);
  };
  parts.push(Buffer.from('GGUF')); u32(version); u64(tensors.length); u64(kv.length);
  for (const e of kv) { str(e.key); u32(e.type); value(e.type, e.value); }
  let offset = 0;
  const offsets = tensors.map((t) => { const o = t.offsetOverride ?? offset; offset = Math.ceil((offset + t.data.length) / 32) * 32; return o; });
  tensors.forEach((t, i) => { str(t.name); u32(t.dims.length); t.dims.forEach(u64); u32(t.type); u64(offsets[i]); });
  let header = Buffer.concat(parts);
  header = Buffer.concat([header, Buffer.alloc(Math.ceil(header.length / 32) * 32 - header.length)]);
  const body = [];
  let pos = 0;
  for (const t of tensors) { body.push(t.data); pos += t.data.length; const pad = Math.ceil(pos / 32) * 32 - pos; body.push(Buffer.alloc(pad)); pos += pad; }
  fs.writeFileSync(file, Buffer.concat([header, ...body]));
}
