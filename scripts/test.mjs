#!/usr/bin/env node
// The test command (`npm test`): lint and format check, type check, then every test on a real WebGPU adapter.
// It finds an adapter first and fails, saying how to get one, when there is none: GPU tests are never skipped.
//
// Adapters, in Node through Dawn (the `webgpu` package):
//   - a hardware GPU when Dawn's default backend finds one (or VK_ICD_FILENAMES / VK_DRIVER_FILES names a driver):
//     every test runs on it;
//   - otherwise software adapters. SwiftShader (Vulkan, core WebGPU; from Debian's chromium package) runs every GPU
//     test except the long "model learns" run; Mesa's llvmpipe (OpenGL ES, compatibility mode; from libegl-mesa0 and
//     libgles2) runs the whole suite again, learning included, ~10–20× faster. Without llvmpipe, everything runs on
//     SwiftShader (slower).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const baseEnv = { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' };
const vulkanEnv = { ...baseEnv };
if (!baseEnv.VK_ICD_FILENAMES && !baseEnv.VK_DRIVER_FILES && existsSync(SWIFTSHADER_ICD)) {
  vulkanEnv.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  vulkanEnv.LD_LIBRARY_PATH = ['/usr/lib/chromium', baseEnv.LD_LIBRARY_PATH].filter(Boolean).join(':');
}
const glEnv = { ...baseEnv, EGL_PLATFORM: 'surfaceless', STOPTIME_DAWN_BACKEND: 'opengles' };

const HOW_TO_GET_ONE = `No WebGPU adapter could be created, so the GPU tests cannot run (they are never skipped).
To get one:
  - on a machine without a GPU (Debian/Ubuntu): sudo apt-get install -y chromium libegl1 libegl-mesa0 libgles2
    (chromium ships the SwiftShader Vulkan driver at ${SWIFTSHADER_ICD}, Mesa the llvmpipe OpenGL ES driver;
    this script finds both by itself);
  - on a machine with a GPU: install its Vulkan driver and loader (libvulkan1), or point VK_ICD_FILENAMES at its ICD json.`;

function probe(backend, env) {
  const r = spawnSync(process.execPath, ['scripts/probe-adapter.mjs', backend], { env, encoding: 'utf8' });
  if (r.status !== 0) return null;
  const line = r.stdout.trim().split('\n').pop();
  try {
    return JSON.parse(line);
  } catch {
    return null;
  }
}

function run(name, cmd, args, env) {
  console.log(`\n=== ${name}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', env });
  const status = r.status ?? 1;
  if (status !== 0) {
    console.error(`\n${name} failed (exit ${status})`);
    process.exit(status);
  }
}

const vulkan = probe('default', vulkanEnv);
const gl = probe('opengles', glEnv);
if (!vulkan && !gl) {
  console.error(HOW_TO_GET_ONE);
  process.exit(1);
}
const describe = (a) =>
  `${[a.vendor, a.architecture, a.description].filter(Boolean).join(' / ') || 'unnamed adapter'} (${a.backend === 'opengles' ? 'OpenGL ES, compatibility mode' : 'Dawn default backend'})`;

run('biome (lint + format)', 'npx', ['biome', 'check', '.'], baseEnv);
run('typecheck', 'npx', ['tsc', '-p', 'tsconfig.json', '--noEmit'], baseEnv);

const software = (a) =>
  a && (a.architecture === 'swiftshader' || a.vendor === 'mesa' || /llvmpipe|swiftshader/i.test(a.description ?? ''));
if (vulkan && !software(vulkan)) {
  run(`all tests on ${describe(vulkan)}`, 'npx', ['vitest', 'run', ...extra], vulkanEnv);
} else if (vulkan && gl) {
  run(
    `GPU tests on ${describe(vulkan)} (core WebGPU)`,
    'npx',
    ['vitest', 'run', 'tests/kernels', 'tests/model', 'tests/train', '--exclude', LEARNING, ...extra],
    vulkanEnv,
  );
  run(`all tests on ${describe(gl)}`, 'npx', ['vitest', 'run', ...extra], glEnv);
} else if (vulkan) {
  run(`all tests on ${describe(vulkan)}`, 'npx', ['vitest', 'run', ...extra], vulkanEnv);
} else {
  run(`all tests on ${describe(gl)}`, 'npx', ['vitest', 'run', ...extra], glEnv);
}
