/**
 * `npm run experiment -- <experiment.json> [--backend webgpu|cpu] [--out-dir DIR]`: runs a headless experiment
 * (src/headless/experiment.ts) on the WebGPU adapter Dawn finds (default), or on the CPU reference backend (the
 * playground's fallback without WebGPU: same sessions, f64 reference model), and writes the run file the playground
 * imports. A seeded experiment writes one run file per seed and the summary across seeds (src/headless/
 * seed_summary.ts). Outputs stay under the working directory, or under `--out-dir` (src/headless/paths.ts); every
 * output path is checked before anything runs. Bundled for Node by vite.node.config.ts.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../model/config';
import { buildMatrix, matrixToCsv, matrixToJson } from '../runs/matrix';
import { exportRunFile } from '../runs/run_file';
import type { RunRecord } from '../runs/run_record';
import type { Backend } from '../train/backend';
import { createCpuBackend } from '../train/backend_cpu';
import { createGpuBackend } from '../train/backend_gpu';
import { MAX_SUITE_DECODE_ROWS } from '../train/suites';
import { createNodeGpuContext } from './dawn';
import {
  type Experiment,
  experimentsForSeeds,
  isMatrixPreset,
  matrixForSeeds,
  parseExperiment,
  parseMatrixPreset,
  runExperiment,
} from './experiment';
import { OutputPathError, resolveOutputPath } from './paths';
import { renderSeedSummary, summarizeSeedRunFiles } from './seed_summary';

const MAX_EXPERIMENT_BYTES = 1 << 20;
const USAGE =
  'usage: npm run experiment -- <experiment.json> [--backend webgpu|cpu] [--out-dir DIR]   (presets: experiments/*.json)\n' +
  '  --out-dir: the directory outputs are written under (default: the working directory)\n' +
  "  --seeds 1,2: run only these of a seeded experiment's or matrix preset's seeds (to split them across processes or machines)\n" +
  '  --summarize: run nothing; write summary.json and claims.md of a seeded experiment from the run files of all its seeds\n' +
  "  --suite-rows N: prompts per generate call when evaluating suites (default: the session decoder's; results do not depend on it)";

interface Args {
  file: string;
  backend: 'webgpu' | 'cpu';
  outDir: string;
  seeds: number[] | null;
  summarize: boolean;
  suiteDecodeRows: number | undefined;
}

function parseArgs(argv: readonly string[]): Args {
  const rest = [...argv];
  let backend: 'webgpu' | 'cpu' = 'webgpu';
  let outDir = process.cwd();
  const i = rest.indexOf('--backend');
  if (i >= 0) {
    const value = rest[i + 1];
    if (value !== 'webgpu' && value !== 'cpu') throw new Error(`--backend: expected 'webgpu' or 'cpu'\n${USAGE}`);
    backend = value;
    rest.splice(i, 2);
  }
  const j = rest.indexOf('--out-dir');
  if (j >= 0) {
    const value = rest[j + 1];
    if (value === undefined || value === '' || value.startsWith('--'))
      throw new Error(`--out-dir: missing value\n${USAGE}`);
    outDir = value;
    rest.splice(j, 2);
  }
  let seeds: number[] | null = null;
  const k = rest.indexOf('--seeds');
  if (k >= 0) {
    const value = rest[k + 1] ?? '';
    if (!/^\d{1,10}(,\d{1,10}){0,31}$/.test(value)) throw new Error(`--seeds: expected seeds like 1,2,3\n${USAGE}`);
    seeds = value.split(',').map(Number);
    rest.splice(k, 2);
  }
  let suiteDecodeRows: number | undefined;
  const r = rest.indexOf('--suite-rows');
  if (r >= 0) {
    const value = rest[r + 1] ?? '';
    if (!/^\d{1,4}$/.test(value) || Number(value) < 1 || Number(value) > MAX_SUITE_DECODE_ROWS) {
      throw new Error(`--suite-rows: expected a number of rows from 1 to ${MAX_SUITE_DECODE_ROWS}\n${USAGE}`);
    }
    suiteDecodeRows = Number(value);
    rest.splice(r, 2);
  }
  const m = rest.indexOf('--summarize');
  const summarize = m >= 0;
  if (summarize) rest.splice(m, 1);
  if (summarize && seeds !== null) throw new Error(`--summarize takes every seed; leave out --seeds\n${USAGE}`);
  if (rest.length !== 1 || rest[0]!.startsWith('--')) throw new Error(USAGE);
  return { file: rest[0]!, backend, outDir, seeds, summarize, suiteDecodeRows };
}

/** The experiment restricted to the seeds named on the command line (each must be one of its own). */
function withSeeds(e: Experiment, only: number[] | null): Experiment {
  if (only === null) return e;
  if (!e.seeds) throw new Error('--seeds: this experiment has no "seeds" list');
  const unknown = only.filter((s) => !e.seeds!.includes(s));
  if (unknown.length > 0)
    throw new Error(`--seeds: ${unknown.join(', ')} not among the experiment's seeds (${e.seeds.join(', ')})`);
  return { ...e, seeds: e.seeds.filter((s) => only.includes(s)) };
}

