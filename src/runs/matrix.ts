/**
 * The generalization lab's results matrix: rows = saved runs (one per method), columns = the task's evaluation suites,
 * each cell a success count with its 95% Wilson score interval. Built from `RunRecord.suiteResults`
 * (src/train/suite_types.ts); shown by src/ui/MatrixView.tsx and written by the headless runner (src/headless/cli.ts).
 *
 * Columns are ordered by kind (id, training, instruction, difficulty, fake), then by the task's variant order
 * (`getTask(task).variants`); suites the task does not list come last within their kind, by name.
 *
 * Two export formats:
 *
 *   JSON (`matrixToJson`), schema version 1:
 *     { format: 'stoptime-matrix', schemaVersion: 1, task,
 *       interval: { method: 'wilson', confidence: 0.95, z },
 *       rows:    [{ runId, name, config: { task, targetStyle, instructions, modelSize, sftSteps, rlSteps }, stepsDone }],
 *       columns: [{ suite, kind, unit }],
 *       cells:   [{ runId, suite, kind, successes, problems, tooLong, rate, ciLow, ciHigh, turns, parsedTurns }],
 *                (present cells, row-major)
 *       warnings: [string] }
 *     `rate` is null for a suite of zero problems (its interval is then [0, 1]); `rlSteps` null for a run without an
 *     RL stage. `tooLong`: problems that failed because a prompt did not fit the context (counted in `problems`; 0
 *     for results saved before it was recorded). `turns` / `parsedTurns`: completions generated and those whose answer
 *     the task parses (SuiteResult.turns; both null for results saved before they were recorded). A (row, column)
 *     pair with no cell means that run was not evaluated on that suite.
 *
 *   CSV (`matrixToCsv`, RFC 4180, CRLF line ends), one line per present cell:
 *     method,suite,kind,successes,problems,too_long,rate,ci_low,ci_high,run_id,turns,parsed_turns
 *     Text fields are always quoted (inner quotes doubled); run names are untrusted, so a text field starting with
 *     = + - @ tab or CR gets a leading `'`, which spreadsheets show as text instead of evaluating it as a formula.
 *
 * Pure (no DOM): the same code runs in the page and in Node.
 */
import { getTask } from '../tasks/index';
import type { TaskId } from '../tasks/types';
import { rlConfigFor } from '../train/run_config';
import type { SuiteKind, SuiteResult } from '../train/suite_types';
import type { RunRecord } from './run_record';

export const MATRIX_FORMAT = 'stoptime-matrix';
export const MATRIX_SCHEMA_VERSION = 1;

/** Column groups, left to right: in distribution first, then what each method trained on, then the shifts. */
export const SUITE_KIND_ORDER: readonly SuiteKind[] = ['id', 'training', 'instruction', 'difficulty', 'fake'];

/** Two-sided 95% normal quantile, Φ⁻¹(0.975). */
export const WILSON_Z_95 = 1.959963984540054;

/**
 * Wilson score interval of `successes` out of `trials` at normal quantile `z` (default 95%):
 *   centre ± half, centre = (p̂ + z²/2n) / (1 + z²/n), half = z / (1 + z²/n) · √(p̂(1−p̂)/n + z²/4n²).
 * Unlike the normal (Wald) interval it stays inside [0, 1] and is not degenerate at 0/n or n/n, which small
 * evaluation suites hit often. Zero trials give [0, 1] (no information). Throws a RangeError on counts that are not
 * non-negative integers with successes ≤ trials.
 */
export function wilsonInterval(successes: number, trials: number, z: number = WILSON_Z_95): [number, number] {
  if (!Number.isSafeInteger(trials) || trials < 0)
    throw new RangeError(`wilsonInterval: trials must be a non-negative integer, got ${trials}`);
  if (!Number.isSafeInteger(successes) || successes < 0 || successes > trials)
    throw new RangeError(`wilsonInterval: successes must be an integer in 0..${trials}, got ${successes}`);
  if (!Number.isFinite(z) || z <= 0) throw new RangeError(`wilsonInterval: z must be a positive number, got ${z}`);
  if (trials === 0) return [0, 1];
  const n = trials;
  const p = successes / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z / denom) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // The bounds are exactly 0 and 1 at the extremes; rounding would otherwise leave ±1e-17.
  const lo = successes === 0 ? 0 : Math.max(0, centre - half);
  const hi = successes === n ? 1 : Math.min(1, centre + half);
  return [lo, hi];
}

