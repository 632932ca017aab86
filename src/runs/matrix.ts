/**
 * The generalization lab's results matrix: rows = methods, columns = the task's evaluation suites, each cell the mean
 * success rate over the method's seeds with a 95% interval. Built from `RunRecord.suiteResults`
 * (src/train/suite_types.ts); shown by src/ui/MatrixView.tsx, written by the headless runner (src/headless/cli.ts) and
 * printed by the report (src/headless/report_cli.ts).
 *
 * Rows: runs of one method trained with different seeds form one row: the same name and the same method settings
 * (MatrixRunSummary without stepsDone), different `config.seed` (what a matrix preset with `seeds` writes). A run whose
 * seed its row already has starts a row of its own. The playground names each run it queues uniquely, so its runs stay
 * one per row unless imported from a seeded preset.
 *
 * Columns are ordered by kind (id, training, instruction, difficulty, fake), then by the task's variant order
 * (`getTask(task).variants`); suites the task does not list come last within their kind, by name.
 *
 * A cell over the k seeds with a result for its suite, seed i with s_i successes of n_i episodes (problems), N = Σ n_i:
 *
 *   mean      p̄ = (1/k) Σ s_i / n_i                       (each seed weighs the same; seeds with n_i = 0 are left out)
 *   interval  the Wilson score interval of p̄ at an effective sample size N_eff = N / D (`clusteredInterval`), where
 *             D = max(1, (S² / k) / (p̄(1 − p̄) / N)) is the design effect: the variance of p̄ estimated from the
 *             spread of the seed rates (S², the sample variance of s_i / n_i) over the variance it would have if all
 *             N episodes were independent draws of one model (Kish's design effect for clustered samples).
 *
 * With one seed (or seeds that agree no more than binomial noise allows, D = 1) this is the plain Wilson interval of
 * the pooled counts, so one-seed matrices keep their intervals. Seeds that disagree widen it; it never gets narrower
 * than the pooled binomial interval, and unlike a bootstrap it does not collapse to a point when every episode
 * failed (0 of 192 episodes: [0, 0.020]). With few seeds S² is itself uncertain (3 seeds: 2 degrees of freedom), so
 * the interval is approximate; the per-seed counts are exported beside it.
 *
 * Two export formats:
 *
 *   JSON (`matrixToJson`), schema version 2:
 *     { format: 'stoptime-matrix', schemaVersion: 2, task,
 *       interval: { method: 'wilson-design-effect', confidence: 0.95, z },
 *       rows:    [{ runIds, seeds, name, config: { task, targetStyle, instructions, modelSize, sftSteps, rlSteps },
 *                   stepsDone }],
 *       columns: [{ suite, kind, unit }],
 *       cells:   [{ runIds, suite, kind, mean, ciLow, ciHigh, seeds, episodes, successes, tooLong, designEffect,
 *                   turns, parsedTurns, perSeed: [{ seed, runId, successes, episodes }] }]
 *                (present cells, row-major)
 *       warnings: [string] }
 *     `runIds` / `seeds` / `perSeed`: the row's runs in the order given, their seeds. `stepsDone`: the fewest timeline
 *     steps any of the row's runs did. `mean` is null when no seed had a problem (its interval is then [0, 1]);
 *     `rlSteps` null for a method without an RL stage. `episodes`, `successes`, `tooLong`: sums over the cell's seeds
 *     (`tooLong`: episodes that failed because a prompt did not fit the context; 0 for results saved before it was
 *     recorded). `turns` / `parsedTurns`: completions generated and those whose answer the task parses, summed (null
 *     when a seed's result did not record them). A (row, column) pair with no cell: no run of the row was evaluated
 *     on that suite. Version 1 (one run per row) had runId, rate and problems instead.
 *
 *   CSV (`matrixToCsv`, RFC 4180, CRLF line ends), one line per present cell:
 *     method,suite,kind,mean,ci_low,ci_high,seeds,episodes,successes,too_long,design_effect,run_ids,turns,
 *     parsed_turns,per_seed
 *     `run_ids`: space-separated; `per_seed`: "seed 1: 27/32; seed 2: 25/32". Text fields are always quoted (inner
 *     quotes doubled); run names are untrusted, so a text field starting with = + - @ tab or CR gets a leading `'`,
 *     which spreadsheets show as text instead of evaluating it as a formula.
 *
 * Pure (no DOM): the same code runs in the page and in Node.
 */
import { getTask } from '../tasks/index';
import type { TaskId } from '../tasks/types';
import { groupRunsBySeed } from '../train/claims';
import { rlConfigFor } from '../train/run_config';
import type { SuiteKind, SuiteResult } from '../train/suite_types';
import { wilsonBounds } from '../util/stats';
import type { RunRecord } from './run_record';

