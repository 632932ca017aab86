/**
 * `npm run export -- <run file or experiment file> --out <dir> [--rl-steps N] [--sft-rows N] [--suite-size N]`:
 * writes the run's "Export for TRL" (src/export/trl_export.ts) into <dir>: datasets, rewards.py, stopping.py, the
 * SFTConfig / GRPOConfig JSON, the training scripts and a README. A run file (what the playground exports or
 * `npm run experiment` writes) is validated with the playground's importer; its weights are not needed (a run file
 * with separate weights exports without them). An experiment file gives its config (a seeded one: its first seed).
 * Bundled for Node by vite.node.config.ts; needs no WebGPU.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { buildTrlExport, type ExportSource } from '../export/trl_export';
import { ConfigError } from '../model/config';
import { parseRunFile, RUN_FILE_FORMAT, RunFileError } from '../runs/run_file';
import { experimentsForSeeds, isMatrixPreset, parseExperiment } from './experiment';

const MAX_INPUT_BYTES = 64 * 2 ** 20;
const USAGE =
  'usage: npm run export -- <run.stoptime.json | experiment.json> --out <dir> [--rl-steps N] [--sft-rows N] [--suite-size N]\n' +
  '  --out: the directory to write (created if missing)\n' +
  "  --rl-steps, --sft-rows, --suite-size: export fewer GRPO steps, SFT rows or held-out problems than the run's";

export class ExportError extends Error {
  override name = 'ExportError';
}

interface Args {
  file: string;
  out: string;
  rlSteps?: number;
  sftRows?: number;
  suiteSize?: number;
}

export function parseExportArgs(argv: readonly string[]): Args {
  const positional: string[] = [];
  let out: string | null = null;
  const counts: Record<string, number> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--out' || a === '--rl-steps' || a === '--sft-rows' || a === '--suite-size') {
      const v = argv[++i];
      if (v === undefined || v === '' || v.startsWith('--')) throw new ExportError(`${a}: missing value\n${USAGE}`);
      if (a === '--out') out = v;
      else {
        if (!/^\d{1,7}$/.test(v) || Number(v) < 1) throw new ExportError(`${a}: expected a positive integer, got ${v}`);
        counts[a] = Number(v);
      }
    } else if (a.startsWith('--')) throw new ExportError(`unknown option ${a}\n${USAGE}`);
    else positional.push(a);
  }
  if (positional.length !== 1 || out === null) throw new ExportError(USAGE);
  return {
    file: positional[0]!,
    out,
    rlSteps: counts['--rl-steps'],
    sftRows: counts['--sft-rows'],
    suiteSize: counts['--suite-size'],
  };
}

/** The run or experiment a file holds, validated; throws an ExportError saying what is wrong. */
export function readExportSource(file: string, text: string): ExportSource {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ExportError(
      `${file}: not valid JSON (${e instanceof Error ? e.message : e}); expected a run or experiment file`,
    );
  }
  const record =
    typeof doc === 'object' && doc !== null && !Array.isArray(doc) ? (doc as Record<string, unknown>) : null;
  if (record === null) throw new ExportError(`${file}: expected a JSON object (a run file or an experiment file)`);
  if (record.format === RUN_FILE_FORMAT) {
    const weights = record.weights as { encoding?: unknown } | null | undefined;
    // The export needs the config, not the weights: a run file whose weights are in a separate file is read without.
    const checked = weights?.encoding === 'safetensors-file' ? JSON.stringify({ ...record, weights: null }) : text;
    try {
      const { run } = parseRunFile(checked);
      return { name: run.name, config: run.config };
    } catch (e) {
      if (e instanceof RunFileError) throw new ExportError(`${file}: ${e.message}`);
      throw e;
    }
  }
  if (isMatrixPreset(doc)) {
    throw new ExportError(`${file}: a matrix preset holds several methods; export one of its run files instead`);
  }
  try {
    const [first] = experimentsForSeeds(parseExperiment(doc));
    return { name: first!.name, config: first!.config };
  } catch (e) {
    if (e instanceof ConfigError) {
      throw new ExportError(
        `${file}: neither a run file (no "format": "${RUN_FILE_FORMAT}") nor a valid experiment:\n${e.issues
          .map((i) => `  ${i.path}: ${i.message}`)
          .join('\n')}`,
      );
    }
    throw e;
  }
}

function main(): void {
  const args = parseExportArgs(process.argv.slice(2));
  let text: string;
  try {
    if (statSync(args.file).size > MAX_INPUT_BYTES) throw new ExportError(`${args.file}: larger than 64 MiB`);
    text = readFileSync(args.file, 'utf8');
  } catch (e) {
    if (e instanceof ExportError) throw e;
    throw new ExportError(`${args.file}: cannot read (${e instanceof Error ? e.message : String(e)})`);
  }
  const source = readExportSource(args.file, text);
  const outDir = resolve(args.out);
  const t0 = performance.now();
  const files = buildTrlExport(source, { rlSteps: args.rlSteps, sftRows: args.sftRows, suiteSize: args.suiteSize });
  for (const f of files) {
    const path = join(outDir, f.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, f.text);
  }
  const ms = performance.now() - t0;
  console.log(`wrote ${files.length} files to ${outDir} in ${(ms / 1000).toFixed(1)} s (see its README.md)`);
}

if (process.argv[1]?.endsWith('export.mjs')) {
  try {
    main();
  } catch (err) {
    if (err instanceof ExportError) console.error(err.message);
    else console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  }
}
