/**
 * `npm run experiment -- <experiment.json> [--backend webgpu|cpu]`: runs a headless experiment
 * (src/headless/experiment.ts) on the WebGPU adapter Dawn finds (default), or on the CPU reference backend (the
 * playground's fallback without WebGPU: same sessions, f64 reference model), and writes the run file the playground
 * imports. Bundled for Node by vite.node.config.ts.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../model/config';
import { buildMatrix, matrixToCsv, matrixToJson } from '../state/matrix';
import { exportRunFile } from '../state/run_file';
import type { RunRecord } from '../state/run_record';
import type { Backend } from '../train/backend';
import { createCpuBackend } from '../train/backend_cpu';
import { createGpuBackend } from '../train/backend_gpu';
import { createNodeGpuContext } from './dawn';
import { isMatrixPreset, parseExperiment, parseMatrixPreset, runExperiment } from './experiment';

const MAX_EXPERIMENT_BYTES = 1 << 20;
const USAGE = 'usage: npm run experiment -- <experiment.json> [--backend webgpu|cpu]   (presets: experiments/*.json)';

function parseArgs(argv: readonly string[]): { file: string; backend: 'webgpu' | 'cpu' } {
  const rest = [...argv];
  let backend: 'webgpu' | 'cpu' = 'webgpu';
  const i = rest.indexOf('--backend');
  if (i >= 0) {
    const value = rest[i + 1];
    if (value !== 'webgpu' && value !== 'cpu') throw new Error(`--backend: expected 'webgpu' or 'cpu'\n${USAGE}`);
    backend = value;
    rest.splice(i, 2);
  }
  if (rest.length !== 1 || rest[0]!.startsWith('--')) throw new Error(USAGE);
  return { file: rest[0]!, backend };
}

async function main(): Promise<void> {
  const { file, backend: backendKind } = parseArgs(process.argv.slice(2));
  if (statSync(file).size > MAX_EXPERIMENT_BYTES) throw new Error(`${file}: larger than ${MAX_EXPERIMENT_BYTES} bytes`);
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${e instanceof Error ? e.message : e})`);
  }
  // Validate before touching the adapter: a bad file fails fast with every problem named.
  const matrix = isMatrixPreset(doc) ? parseMatrixPreset(doc) : null;
  const experiments = matrix ? matrix.experiments : [parseExperiment(doc)];
  const ctx = backendKind === 'webgpu' ? await createNodeGpuContext() : null;
  const backend: Backend = ctx ? createGpuBackend(ctx) : createCpuBackend();
  const t0 = performance.now();
  const runs: RunRecord[] = [];
  for (const experiment of experiments) {
    console.log(`experiment ${experiment.name} on ${backend.adapterName}`);
    const { run, state } = await runExperiment(backend, experiment, (line) => console.log(line));
    const { json } = exportRunFile(run, state, 'inline');
    mkdirSync(dirname(experiment.out), { recursive: true });
    writeFileSync(experiment.out, json);
    console.log(`wrote ${experiment.out} (import it in the playground: Runs → Import)`);
    runs.push(run);
  }
  if (matrix) {
    const m = buildMatrix(runs, matrix.task);
    mkdirSync(matrix.outDir, { recursive: true });
    writeFileSync(`${matrix.outDir}/matrix.json`, matrixToJson(m));
    writeFileSync(`${matrix.outDir}/matrix.csv`, matrixToCsv(m));
    console.log(
      `matrix ${matrix.name}: ${runs.length} methods in ${((performance.now() - t0) / 1000).toFixed(1)} s on ${backend.adapterName}; wrote ${matrix.outDir}/matrix.json and matrix.csv`,
    );
  }
  ctx?.device.destroy();
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
