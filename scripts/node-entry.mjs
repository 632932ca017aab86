// Shared by `npm run bench` and `npm run experiment`: bundles the Node entry points (vite.node.config.ts) and runs
// one of them (dist-node/<name>.mjs) with the WebGPU environment, passing on the command-line arguments.
import { spawnSync } from 'node:child_process';
import { webgpuEnv } from './webgpu-env.mjs';

export function buildAndRun(name) {
  const build = spawnSync('npx', ['vite', 'build', '--config', 'vite.node.config.ts', '--logLevel', 'warn'], {
    stdio: 'inherit',
  });
  if (build.status !== 0) process.exit(build.status ?? 1);
  const run = spawnSync(process.execPath, [`dist-node/${name}.mjs`, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: webgpuEnv(),
  });
  process.exit(run.status ?? 1);
}
