/**
 * `npm run experiment -- <experiment.json>`: runs a headless experiment (src/headless/experiment.ts) on the WebGPU
 * adapter Dawn finds and writes the run file the playground imports. Bundled for Node by vite.node.config.ts.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { create, globals } from 'webgpu';
import { createGpuContext } from '../gpu/context';
import { ConfigError } from '../model/config';
import { exportRunFile } from '../state/run_file';
import { createGpuBackend } from '../train/backend_gpu';
import { parseExperiment, runExperiment } from './experiment';

Object.assign(globalThis, globals);

const MAX_EXPERIMENT_BYTES = 1 << 20;

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file) throw new Error('usage: npm run experiment -- <experiment.json>   (presets: experiments/*.json)');
  if (statSync(file).size > MAX_EXPERIMENT_BYTES) throw new Error(`${file}: larger than ${MAX_EXPERIMENT_BYTES} bytes`);
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${e instanceof Error ? e.message : e})`);
  }
  const experiment = parseExperiment(doc);
  const ctx = await createGpuContext(create([]) as unknown as GPU);
  console.log(`experiment ${experiment.name} on ${ctx.adapterName}`);
  const { run, state } = await runExperiment(createGpuBackend(ctx), experiment, (line) => console.log(line));
  const { json } = exportRunFile(run, state, 'inline');
  mkdirSync(dirname(experiment.out), { recursive: true });
  writeFileSync(experiment.out, json);
  console.log(`wrote ${experiment.out} (import it in the playground: Runs → Import)`);
  ctx.device.destroy();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    if (err instanceof ConfigError) {
      console.error(`invalid experiment:\n${err.issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`);
    } else {
      console.error(err instanceof Error ? err.message : err);
    }
    process.exit(1);
  },
);
