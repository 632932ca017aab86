/**
 * Reports for publishing measured runs: the evaluation points of one or more run files as a self-contained SVG chart
 * (accuracy against mean thinking tokens, ±1 standard-error bars) and a Markdown table. `npm run report` (report_cli.ts)
 * writes both; the module itself is pure (no DOM, no Node APIs) so the playground could draw the same chart. This file
 * builds the series and the Markdown; report_svg.ts draws the chart and holds the escaping.
 *
 * Series: SFT-stage points without a length tag are grouped by stopping method and ordered by the method's swept knob
 * (temperature T, stop-decision temperature τ, `</think>` bias, budget B, extend minimum); SFT points with a tag form
 * "SFT levels" and RL points with a tag "TLDR", both ordered short → medium → long; other RL points "TLDR · <method>".
 * With several runs every label starts with the run's name. Everything taken from a file is untrusted: it is escaped
 * for XML and Markdown, and the output is a pure function of the input (same runs, same bytes).
 */
import { buildMatrix, matrixToMarkdown, suiteTasks } from '../runs/matrix';
import { parseRunFile, RunFileError } from '../runs/run_file';
import type { RunRecord } from '../runs/run_record';
import type { LengthTag } from '../tasks/types';
import {
  decodeSettingText,
  METHODS,
  formatKnobNumber as num,
  PALETTE,
  SERIES_IDS,
  type SeriesId,
  STAGES,
  type Stage,
  stageOf,
  sweptValue,
  withStages,
} from '../train/methods';
import { distanceToFrontier } from '../train/oracle';
import type { EvalPoint } from '../train/results';
import { percent } from '../util/format';
import { type ChartFrontier, escapeMarkdown, tokens } from './report_svg';

export * from './report_svg'; // the chart's API, for importers of the report
export { type Stage, stageOf };

/** The points of one run to report, with the name that prefixes its series when several runs are charted. */
export interface ReportRun {
  name: string;
  points: readonly EvalPoint[];
  /**
   * Accuracy intervals (fractions) to draw instead of ±1 binomial SE: a run that stands for several seeds
   * (src/headless/seed_summary.ts) gives each mean point its 95% interval.
   */
  accuracyIntervals?: ReadonlyMap<EvalPoint, { low: number; high: number }>;
}

/** A bad input (run file, selector): the message names the file or argument and the place inside it. */
export class ReportError extends Error {
  override name = 'ReportError';
}

const LEVELS: readonly LengthTag[] = ['short', 'medium', 'long'];

/** Binomial standard error of an accuracy measured on `problems` problems, as a fraction: sqrt(p(1 − p) / n). */
export function accuracyStandardError(accuracy: number, problems: number): number {
  return problems > 0 ? Math.sqrt((accuracy * (1 - accuracy)) / problems) : 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Runs and selection

/** A run's points for the report, each with its stage spelled out (stageOf, src/train/methods.ts). */
export function reportRun(run: RunRecord): ReportRun {
  return { name: run.name, points: withStages(run.evalPoints, run) };
}

/**
 * Reads and validates a run file's text with the playground's importer (src/runs/run_file.ts). `fileLabel` names the
 * file in errors: "runs/a.json: invalid run file: run.evalPoints[3].accuracy: expected number ≤ 1, got 1.5".
 */
export function loadReportRun(fileLabel: string, text: string): { record: RunRecord; report: ReportRun } {
  try {
    const { run } = parseRunFile(text);
    return { record: run, report: reportRun(run) };
  } catch (e) {
    if (e instanceof RunFileError) throw new ReportError(`${fileLabel}: ${e.message}`);
    throw e;
  }
}

/** Points that match every given field: run name, stage, level ('none' = untagged prompts), method. */
export interface PointSelector {
  run?: string;
  stage?: Stage;
  level?: LengthTag | 'none';
  method?: SeriesId;
}

const SELECTOR_KEYS = ['run', 'stage', 'level', 'method'] as const;

/** "run=tldr-arithmetic,level=none" → { run: 'tldr-arithmetic', level: 'none' } (the run name may not hold a comma). */
export function parsePointSelector(text: string): PointSelector {
  const sel: PointSelector = {};
  const bad = (msg: string) => new ReportError(`selector ${JSON.stringify(text.slice(0, 200))}: ${msg}`);
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    const key = (eq < 0 ? part : part.slice(0, eq)).trim();
    const value = eq < 0 ? '' : part.slice(eq + 1).trim();
    if (!(SELECTOR_KEYS as readonly string[]).includes(key))
      throw bad(`unknown key ${JSON.stringify(key)} (expected ${SELECTOR_KEYS.join(', ')}: key=value,…)`);
    if (value === '') throw bad(`${key}: missing value`);
    if (Object.hasOwn(sel, key)) throw bad(`${key}: given twice`);
    const oneOf = <T extends string>(allowed: readonly T[]): T => {
      if (!(allowed as readonly string[]).includes(value))
        throw bad(`${key}: expected ${allowed.join(' | ')}, got ${JSON.stringify(value)}`);
      return value as T;
    };
    if (key === 'run') sel.run = value;
    else if (key === 'stage') sel.stage = oneOf(STAGES);
    else if (key === 'level') sel.level = oneOf<LengthTag | 'none'>([...LEVELS, 'none']);
    else sel.method = oneOf(SERIES_IDS);
  }
  return sel;
}