/** What the matrix records of a run's config: the settings that tell the methods apart. */
export interface MatrixRunSummary {
  task: TaskId;
  targetStyle: 'cot' | 'answer';
  instructions: 'fixed' | 'diverse';
  modelSize: string;
  /** Configured SFT steps. */
  sftSteps: number;
  /**
   * Configured RL steps of a run that had an RL stage (`rlStartStep` set), else null. Whether there was a stage comes
   * from the run, not the config: an SFT-only run keeps valid RL settings in its config. The steps actually done are
   * in `stepsDone`.
   */
  rlSteps: number | null;
  /** Timeline steps done: the SFT steps, then the RL steps (one per RL step, whatever its optimiser steps). */
  stepsDone: number;
}

export interface MatrixRow {
  runId: string;
  /** The run's name (untrusted text: imported runs carry any name). */
  label: string;
  summary: MatrixRunSummary;
}

export interface MatrixColumn {
  /** Variant id of the suite. */
  suite: string;
  kind: SuiteKind;
  unit: 'episode' | 'answer';
}

export interface MatrixCell {
  successes: number;
  problems: number;
  /** Problems that failed because a prompt did not fit the context (part of `problems`; SuiteResult.tooLong). */
  tooLong: number;
  /** successes / problems; null when the suite had no problems. */
  rate: number | null;
  /** Completions generated and those the task parsed (SuiteResult.turns, .parsedTurns); null when not recorded. */
  turns: number | null;
  parsedTurns: number | null;
  /** 95% Wilson score interval of the rate ([0, 1] for zero problems). */
  ci: [number, number];
}

export interface ResultsMatrix {
  task: TaskId;
  rows: MatrixRow[];
  columns: MatrixColumn[];
  /** cells[row][column]; null when that run has no result for that suite. */
  cells: (MatrixCell | null)[][];
  /** Results left out or disagreements resolved while building (duplicate suites, impossible counts, …). */
  warnings: string[];
}

function summaryOf(run: RunRecord): MatrixRunSummary {
  const c = run.config;
  return {
    task: c.task.id,
    targetStyle: c.task.targetStyle,
    instructions: c.task.instructions,
    modelSize: c.model.size,
    sftSteps: c.sft.steps,
    rlSteps: run.rlStartStep != null ? rlConfigFor(c).steps : null,
    stepsDone: run.stepsDone,
  };
}

/** SuiteResult.tooLong, 0 when absent (results saved before it was recorded). */
function tooLongOf(r: SuiteResult): number {
  return r.tooLong ?? 0;
}

function countIssue(r: SuiteResult): string | null {
  const { problems, successes } = r;
  const tooLong = tooLongOf(r);
  if (!Number.isSafeInteger(problems) || problems < 0) return `problems is ${problems}, not a non-negative integer`;
  if (!Number.isSafeInteger(successes) || successes < 0) return `successes is ${successes}, not a non-negative integer`;
  if (successes > problems) return `successes ${successes} > problems ${problems}`;
  if (!Number.isSafeInteger(tooLong) || tooLong < 0) return `tooLong is ${tooLong}, not a non-negative integer`;
  // A problem refused as too long is a failure.
  if (tooLong > problems - successes) return `tooLong ${tooLong} > failures ${problems - successes}`;
  if ((r.turns === undefined) !== (r.parsedTurns === undefined)) return 'turns and parsedTurns must come together';
  if (r.turns !== undefined && r.parsedTurns !== undefined) {
    if (!Number.isSafeInteger(r.turns) || r.turns < 0) return `turns is ${r.turns}, not a non-negative integer`;
    if (!Number.isSafeInteger(r.parsedTurns) || r.parsedTurns < 0 || r.parsedTurns > r.turns) {
      return `parsedTurns ${r.parsedTurns} is not an integer in [0, turns ${r.turns}]`;
    }
  }
  return null;
}

