#!/usr/bin/env node
// `npm run experiment -- <experiment.json>`: bundles the headless runner for Node (vite.node.config.ts) and runs it
// with the WebGPU environment (a GPU where Dawn finds one, SwiftShader otherwise).
import { spawnSync } from 'node:child_process';
import { webgpuEnv } from './webgpu-env.mjs';

const build = spawnSync('npx', ['vite', 'build', '--config', 'vite.node.config.ts', '--logLevel', 'warn'], {
  stdio: 'inherit',
});
if (build.status !== 0) process.exit(build.status ?? 1);
const run = spawnSync(process.execPath, ['dist-node/experiment.mjs', ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: webgpuEnv(),
});
process.exit(run.status ?? 1);