export function matchesSelector(sel: PointSelector, runName: string, p: EvalPoint): boolean {
  return (
    (sel.run === undefined || sel.run === runName) &&
    (sel.stage === undefined || sel.stage === (p.stage ?? 'sft')) &&
    (sel.level === undefined || sel.level === (p.lengthTag ?? 'none')) &&
    (sel.method === undefined || sel.method === p.series)
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Series

export type SeriesKind = 'method' | 'levels' | 'tldr' | 'tldr-method';
export type MarkerShape = 'circle' | 'square' | 'diamond' | 'triangle' | 'triangle-down';

export interface ReportPoint {
  point: EvalPoint;
  stage: Stage;
  /** Value of the method's swept knob (sweptValue, src/train/results.ts). */
  knob: number;
  /** The decode settings that differ between points, as "τ = 0.5, T = 0.6". */
  setting: string;
  /** Accuracy and its standard error, in percent. */
  accuracyPct: number;
  standardErrorPct: number;
  /** The error bar, in percent: ±1 SE, or the run's own interval (ReportRun.accuracyIntervals). */
  barLowPct: number;
  barHighPct: number;
  /** The bar as table text: "72.3 ± 2.8" or "72.3 [68.1, 76.0]". */
  accuracyText: string;
  barKind: 'se' | 'interval';
}

export interface ReportSeries {
  /** Unique and stable: run index, kind, method, step. */
  key: string;
  /** Table and tooltip name, prefixed with the run's name when several runs are charted. */
  label: string;
  /** The name without the run prefix (the legend lists series under their run's name). */
  seriesLabel: string;
  /** What varies along the curve: "τ 0.25 → 4, T 0.6", "short → long, T 0". */
  sweep: string;
  runName: string;
  kind: SeriesKind;
  method: SeriesId;
  color: string;
  marker: MarkerShape;
  /** In drawing order: along the knob, or short → medium → long. */
  points: ReportPoint[];
}

/** Methods keep the playground's colours (src/train/methods.ts); the levels, TLDR and the rest take the others. */
const KIND_COLOR: Record<Exclude<SeriesKind, 'method'>, string> = {
  levels: PALETTE[5]!,
  tldr: PALETTE[6]!,
  'tldr-method': PALETTE[7]!,
};
/** Runs are told apart by marker shape (colours stay with the method). */
const RUN_MARKERS: readonly MarkerShape[] = ['circle', 'square', 'diamond', 'triangle', 'triangle-down'];
const KIND_ORDER: readonly SeriesKind[] = ['method', 'levels', 'tldr', 'tldr-method'];

function kindOf(stage: Stage, tagged: boolean): SeriesKind {
  if (stage === 'sft') return tagged ? 'levels' : 'method';
  return tagged ? 'tldr' : 'tldr-method';
}

function levelRank(p: EvalPoint): number {
  return p.lengthTag ? LEVELS.indexOf(p.lengthTag) : -1;
}

function baseLabel(kind: SeriesKind, method: SeriesId): string {
  switch (kind) {
    case 'method':
      return METHODS[method].name;
    case 'levels':
      return method === 'temperature' ? 'SFT levels' : `SFT levels · ${METHODS[method].name}`;
    case 'tldr':
      return method === 'temperature' ? 'TLDR' : `TLDR · levels · ${METHODS[method].name}`;
    case 'tldr-method':
      return `TLDR · ${METHODS[method].name}`;
  }
}

function sweepOf(kind: SeriesKind, method: SeriesId, points: readonly ReportPoint[]): string {
  const first = points[0]!;
  const last = points[points.length - 1]!;
  const range = (a: string, b: string) => (a === b ? a : `${a} → ${b}`);
  const temps = new Set(points.map((p) => p.point.decode.temperature));
  const temp = temps.size === 1 ? `T ${num(first.point.decode.temperature)}` : '';
  if (kind === 'levels' || kind === 'tldr') {
    const levels = range(first.point.lengthTag ?? 'untagged', last.point.lengthTag ?? 'untagged');
    return temp === '' ? levels : `${levels}, ${temp}`;
  }
  const knob = `${METHODS[method].knob.symbol} ${range(num(first.knob), num(last.knob))}`;
  return method === 'temperature' || temp === '' ? knob : `${knob}, ${temp}`;
}

/**
 * Chart series of the runs' evaluation points (rules in the file comment), in a fixed order: runs as given; within a
 * run the methods (temperature, TS, bias, cap, extend), SFT levels, TLDR, then TLDR · method. A group evaluated at
 * several steps is split into one series per step ("· step 500"), so a curve never joins different weights.
 * `include` picks the points to report (default: all).
 */
export function reportSeries(
  runs: readonly ReportRun[],
  options: { include?: (p: EvalPoint, run: ReportRun) => boolean } = {},
): ReportSeries[] {
  const include = options.include ?? (() => true);
  // Unique display names: a second run of the same name gets " (2)".
  const names: string[] = [];
  for (const run of runs) {
    const base = run.name.trim() === '' ? 'run' : run.name;
    let name = base;
    for (let k = 2; names.includes(name); k++) name = `${base} (${k})`;
    names.push(name);
  }
  const out: ReportSeries[] = [];
  runs.forEach((run, runIndex) => {
    type Group = { kind: SeriesKind; method: SeriesId; step: number; items: { p: EvalPoint; index: number }[] };
    const groups = new Map<string, Group>();
    run.points.forEach((p, index) => {
      if (!include(p, run)) return;
      const kind = kindOf(p.stage ?? 'sft', p.lengthTag !== undefined);
      const id = `${kind}/${p.series}/${p.step}`;
      let g = groups.get(id);
      if (!g) {
        g = { kind, method: p.series, step: p.step, items: [] };
        groups.set(id, g);
      }
      g.items.push({ p, index });
    });
    const sorted = [...groups.values()].sort(
      (a, b) =>
        KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) ||
        SERIES_IDS.indexOf(a.method) - SERIES_IDS.indexOf(b.method) ||
        a.step - b.step,
    );
    for (const g of sorted) {
      const steps = sorted.filter((o) => o.kind === g.kind && o.method === g.method).length;
      const byLevel = g.kind === 'levels' || g.kind === 'tldr';
      g.items.sort(
        (a, b) =>
          (byLevel ? levelRank(a.p) - levelRank(b.p) : 0) ||
          sweptValue(g.method, a.p.decode) - sweptValue(g.method, b.p.decode) ||
          a.index - b.index,
      );
      const points: ReportPoint[] = g.items.map(({ p }) => {
        const accuracyPct = 100 * p.accuracy;
        const standardErrorPct = 100 * accuracyStandardError(p.accuracy, p.problems);
        const own = run.accuracyIntervals?.get(p);
        return {
          point: p,
          stage: p.stage ?? 'sft',
          knob: sweptValue(g.method, p.decode),
          setting: decodeSettingText(g.method, p.decode),
          accuracyPct,
          standardErrorPct,
          barLowPct: own ? 100 * own.low : Math.max(0, accuracyPct - standardErrorPct),
          barHighPct: own ? 100 * own.high : Math.min(100, accuracyPct + standardErrorPct),
          accuracyText: own
            ? `${accuracyPct.toFixed(1)} [${(100 * own.low).toFixed(1)}, ${(100 * own.high).toFixed(1)}]`
            : `${accuracyPct.toFixed(1)} ± ${standardErrorPct.toFixed(1)}`,
          barKind: own ? 'interval' : 'se',
        };
      });
      const seriesLabel = steps > 1 ? `${baseLabel(g.kind, g.method)} · step ${g.step}` : baseLabel(g.kind, g.method);
      out.push({
        key: `${runIndex}/${g.kind}/${g.method}/${g.step}`,
        label: runs.length > 1 ? `${names[runIndex]!} · ${seriesLabel}` : seriesLabel,
        seriesLabel,
        sweep: sweepOf(g.kind, g.method, points),
        runName: names[runIndex]!,
        kind: g.kind,
        method: g.method,
        color: '',
        marker: RUN_MARKERS[runIndex % RUN_MARKERS.length]!,
        points,
      });
    }
  });
  // Colours: the kind's own colour unless an earlier series took it, then the first free one of the palette.
  const used = new Set<string>();
  out.forEach((s, i) => {
    const own = s.kind === 'method' ? METHODS[s.method].color : KIND_COLOR[s.kind];
    const color = !used.has(own) ? own : (PALETTE.find((c) => !used.has(c)) ?? PALETTE[i % PALETTE.length]!);
    used.add(color);
    s.color = color;
  });
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Markdown

/**
 * Columns a monospace editor gives a string: 0 for combining marks, 2 for wide East Asian characters and emoji, 1
 * otherwise (an approximation of Unicode's East Asian Width, enough to pad tables the way Markdown formatters do).
 */
function displayWidth(text: string): number {
  let w = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (/\p{M}/u.test(ch) || c === 0x200b || c === 0x200d || c === 0xfe0f) continue;
    const wide =
      /\p{Extended_Pictographic}/u.test(ch) && c >= 0x1f000
        ? true
        : (c >= 0x1100 && c <= 0x115f) ||
          (c >= 0x2e80 && c <= 0xa4cf && c !== 0x303f) ||
          (c >= 0xac00 && c <= 0xd7a3) ||
          (c >= 0xf900 && c <= 0xfaff) ||
          (c >= 0xfe30 && c <= 0xfe4f) ||
          (c >= 0xff00 && c <= 0xff60) ||
          (c >= 0xffe0 && c <= 0xffe6) ||
          (c >= 0x20000 && c <= 0x3fffd);
    w += wide ? 2 : 1;
  }
  return w;
}

/** A table padded to its columns' widths (as the repository's Markdown formatter writes it, so the file stays lint-clean). */
export function markdownTable(
  header: readonly string[],
  rightAligned: readonly boolean[],
  rows: readonly string[][],
): string {
  const widths = header.map((h, c) => Math.max(3, displayWidth(h), ...rows.map((r) => displayWidth(r[c]!))));
  const pad = (text: string, c: number) => {
    const fill = ' '.repeat(widths[c]! - displayWidth(text));
    return rightAligned[c] ? fill + text : text + fill;
  };
  const line = (cells: readonly string[]) => `| ${cells.map(pad).join(' | ')} |`;
  const rule = `| ${widths.map((w, c) => (rightAligned[c] ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/**
 * One row per point, in the series' order: series, setting (the knob and the temperature), level, stage, accuracy ±
 * SE, mean thinking tokens overall and of correct / wrong completions, stop rate, repetition rate, problems.
 */
export function renderMarkdownTable(series: readonly ReportSeries[]): string {
  const kinds = new Set(series.flatMap((s) => s.points.map((p) => p.barKind)));
  const accuracyHeader =
    kinds.size > 1
      ? 'accuracy % (± SE or [95% CI])'
      : kinds.has('interval')
        ? 'accuracy % [95% CI]'
        : 'accuracy % ± SE';
  const header = [
    'series',
    'setting',
    'level',
    'stage',
    accuracyHeader,
    'thinking tokens',
    'correct / wrong',
    'stop rate',
    'repetition',
    'n',
  ];
  const rows = series.flatMap((s) =>
    s.points.map((p) => {
      const e = p.point;
      return [
        escapeMarkdown(s.label),
        escapeMarkdown(p.setting),
        e.lengthTag ?? '—',
        p.stage.toUpperCase(),
        p.accuracyText,
        e.meanThinkingTokens.toFixed(1),
        `${tokens(e.meanThinkingTokensCorrect)} / ${tokens(e.meanThinkingTokensWrong)}`,
        percent(e.stopRate),
        percent(e.repetitionRate),
        String(e.problems),
      ];
    }),
  );
  return `${markdownTable(header, [false, false, false, false, true, true, true, true, true, true], rows)}\n`;
}

/** "stopping-arithmetic: SFT 3000 steps, wall 22.6 s" or "…: SFT 3000 + RL 200 steps, …". */
/**
 * The results matrix of every task the runs hold suite results for (src/runs/matrix.ts: a method's seeds in one row,
 * each cell the mean over seeds with its 95% interval, seeds × episodes), one Markdown section per task.
 */
export function renderMatrixSections(runs: readonly RunRecord[]): string[] {
  return suiteTasks(runs).map((task) => {
    const m = buildMatrix(runs, task);
    const seeds = [...new Set(m.rows.flatMap((r) => r.seeds))].sort((a, b) => a - b);
    const warnings = m.warnings.map((w) => `- ${escapeMarkdown(w)}`);
    return [
      `## Results matrix: ${task} (${seeds.length === 1 ? `seed ${seeds[0]}` : `seeds ${seeds.join(', ')}`})`,
      '',
      matrixToMarkdown(m),
      ...(warnings.length > 0 ? ['Left out or resolved while building the matrix:', '', ...warnings, ''] : []),
    ].join('\n');
  });
}