export const MATRIX_FORMAT = 'stoptime-matrix';
export const MATRIX_SCHEMA_VERSION = 2;

/** Column groups, left to right: in distribution first, then what each method trained on, then the shifts. */
export const SUITE_KIND_ORDER: readonly SuiteKind[] = ['id', 'training', 'instruction', 'difficulty', 'fake'];

/** Two-sided 95% normal quantile, Φ⁻¹(0.975). */
export const WILSON_Z_95 = 1.959963984540054;

/** One seed's counts on a suite. */
export interface SeedCount {
  successes: number;
  /** Episodes (Sokoban) or problems (General Points) evaluated. */
  problems: number;
}

export interface ClusteredInterval {
  /** Mean of the seed rates; null when no seed had a problem. */
  mean: number | null;
  /** 95% (at z) Wilson interval at the effective sample size; [0, 1] when no seed had a problem. */
  ci: [number, number];
  /** D ≥ 1, the design effect (1 with one seed). */
  designEffect: number;
  /** Seeds with at least one problem (those the mean is over). */
  seeds: number;
}

/**
 * Mean success rate over seeds and its interval (see the module comment): the Wilson interval (src/util/stats.ts's
 * wilsonBounds) of the mean of the seed rates at N / D episodes, D = max(1, (S²/k) / (p̄(1 − p̄)/N)). One seed: the
 * Wilson interval of s of n exactly. Throws a RangeError on counts that are not non-negative integers with
 * successes ≤ problems, or on a z that is not a positive number.
 */
export function clusteredInterval(counts: readonly SeedCount[], z: number = WILSON_Z_95): ClusteredInterval {
  if (!Number.isFinite(z) || z <= 0) throw new RangeError(`clusteredInterval: z must be a positive number, got ${z}`);
  for (const { successes, problems } of counts) {
    if (!Number.isSafeInteger(problems) || problems < 0)
      throw new RangeError(`clusteredInterval: problems must be a non-negative integer, got ${problems}`);
    if (!Number.isSafeInteger(successes) || successes < 0 || successes > problems)
      throw new RangeError(`clusteredInterval: successes must be an integer in 0..${problems}, got ${successes}`);
  }
  const used = counts.filter((c) => c.problems > 0);
  const k = used.length;
  if (k === 0) return { mean: null, ci: [0, 1], designEffect: 1, seeds: 0 };
  const rates = used.map((c) => c.successes / c.problems);
  const mean = rates.reduce((a, r) => a + r, 0) / k;
  const total = used.reduce((a, c) => a + c.problems, 0);
  let designEffect = 1;
  if (k > 1) {
    const between = rates.reduce((a, r) => a + (r - mean) ** 2, 0) / (k - 1) / k;
    const binomial = (mean * (1 - mean)) / total;
    if (binomial > 0) designEffect = Math.max(1, between / binomial);
  }
  const ci = wilsonBounds(mean, total / designEffect, z); // one seed: D = 1, mean = s/n, total = n
  return { mean, ci, designEffect, seeds: k };
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
  /**
   * Timeline steps done: the SFT steps, then the RL steps (one per RL step, whatever its optimiser steps); for a row
   * of several seeds, the fewest any of its runs did.
   */
  stepsDone: number;
}

export interface MatrixRow {
  /** The row's first run (the row's key). */
  runId: string;
  /** Every run of the row (one per seed), in the order given, and their seeds. */
  runIds: string[];
  seeds: number[];
  /** The runs' name (untrusted text: imported runs carry any name). */
  label: string;
  summary: MatrixRunSummary;
}

/** One seed's result in a cell. */
export interface MatrixSeedResult {
  seed: number;
  runId: string;
  successes: number;
  problems: number;
}

export interface MatrixColumn {
  /** Variant id of the suite. */
  suite: string;
  kind: SuiteKind;
  unit: 'episode' | 'answer';
}

