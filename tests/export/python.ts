/**
 * Runs the exported Python from the export tests: writes the export's .py files to a temporary folder and runs
 * tests/export/check.py on a cases file there (one python3 process per call; the machine's python3, standard
 * library only).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PYTHON_FILES } from '../../src/export/trl_export';

const CHECK = join(import.meta.dirname, 'check.py');

const made: string[] = [];

/** Removes the folders tempDir made (each test file calls it in afterAll). */
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A new temporary folder, removed by removeTempDirs. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** A temporary folder holding the export's Python files (no reward_config.json: the defaults). */
export function writePythonFiles(): string {
  const dir = tempDir('stoptime-export-py-');
  for (const [name, text] of Object.entries(PYTHON_FILES)) writeFileSync(join(dir, name), text);
  return dir;
}

/** Runs `python3 [args]` in `cwd`; throws with its stderr when it fails. */
export function python(args: string[], cwd?: string): string {
  const r = spawnSync('python3', args, { cwd, encoding: 'utf8', maxBuffer: 256 * 2 ** 20 });
  if (r.error) throw new Error(`python3 could not start: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`python3 ${args.join(' ')} exited ${r.status}:\n${r.stderr.slice(-4000)}`);
  return r.stdout;
}

/** check.py's results for `cases` (see its docstring) on the Python files in `dir`. */
export function runCheck<T>(dir: string, cases: unknown): T {
  const path = join(dir, `cases-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify(cases));
  return JSON.parse(python([CHECK, dir, path])) as T;
}

/** Python's float text for ±∞ (check.py writes non-finite numbers as strings) back to numbers. */
export function pyNumber(x: number | string): number {
  if (typeof x === 'number') return x;
  if (x === 'inf') return Number.POSITIVE_INFINITY;
  if (x === '-inf') return Number.NEGATIVE_INFINITY;
  return Number.NaN;
}