export function describeRun(run: RunRecord): string {
  const rlStart =
    run.rlStartStep !== undefined
      ? run.rlStartStep
      : run.config.rl && run.stepsDone > run.config.sft.steps
        ? run.config.sft.steps
        : null;
  const steps =
    rlStart !== null ? `SFT ${rlStart} + RL ${run.stepsDone - rlStart} steps` : `SFT ${run.stepsDone} steps`;
  const wallMs = run.timeline.length > 0 ? run.timeline[run.timeline.length - 1]!.elapsedMs : null;
  const wall = wallMs === null ? '' : `, wall ${(wallMs / 1000).toFixed(1)} s`;
  return `${run.name}: ${steps}${wall}`;
}

/** Lines of one paragraph, each ending in a hard break (two spaces) but the last. */
function hardBreakLines(lines: readonly string[]): string {
  return lines.join('  \n');
}

/** A fenced code block whose fence no run of backticks in `text` can close. */
function codeBlock(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}sh\n${text.replace(/[\r\n]+/g, ' ')}\n${fence}`;
}

/** A run's frontier for the chart, or null when it has none. */
export function chartFrontierOf(run: RunRecord, prefixRunName = false): ChartFrontier | null {
  const r = run.oracle;
  if (!r) return null;
  const what = `oracle frontier (${r.stage.toUpperCase()}, ${r.trace === 'greedy' ? 'greedy' : `T ${r.trace.temperature}`} traces)`;
  return { label: prefixRunName ? `${run.name}: ${what}` : what, points: r.frontier };
}

/**
 * The oracle section of a report: the run's frontier summary (src/train/oracle.ts), then one row per point of the
 * oracle's stage and evaluation variant: its accuracy, the oracle's accuracy at its mean thinking length, the gap,
 * and the oracle's mean thinking length for its accuracy. Null when the run has no frontier.
 */
export function renderOracleSection(
  run: RunRecord,
  series: readonly ReportSeries[],
  /** The run stands for a seed group whose seeds' problems are pooled (seedGroupOracle): how many seeds. */
  pooledSeeds?: number,
): string | null {
  const r = run.oracle;
  if (!r) return null;
  const s = r.summary;
  const after = s.meanTokensAfterCorrect === null ? '—' : s.meanTokensAfterCorrect.toFixed(1);
  const problems = pooledSeeds
    ? `${pooledSeeds} seeds × ${s.problems / pooledSeeds} problems, pooled`
    : `${s.problems} problems`;
  const lines = [
    `## Oracle stopping frontier: ${escapeMarkdown(run.name)}`,
    '',
    hardBreakLines([
      `${problems} (${escapeMarkdown(r.variant)}), ${r.trace === 'greedy' ? 'greedy' : `T ${r.trace.temperature}`} own traces, \`</think>\` forced after every thinking token, greedy answer (≤ ${r.answerTokens} tokens), ${r.stage.toUpperCase()} weights at step ${r.step}.`,
      `Own stop: ${percent(s.ownAccuracy)} at ${s.ownMeanThinkingTokens.toFixed(1)} thinking tokens. Oracle: ${percent(s.oracleAccuracy)} at ${s.oracleMeanThinkingTokens.toFixed(1)} (stops only at step boundaries: ${percent(s.stepsOracleAccuracy)} at ${s.stepsOracleMeanThinkingTokens.toFixed(1)}). Without thinking: ${percent(s.accuracyWithoutThinking)}.`,
      `Thinking after the answer was already right: ${after} tokens per right problem, ${percent(s.fractionThinkingAfterCorrect)} of all thinking. Right at an earlier stop but wrong at the own stop: ${s.rightThenWrong} of ${s.problems}; right → wrong → right: ${s.unstableRight}.`,
    ]),
    '',
  ];
  const rows = series
    .filter((se) => se.runName === run.name)
    .flatMap((se) =>
      se.points
        .filter((p) => p.stage === r.stage && p.point.variant === r.variant && !p.point.lengthTag)
        .map((p) => {
          const d = distanceToFrontier(r.frontier, p.point);
          return [
            escapeMarkdown(se.label),
            escapeMarkdown(p.setting),
            percent(p.point.accuracy),
            p.point.meanThinkingTokens.toFixed(1),
            percent(p.point.accuracy + d.accuracyGap),
            `${d.accuracyGap >= 0 ? '' : '−'}${(100 * Math.abs(d.accuracyGap)).toFixed(1)} pts`,
            d.oracleTokens === null ? 'above the oracle' : d.oracleTokens.toFixed(1),
          ];
        }),
    );
  if (rows.length > 0) {
    lines.push(
      markdownTable(
        [
          'series',
          'setting',
          'accuracy',
          'thinking tokens',
          'oracle at that length',
          'gap',
          'oracle tokens for that accuracy',
        ],
        [false, false, true, true, true, true, true],
        rows,
      ),
      '',
    );
  }
  return lines.join('\n');
}

