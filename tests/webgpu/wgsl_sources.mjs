// The WebGPU backend's kernels as the C++ build embeds them (src/backend/webgpu/
// embed_shaders.cmake): every .wgsl file with an @compute entry point, its `//!include x.wgsl`
// lines replaced by that file (each file once, depth first). Each composed line remembers the
// file and line it came from, so compiler messages can point at the real source.
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

export const SHADER_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)),
                                       '../../src/backend/webgpu/shaders');

function expand(file, seen, out) {
  if (seen.has(file)) return;
  seen.add(file);
  const lines = fs.readFileSync(path.join(SHADER_DIR, file), 'utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((text, i) => {
    const include = /^\/\/!include ([A-Za-z0-9_]+\.wgsl)$/.exec(text);
    if (include) expand(include[1], seen, out);
    else out.push({text, file, line: i + 1});
  });
}

// [{name, source, origin(line) -> "file.wgsl:line"}] for every kernel.
export function kernels() {
  return fs.readdirSync(SHADER_DIR).filter((f) => f.endsWith('.wgsl')).sort()
      .filter((f) => fs.readFileSync(path.join(SHADER_DIR, f), 'utf8').includes('@compute'))
      .map((file) => {
        const lines = [];
        expand(file, new Set(), lines);
        return {
          name: file.replace(/\.wgsl$/, ''),
          source: lines.map((l) => l.text).join('\n') + '\n',
          origin: (n) => (lines[n - 1] ? `${lines[n - 1].file}:${lines[n - 1].line}` : `${file}:?`),
        };
      });
}