export interface MatrixCell {
  /** Sums over the cell's seeds. */
  successes: number;
  /** Episodes (Sokoban) or problems (General Points), summed over the cell's seeds. */
  problems: number;
  /** Problems that failed because a prompt did not fit the context (part of `problems`; SuiteResult.tooLong). */
  tooLong: number;
  /** Mean over seeds of successes / problems (one seed: its rate); null when no seed had a problem. */
  rate: number | null;
  /** Completions generated and those the task parsed (SuiteResult.turns, .parsedTurns), summed; null when a seed's
   * result did not record them. */
  turns: number | null;
  parsedTurns: number | null;
  /** 95% interval of the mean (clusteredInterval; one seed: the Wilson interval; [0, 1] for zero problems). */
  ci: [number, number];
  /** Seeds with a result for this suite. */
  seeds: number;
  /** clusteredInterval's design effect (1 with one seed). */
  designEffect: number;
  /** Each seed's counts, in the row's run order. */
  perSeed: MatrixSeedResult[];
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

/** What runs of one row share: the name and the method settings (stepsDone and the seed may differ). */
function rowKey(run: RunRecord): string {
  const { stepsDone: _, ...settings } = summaryOf(run);
  return JSON.stringify([run.name, settings]);
}

/**
 * The results matrix of `task` over `runs` (in the given order): one row per method (its runs of different seeds
 * together, see the module comment) with suite results for the task, one column per suite any of them was evaluated
 * on. A suite whose kind or unit differs between runs takes the first run's (and a warning says so). Throws on an
 * unknown task.
 */
export function buildMatrix(runs: readonly RunRecord[], task: TaskId): ResultsMatrix {
  const variants: readonly string[] = getTask(task).variants;
  const warnings: string[] = [];
  const rows: MatrixRow[] = [];
  const perRow: { run: RunRecord; results: Map<string, SuiteResult> }[][] = [];
  const columnsBySuite = new Map<string, MatrixColumn>();
  const evaluated = runs.flatMap((run) => {
    const results = usableResults(run, task, warnings);
    return results.size === 0 ? [] : [{ name: rowKey(run), config: run.config, run, results }];
  });
  for (const group of groupRunsBySeed(evaluated)) {
    const first = group[0]!.run;
    rows.push({
      runId: first.id,
      runIds: group.map((g) => g.run.id),
      seeds: group.map((g) => g.run.config.seed),
      label: first.name,
      summary: { ...summaryOf(first), stepsDone: Math.min(...group.map((g) => g.run.stepsDone)) },
    });
    perRow.push(group);
  }
  for (const { run, results } of evaluated) {
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
  const cells = perRow.map((group) => columns.map((col) => cellOf(group, col.suite)));
  return { task, rows, columns, cells, warnings };
}

/** The cell of one row's runs on `suite`: counts summed, the mean and interval over its seeds; null when none has it. */
function cellOf(
  group: readonly { run: RunRecord; results: Map<string, SuiteResult> }[],
  suite: string,
): MatrixCell | null {
  const found = group.flatMap(({ run, results }) => {
    const r = results.get(suite);
    return r ? [{ run, r }] : [];
  });
  if (found.length === 0) return null;
  const sum = (f: (r: SuiteResult) => number) => found.reduce((a, { r }) => a + f(r), 0);
  const recorded = found.every(({ r }) => r.turns !== undefined && r.parsedTurns !== undefined);
  const { mean, ci, designEffect } = clusteredInterval(found.map(({ r }) => r));
  return {
    successes: sum((r) => r.successes),
    problems: sum((r) => r.problems),
    tooLong: sum(tooLongOf),
    rate: mean,
    ci,
    turns: recorded ? sum((r) => r.turns!) : null,
    parsedTurns: recorded ? sum((r) => r.parsedTurns!) : null,
    seeds: found.length,
    designEffect,
    perSeed: found.map(({ run, r }) => ({
      seed: run.config.seed,
      runId: run.id,
      successes: r.successes,
      problems: r.problems,
    })),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Export

/** The JSON document `matrixToJson` writes (schema version 2; see the module comment). */
export interface MatrixJson {
  format: typeof MATRIX_FORMAT;
  schemaVersion: typeof MATRIX_SCHEMA_VERSION;
  task: TaskId;
  interval: { method: 'wilson-design-effect'; confidence: 0.95; z: number };
  rows: {
    runIds: string[];
    seeds: number[];
    name: string;
    config: Omit<MatrixRunSummary, 'stepsDone'>;
    stepsDone: number;
  }[];
  columns: MatrixColumn[];
  cells: {
    runIds: string[];
    suite: string;
    kind: SuiteKind;
    mean: number | null;
    ciLow: number;
    ciHigh: number;
    seeds: number;
    episodes: number;
    successes: number;
    tooLong: number;
    designEffect: number;
    turns: number | null;
    parsedTurns: number | null;
    perSeed: { seed: number; runId: string; successes: number; episodes: number }[];
  }[];
  warnings: string[];
}

/** Each present cell with its row and column, row-major. */
function presentCells(m: ResultsMatrix): { row: MatrixRow; col: MatrixColumn; cell: MatrixCell }[] {
  return m.rows.flatMap((row, i) =>
    m.columns.flatMap((col, j) => {
      const cell = m.cells[i]?.[j];
      return cell ? [{ row, col, cell }] : [];
    }),
  );
}

/** The matrix as a MatrixJson document. */
export function matrixJsonDocument(m: ResultsMatrix): MatrixJson {
  return {
    format: MATRIX_FORMAT,
    schemaVersion: MATRIX_SCHEMA_VERSION,
    task: m.task,
    interval: { method: 'wilson-design-effect', confidence: 0.95, z: WILSON_Z_95 },
    rows: m.rows.map((r) => {
      const { stepsDone, ...config } = r.summary;
      return { runIds: [...r.runIds], seeds: [...r.seeds], name: r.label, config, stepsDone };
    }),
    columns: m.columns.map((c) => ({ ...c })),
    cells: presentCells(m).map(({ row, col, cell: c }) => ({
      runIds: [...row.runIds],
      suite: col.suite,
      kind: col.kind,
      mean: c.rate,
      ciLow: c.ci[0],
      ciHigh: c.ci[1],
      seeds: c.seeds,
      episodes: c.problems,
      successes: c.successes,
      tooLong: c.tooLong,
      designEffect: c.designEffect,
      turns: c.turns,
      parsedTurns: c.parsedTurns,
      perSeed: c.perSeed.map((p) => ({ seed: p.seed, runId: p.runId, successes: p.successes, episodes: p.problems })),
    })),
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
  'mean',
  'ci_low',
  'ci_high',
  'seeds',
  'episodes',
  'successes',
  'too_long',
  'design_effect',
  'run_ids',
  'turns',
  'parsed_turns',
  'per_seed',
] as const;

/** "seed 1: 27/32; seed 2: 25/32". */
export function perSeedText(cell: MatrixCell): string {
  return cell.perSeed.map((p) => `seed ${p.seed}: ${p.successes}/${p.problems}`).join('; ');
}

/** The matrix as CSV: a header, then one line per (method, suite) that has a result. */
export function matrixToCsv(m: ResultsMatrix): string {
  const lines = [MATRIX_CSV_HEADER.join(',')];
  for (const { row, col, cell: c } of presentCells(m)) {
    lines.push(
      [
        csvText(row.label),
        csvText(col.suite),
        csvText(col.kind),
        csvNumber(c.rate),
        csvNumber(c.ci[0]),
        csvNumber(c.ci[1]),
        csvNumber(c.seeds),
        csvNumber(c.problems),
        csvNumber(c.successes),
        csvNumber(c.tooLong),
        csvNumber(c.designEffect),
        csvText(row.runIds.join(' ')),
        csvNumber(c.turns),
        csvNumber(c.parsedTurns),
        csvText(perSeedText(c)),
      ].join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** "0.42 [0.31, 0.55]", or "— [0.00, 1.00]" for a cell without problems. */
export function cellIntervalText(c: MatrixCell): string {
  const f = (x: number) => x.toFixed(2);
  return `${c.rate === null ? '—' : f(c.rate)} [${f(c.ci[0])}, ${f(c.ci[1])}]`;
}

/**
 * The matrix as a Markdown table (the report's): one row per method with its seeds, one column per suite, each cell
 * "mean [low, high]" and its seeds × episodes ("0.42 [0.31, 0.55] · 3 × 64"); a legend line under it.
 */
export function matrixToMarkdown(m: ResultsMatrix): string {
  const esc = (t: string) => t.replace(/[\\`*_[\]|<>]/g, (ch) => `\\${ch}`).replace(/[\r\n]+/g, ' ');
  const head = ['method', 'seeds', ...m.columns.map((c) => `${esc(c.suite)} (${c.kind})`)];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  m.rows.forEach((row, i) => {
    const cells = m.columns.map((_, j) => {
      const c = m.cells[i]?.[j];
      if (!c) return '—';
      const perSeed = c.perSeed.length > 0 ? Math.round(c.problems / c.perSeed.length) : 0;
      const size = c.perSeed.every((p) => p.problems === perSeed) ? `${c.seeds} × ${perSeed}` : `${c.problems} in all`;
      return `${cellIntervalText(c)} · ${size}`;
    });
    lines.push(`| ${[esc(row.label), row.seeds.join(', '), ...cells].join(' | ')} |`);
  });
  const unit = m.columns.some((c) => c.unit === 'episode') ? 'episodes' : 'problems';
  lines.push(
    '',
    `Each cell: mean success rate over the seeds [95% interval: Wilson at the design-effect-adjusted sample size; one seed: Wilson] · seeds × ${unit} per seed.`,
  );
  return `${lines.join('\n')}\n`;
}
