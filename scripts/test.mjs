#!/usr/bin/env node
// The test command (`npm test`): lint and format check, type check, then every test on a real WebGPU adapter (Dawn,
// the `webgpu` package). It finds an adapter first and fails, saying how to get one, when there is none: GPU tests
// are never skipped.
//
// Adapter: a hardware GPU when Dawn finds one (or VK_ICD_FILENAMES / VK_DRIVER_FILES names a Vulkan driver);
// otherwise SwiftShader, the software Vulkan driver that Debian's chromium package ships (core WebGPU, slow but real).
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { SWIFTSHADER_ICD, webgpuEnv } from './webgpu-env.mjs';

const env = webgpuEnv();

const HOW_TO_GET_ONE = `No WebGPU adapter could be created, so the GPU tests cannot run (they are never skipped).
To get one:
  - on a machine without a GPU (Debian/Ubuntu): sudo apt-get install -y chromium
    (it ships the SwiftShader Vulkan driver at ${SWIFTSHADER_ICD}, which this script then uses by itself);
  - on a machine with a GPU: install its Vulkan driver and loader (libvulkan1), or point VK_ICD_FILENAMES at its ICD json.`;

function run(name, cmd, args) {
  console.log(`\n=== ${name}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', env });
  const status = r.status ?? 1;
  if (status !== 0) {
    console.error(`\n${name} failed (exit ${status})`);
    process.exit(status);
  }
}

// Probe in a child process, so its Dawn instance is gone before the tests start.
const probe = spawnSync(process.execPath, ['scripts/probe-adapter.mjs'], { env, encoding: 'utf8' });
if (probe.status !== 0) {
  process.stderr.write(probe.stdout + probe.stderr);
  console.error(`\n${HOW_TO_GET_ONE}`);
  process.exit(1);
}
process.stdout.write(probe.stdout);

/** Runs a command with its output captured; resolves to its exit status and output. */
function runCaptured(cmd, args, extraEnv = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: { ...env, ...extraEnv } });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('close', (status) => resolve({ status: status ?? 1, output }));
  });
}

run('biome (lint + format)', 'npx', ['biome', 'check', '.']);
// The type check (one thread) and the browser tests' production build (served to every browser test file, see
// tests/e2e/browser.ts) run side by side.
const E2E_BUILD = 'dist-e2e/app';
console.log('\n=== typecheck, and the production build for the browser tests');
const [typecheck, e2eBuild] = await Promise.all([
  runCaptured('npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']),
  runCaptured('npx', ['vite', 'build', '--outDir', E2E_BUILD, '--emptyOutDir', '--logLevel', 'warn'], {
    NODE_ENV: 'production',
  }),
]);
for (const [name, r] of [
  ['typecheck', typecheck],
  ['production build', e2eBuild],
]) {
  process.stdout.write(r.output);
  if (r.status !== 0) {
    console.error(`\n${name} failed (exit ${r.status})`);
    process.exit(r.status);
  }
}
// Unit, kernel, model and training tests run in parallel; the browser tests run afterwards, one file at a time, so
// their timing checks (no main-thread task over 50 ms) are not measured on a machine busy with other tests.
const extra = process.argv.slice(2);
const suites = [
  {
    name: 'unit, kernel, model and training tests (Dawn)',
    results: 'test-results/vitest-unit.json',
    args: ['--exclude', 'tests/e2e/**', ...extra],
  },
  {
    name: 'end-to-end tests (headless Chromium, WebGPU)',
    results: 'test-results/vitest-e2e.json',
    args: ['tests/e2e/', '--no-file-parallelism', ...extra],
    env: { STOPTIME_E2E_PREBUILT: E2E_BUILD },
  },
];
let passed = 0;
let failed = 0;
let total = 0;
let exitCode = 0;
for (const suite of suites) {
  console.log(`\n=== ${suite.name}`);
  rmSync(suite.results, { force: true });
  const r = spawnSync(
    'npx',
    ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${suite.results}`, ...suite.args],
    { stdio: 'inherit', env: { ...env, ...suite.env } },
  );
  if ((r.status ?? 1) !== 0) exitCode = r.status ?? 1;
  // Counts come from Vitest's JSON report (absent when Vitest could not start).
  try {
    const report = JSON.parse(readFileSync(suite.results, 'utf8'));
    passed += report.numPassedTests;
    failed += report.numFailedTests;
    total += report.numTotalTests;
  } catch {
    console.error(`${suite.name}: no report at ${suite.results}`);
    exitCode ||= 1;
  }
}
// One plain closing line with the counts.
console.log(`\n${passed} passed, ${failed} failed`);
if (total === 0) {
  console.error('no test ran');
  process.exit(1);
}
process.exit(exitCode);
