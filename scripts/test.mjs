#!/usr/bin/env node
// The test command (`npm test`): lint and format check, type check, then every test on a real WebGPU adapter.
// It finds an adapter first and fails, saying how to get one, when there is none: GPU tests are never skipped.
//
// Adapter discovery: if the environment already names a Vulkan driver (VK_ICD_FILENAMES / VK_DRIVER_FILES, as on a
// GPU machine), it is used as is. Otherwise, when Debian's Chromium is installed, its SwiftShader Vulkan driver is
// used (a software adapter: slow but real).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const env = { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' };
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!env.VK_ICD_FILENAMES && !env.VK_DRIVER_FILES && existsSync(SWIFTSHADER_ICD)) {
  env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  env.LD_LIBRARY_PATH = ['/usr/lib/chromium', env.LD_LIBRARY_PATH].filter(Boolean).join(':');
}

const HOW_TO_GET_ONE = `No WebGPU adapter could be created, so the GPU tests cannot run (they are never skipped).
To get one:
  - on a machine without a GPU (Debian/Ubuntu): sudo apt-get install -y chromium
    (it ships the SwiftShader Vulkan driver at ${SWIFTSHADER_ICD}; this script then uses it automatically);
  - on a machine with a GPU: install its Vulkan driver and loader (libvulkan1), or point VK_ICD_FILENAMES at its ICD json.`;

function run(cmd, args, extraEnv = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...env, ...extraEnv } });
  return r.status ?? 1;
}

// 1. An adapter must exist. Probe in a child process so the probe's Dawn instance is gone before tests start.
const probe = spawnSync(process.execPath, ['scripts/probe-adapter.mjs'], { env, encoding: 'utf8' });
if (probe.status !== 0) {
  process.stderr.write(probe.stdout + probe.stderr);
  process.stderr.write(`\n${HOW_TO_GET_ONE}\n`);
  process.exit(1);
}
process.stdout.write(probe.stdout);

const steps = [
  ['biome (lint + format)', 'npx', ['biome', 'check', '.']],
  ['typecheck', 'npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']],
  ['unit, kernel and model tests (Dawn)', 'npx', ['vitest', 'run', ...process.argv.slice(2)]],
];
for (const [name, cmd, args] of steps) {
  console.log(`\n=== ${name}`);
  const status = run(cmd, args);
  if (status !== 0) {
    console.error(`\n${name} failed (exit ${status})`);
    process.exit(status);
  }
}
