// WebGPU in Node for the tests and benches: npm `webgpu` (Dawn) on Vulkan. Without a GPU (the
// default, and always in CI) the driver is SwiftShader, the CPU Vulkan driver Debian's chromium
// ships, with the Vulkan loader chromium ships beside it (so no libvulkan1 is needed). The loader
// is found through LD_LIBRARY_PATH, which a process reads only when it starts: the first call
// re-runs this process with it set. WEBLM_WEBGPU=system uses the system's Vulkan drivers instead.
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';

const CHROMIUM_DIR = '/usr/lib/chromium';
const ICD = `${CHROMIUM_DIR}/vk_swiftshader_icd.json`;

// The environment a child process needs to reach the same WebGPU driver.
export function webgpuEnv(env = process.env) {
  if (env.WEBLM_WEBGPU === 'system') return env;
  if (!fs.existsSync(ICD)) throw new Error(`no SwiftShader at ${ICD}: apt-get install chromium`);
  const paths = (env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  return {...env, VK_ICD_FILENAMES: ICD,
          LD_LIBRARY_PATH: paths.includes(CHROMIUM_DIR) ? env.LD_LIBRARY_PATH : [CHROMIUM_DIR, ...paths].join(':')};
}

// Sets globalThis' WebGPU constants and returns Dawn's GPU object (navigator.gpu's equivalent).
export async function openWebGpu() {
  const env = webgpuEnv();
  if (env !== process.env && (process.env.VK_ICD_FILENAMES !== env.VK_ICD_FILENAMES ||
                              process.env.LD_LIBRARY_PATH !== env.LD_LIBRARY_PATH)) {
    const r = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {stdio: 'inherit', env});
    process.exit(r.status ?? 1);
  }
  const {create, globals} = await import('webgpu');
  Object.assign(globalThis, globals);
  return create(['backend=vulkan']);
}
