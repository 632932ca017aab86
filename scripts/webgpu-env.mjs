// The environment Dawn (the `webgpu` package) needs to find an adapter. Shared by test.mjs and node-entry.mjs.
// - Default (Vulkan): if no Vulkan driver is named and Debian's chromium package is installed, use its SwiftShader
//   driver (a software adapter).
// - STOPTIME_DAWN_BACKEND=opengles (src/headless/dawn.ts): Mesa's llvmpipe through EGL, headless. Chromium's
//   directory must then stay off LD_LIBRARY_PATH, or its own libEGL (ANGLE) is loaded instead of Mesa's.
import { existsSync } from 'node:fs';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

export function webgpuEnv(base = process.env) {
  const env = { ...base, XDG_RUNTIME_DIR: base.XDG_RUNTIME_DIR ?? '/tmp' };
  if (env.STOPTIME_DAWN_BACKEND === 'opengles') {
    env.EGL_PLATFORM = env.EGL_PLATFORM ?? 'surfaceless';
    return env;
  }
  if (!env.VK_ICD_FILENAMES && !env.VK_DRIVER_FILES && existsSync(SWIFTSHADER_ICD)) {
    env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    env.LD_LIBRARY_PATH = ['/usr/lib/chromium', env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  }
  return env;
}