async function main(): Promise<void> {
  const { file, backend: backendKind, outDir, seeds, summarize, suiteDecodeRows } = parseArgs(process.argv.slice(2));
  if (statSync(file).size > MAX_EXPERIMENT_BYTES) throw new Error(`${file}: larger than ${MAX_EXPERIMENT_BYTES} bytes`);
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${e instanceof Error ? e.message : e})`);
  }
  // Validate before touching the adapter: a bad file or output path fails fast with every problem named.
  const matrix = isMatrixPreset(doc) ? matrixForSeeds(parseMatrixPreset(doc), seeds) : null;
  const seeded: Experiment | null = matrix ? null : withSeeds(parseExperiment(doc), seeds);
  const experiments = (matrix ? matrix.experiments : experimentsForSeeds(seeded!)).map((e) => ({
    ...e,
    out: resolveOutputPath(e.out, outDir),
  }));
  // The files written beside the runs, each resolved (a link already at one of these names must not lead out).
  const groupDirName = matrix ? matrix.outDir : seeded!.seeds ? seeded!.out : null;
  const groupFile = (name: string) => resolveOutputPath(`${groupDirName}/${name}`, outDir);
  const groupFiles =
    groupDirName === null
      ? null
      : matrix
        ? { first: groupFile('matrix.json'), second: groupFile('matrix.csv') }
        : { first: groupFile('summary.json'), second: groupFile('claims.md') };
  if (summarize) {
    if (!seeded?.seeds || !groupFiles)
      throw new Error('--summarize: only a seeded experiment (with a "seeds" list) has a summary');
    const files = experiments.map((e) => {
      if (!existsSync(e.out))
        throw new Error(`--summarize: ${e.out} is missing (seed ${e.config.seed} has not run here)`);
      return { path: e.out, text: readFileSync(e.out, 'utf8') };
    });
    const { summaryJson, claims } = summarizeSeedRunFiles(seeded.name, seeded.seeds, files);
    writeFileSync(groupFiles.first, summaryJson);
    writeFileSync(groupFiles.second, claims);
    console.log(claims);
    console.log(`${seeded.name}: ${files.length} seeds; wrote ${groupFiles.first} and ${groupFiles.second}`);
    return;
  }
  const ctx = backendKind === 'webgpu' ? await createNodeGpuContext() : null;
  const backend: Backend = ctx ? createGpuBackend(ctx) : createCpuBackend();
  const t0 = performance.now();
  const runs: RunRecord[] = [];
  for (const experiment of experiments) {
    const seed = seeded?.seeds || (matrix && matrix.seeds.length > 1) ? ` (seed ${experiment.config.seed})` : '';
    console.log(`experiment ${experiment.name}${seed} on ${backend.adapterName}`);
    const { run, state } = await runExperiment(backend, experiment, (line) => console.log(line), undefined, {
      ...(suiteDecodeRows !== undefined ? { suiteDecodeRows } : {}),
    });
    const { json } = exportRunFile(run, state, 'inline');
    mkdirSync(dirname(experiment.out), { recursive: true });
    writeFileSync(experiment.out, json);
    console.log(`wrote ${experiment.out} (import it in the playground: Runs → Import)`);
    runs.push(run);
  }
  const wall = `${((performance.now() - t0) / 1000).toFixed(1)} s on ${backend.adapterName}`;
  if (matrix && groupFiles) {
    const m = buildMatrix(runs, matrix.task);
    mkdirSync(dirname(groupFiles.first), { recursive: true });
    writeFileSync(groupFiles.first, matrixToJson(m));
    writeFileSync(groupFiles.second, matrixToCsv(m));
    console.log(
      `matrix ${matrix.name}: ${runs.length} runs (${matrix.seeds.length} seed${matrix.seeds.length === 1 ? '' : 's'}) in ${wall}; wrote ${groupFiles.first} and ${groupFiles.second}`,
    );
  } else if (seeded?.seeds && groupFiles) {
    const { summaryJson, claims } = renderSeedSummary(seeded.name, runs);
    mkdirSync(dirname(groupFiles.first), { recursive: true });
    writeFileSync(groupFiles.first, summaryJson);
    writeFileSync(groupFiles.second, claims);
    console.log(claims);
    console.log(`${seeded.name}: ${runs.length} seeds in ${wall}; wrote ${groupFiles.first} and ${groupFiles.second}`);
  }
  ctx?.device.destroy();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    if (err instanceof OutputPathError) {
      console.error(err.message);
    } else if (err instanceof ConfigError) {
      console.error(`invalid experiment:\n${err.issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`);
    } else {
      console.error(err instanceof Error ? err.message : err);
    }
    process.exit(1);
  },
);