function runRef(run: RunRecord): string {
  return `run ${JSON.stringify(run.name)} (${run.id})`;
}

/**
 * The valid suite results of `run` for `task`, by suite id: the first result of each suite with consistent counts.
 * Left-out results are described in `warnings` when given.
 */
function usableResults(run: RunRecord, task: TaskId, warnings?: string[]): Map<string, SuiteResult> {
  const out = new Map<string, SuiteResult>();
  (run.suiteResults ?? []).forEach((r, i) => {
    if (r.task !== task) return;
    const where = `${runRef(run)}: suiteResults[${i}] (suite '${r.suite}')`;
    const issue = countIssue(r);
    if (issue !== null) {
      warnings?.push(`${where}: ${issue}; left out`);
      return;
    }
    if (out.has(r.suite)) {
      warnings?.push(`${where}: a second result for this suite; the first is used`);
      return;
    }
    out.set(r.suite, r);
  });
  return out;
}

/** The suite result a matrix cell was built from (same choice as `buildMatrix`), or null. */
export function findSuiteResult(run: RunRecord, task: TaskId, suite: string): SuiteResult | null {
  return usableResults(run, task).get(suite) ?? null;
}

/** Whether `run` has at least one usable suite result for `task` (i.e. it would be a row of the matrix). */
export function hasSuiteResults(run: RunRecord, task: TaskId): boolean {
  return usableResults(run, task).size > 0;
}

/** The tasks that `runs` hold suite results for, in first-seen order. */
export function suiteTasks(runs: readonly RunRecord[]): TaskId[] {
  const tasks: TaskId[] = [];
  for (const run of runs) for (const r of run.suiteResults ?? []) if (!tasks.includes(r.task)) tasks.push(r.task);
  return tasks;
}

/**
 * The results matrix of `task` over `runs` (in the given order): one row per run with suite results for the task,
 * one column per suite any of them was evaluated on. A suite whose kind or unit differs between runs takes the
 * first run's (and a warning says so). Throws on an unknown task.
 */
export function buildMatrix(runs: readonly RunRecord[], task: TaskId): ResultsMatrix {
  const variants: readonly string[] = getTask(task).variants;
  const warnings: string[] = [];
  const rows: MatrixRow[] = [];
  const perRow: Map<string, SuiteResult>[] = [];
  const columnsBySuite = new Map<string, MatrixColumn>();
  for (const run of runs) {
    const results = usableResults(run, task, warnings);
    if (results.size === 0) continue;
    rows.push({ runId: run.id, label: run.name, summary: summaryOf(run) });
    perRow.push(results);
    for (const r of results.values()) {
      const col = columnsBySuite.get(r.suite);
      if (!col) columnsBySuite.set(r.suite, { suite: r.suite, kind: r.kind, unit: r.unit });
      else if (col.kind !== r.kind || col.unit !== r.unit)
        warnings.push(
          `${runRef(run)}: suite '${r.suite}' is ${r.kind}/${r.unit}, an earlier run has it as ${col.kind}/${col.unit}; the matrix uses ${col.kind}/${col.unit}`,
        );
    }
  }
  const kindRank = (k: SuiteKind) => {
    const i = SUITE_KIND_ORDER.indexOf(k);
    return i < 0 ? SUITE_KIND_ORDER.length : i;
  };
  const variantRank = (s: string) => {
    const i = variants.indexOf(s);
    return i < 0 ? variants.length : i;
  };
  const columns = [...columnsBySuite.values()].sort(
    (a, b) =>
      kindRank(a.kind) - kindRank(b.kind) ||
      variantRank(a.suite) - variantRank(b.suite) ||
      (a.suite < b.suite ? -1 : a.suite > b.suite ? 1 : 0),
  );
  const cells = perRow.map((results) =>
    columns.map((col): MatrixCell | null => {
      const r = results.get(col.suite);
      if (!r) return null;
      return {
        successes: r.successes,
        problems: r.problems,
        tooLong: tooLongOf(r),
        rate: r.problems === 0 ? null : r.successes / r.problems,
        ci: wilsonInterval(r.successes, r.problems),
        turns: r.turns ?? null,
        parsedTurns: r.parsedTurns ?? null,
      };
    }),
  );
  return { task, rows, columns, cells, warnings };
}