/**
 * The Markdown page beside the chart: title, subtitle lines, the chart, the table, notes (plain text, escaped) and
 * the command that made it.
 */
export function renderMarkdownReport(args: {
  title: string;
  subtitle: readonly string[];
  svgFileName: string;
  series: readonly ReportSeries[];
  notes: readonly string[];
  command?: string;
  /** Markdown sections after the table (already escaped), e.g. the claims tables. */
  sections?: readonly string[];
}): string {
  // A report of suite results only (a matrix) has no chart and no table of evaluation points.
  const chart =
    args.series.length === 0
      ? []
      : [
          `![${escapeMarkdown(args.title)}](${encodeURI(args.svgFileName).replace(/[()]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)})`,
          '',
          renderMarkdownTable(args.series),
        ];
  const parts = [
    `# ${escapeMarkdown(args.title)}`,
    '',
    ...(args.subtitle.length > 0 ? [hardBreakLines(args.subtitle.map(escapeMarkdown)), ''] : []),
    ...chart,
  ];
  for (const section of args.sections ?? []) parts.push(section);
  if (args.notes.length > 0) parts.push(hardBreakLines(args.notes.map(escapeMarkdown)), '');
  if (args.command !== undefined) parts.push('Made with', '', codeBlock(args.command), '');
  return parts.join('\n');
}