// ---------------------------------------------------------------------------------------------------------------
// Export

/** The JSON document `matrixToJson` writes (schema version 1; see the module comment). */
export interface MatrixJson {
  format: typeof MATRIX_FORMAT;
  schemaVersion: typeof MATRIX_SCHEMA_VERSION;
  task: TaskId;
  interval: { method: 'wilson'; confidence: 0.95; z: number };
  rows: { runId: string; name: string; config: Omit<MatrixRunSummary, 'stepsDone'>; stepsDone: number }[];
  columns: MatrixColumn[];
  cells: {
    runId: string;
    suite: string;
    kind: SuiteKind;
    successes: number;
    problems: number;
    tooLong: number;
    rate: number | null;
    ciLow: number;
    ciHigh: number;
    turns: number | null;
    parsedTurns: number | null;
  }[];
  warnings: string[];
}

/** The matrix as a MatrixJson document. */
export function matrixJsonDocument(m: ResultsMatrix): MatrixJson {
  const cells: MatrixJson['cells'] = [];
  m.rows.forEach((row, i) => {
    m.columns.forEach((col, j) => {
      const c = m.cells[i]?.[j];
      if (!c) return;
      cells.push({
        runId: row.runId,
        suite: col.suite,
        kind: col.kind,
        successes: c.successes,
        problems: c.problems,
        tooLong: c.tooLong,
        rate: c.rate,
        ciLow: c.ci[0],
        ciHigh: c.ci[1],
        turns: c.turns,
        parsedTurns: c.parsedTurns,
      });
    });
  });
  return {
    format: MATRIX_FORMAT,
    schemaVersion: MATRIX_SCHEMA_VERSION,
    task: m.task,
    interval: { method: 'wilson', confidence: 0.95, z: WILSON_Z_95 },
    rows: m.rows.map((r) => {
      const { stepsDone, ...config } = r.summary;
      return { runId: r.runId, name: r.label, config, stepsDone };
    }),
    columns: m.columns.map((c) => ({ ...c })),
    cells,
    warnings: [...m.warnings],
  };
}

/** The matrix as JSON text (two-space indented: the file is meant to be read and diffed). */
export function matrixToJson(m: ResultsMatrix): string {
  return `${JSON.stringify(matrixJsonDocument(m), null, 2)}\n`;
}

/** Leading characters a spreadsheet may read as the start of a formula. */
const FORMULA_START = new Set(['=', '+', '-', '@', '\t', '\r']);

/** One quoted RFC 4180 text field, neutralised against formula injection. */
export function csvText(value: string): string {
  const safe = value.length > 0 && FORMULA_START.has(value[0] as string) ? `'${value}` : value;
  return `"${safe.replaceAll('"', '""')}"`;
}

/** A number field: rates and bounds to 6 decimals (well below any interval's width), empty for null. */
function csvNumber(x: number | null): string {
  if (x === null) return '';
  return Number.isInteger(x) ? String(x) : String(Number(x.toFixed(6)));
}

export const MATRIX_CSV_HEADER = [
  'method',
  'suite',
  'kind',
  'successes',
  'problems',
  'too_long',
  'rate',
  'ci_low',
  'ci_high',
  'run_id',
  'turns',
  'parsed_turns',
] as const;

/** The matrix as CSV: a header, then one line per (method, suite) that has a result. */
export function matrixToCsv(m: ResultsMatrix): string {
  const lines = [MATRIX_CSV_HEADER.join(',')];
  m.rows.forEach((row, i) => {
    m.columns.forEach((col, j) => {
      const c = m.cells[i]?.[j];
      if (!c) return;
      lines.push(
        [
          csvText(row.label),
          csvText(col.suite),
          csvText(col.kind),
          csvNumber(c.successes),
          csvNumber(c.problems),
          csvNumber(c.tooLong),
          csvNumber(c.rate),
          csvNumber(c.ci[0]),
          csvNumber(c.ci[1]),
          csvText(row.runId),
          csvNumber(c.turns),
          csvNumber(c.parsedTurns),
        ].join(','),
      );
    });
  });
  return `${lines.join('\r\n')}\r\n`;
}
