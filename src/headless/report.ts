/**
 * Reports for publishing measured runs: the evaluation points of one or more run files as a self-contained SVG chart
 * (accuracy against mean thinking tokens, ±1 standard-error bars) and a Markdown table. `npm run report` (report_cli.ts)
 * writes both; the module itself is pure (no DOM, no Node APIs) so the playground could draw the same chart.
 *
 * Series: SFT-stage points without a length tag are grouped by stopping method and ordered by the method's swept knob
 * (temperature T, stop-decision temperature τ, `</think>` bias, budget B, extend minimum); SFT points with a tag form
 * "SFT levels" and RL points with a tag "TLDR", both ordered short → medium → long; other RL points "TLDR · <method>".
 * With several runs every label starts with the run's name. Everything taken from a file is untrusted: it is escaped
 * for XML and Markdown, and the output is a pure function of the input (same runs, same bytes).
 */
import { parseRunFile, RunFileError } from '../state/run_file';
import type { RunRecord } from '../state/run_record';
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
import { distanceToFrontier, type FrontierPoint } from '../train/oracle';
import type { EvalPoint } from '../train/results';

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
 * Reads and validates a run file's text with the playground's importer (src/state/run_file.ts). `fileLabel` names the
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
// Escaping

/** Replaces what XML 1.0 forbids (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/U+FFFF): one makes an SVG fail. */
function xmlChars(text: string): string {
  let out = '';
  for (const ch of text) {
    // for…of walks code points; a lone surrogate comes out on its own, in D800–DFFF.
    const c = ch.codePointAt(0)!;
    const ok =
      c === 0x9 || c === 0xa || c === 0xd || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) || c >= 0x10000;
    out += ok ? ch : '\uFFFD';
  }
  return out;
}

/** Text for SVG element content and attribute values. */
export function escapeXml(text: string): string {
  return xmlChars(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Text for a Markdown line or table cell: no HTML, code, emphasis, links, headings or cell breaks. */
export function escapeMarkdown(text: string): string {
  return xmlChars(text.replace(/[\r\n\t]+/g, ' '))
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[\\`*_[\]|~]/g, '\\$&')
    .trimStart()
    .replace(/^[#+=-]/, '\\$&');
}

/** Shortens text to `maxChars` with an ellipsis (whole code points). */
function clip(text: string, maxChars: number): string {
  const chars = [...text];
  return chars.length <= maxChars ? text : `${chars.slice(0, Math.max(1, maxChars - 1)).join('')}…`;
}

// ---------------------------------------------------------------------------------------------------------------
// Chart

export interface ChartOptions {
  title: string;
  /** One or more lines under the title (adapter, wall time, …). */
  subtitle?: string | readonly string[];
  /** Default 1040. */
  widthPx?: number;
  /** Default 640 (grows to fit a long legend). */
  heightPx?: number;
  /** Oracle stopping frontiers (src/train/oracle.ts) drawn under the method curves: a dashed line over a band. */
  frontiers?: readonly ChartFrontier[];
}

/** A frontier on the chart: accuracy (fraction) against mean thinking tokens, with its legend text. */
export interface ChartFrontier {
  label: string;
  points: readonly FrontierPoint[];
}

/** The frontier's colour: neutral, so it never reads as a method. */
export const FRONTIER_COLOR = '#7f7f7f';

export interface Ticks {
  min: number;
  max: number;
  step: number;
  values: number[];
  /** Decimals that print every tick exactly. */
  decimals: number;
}

/** Round ticks covering [lo, hi]: a step of 1, 2, 2.5 or 5 × 10^k giving about `target` intervals. */
export function niceTicks(lo: number, hi: number, target = 6): Ticks {
  if (!(hi > lo)) {
    const pad = Math.abs(lo) > 0 ? Math.abs(lo) * 0.1 : 1;
    return niceTicks(lo - pad, hi + pad, target);
  }
  const raw = (hi - lo) / target;
  const exp = Math.floor(Math.log10(raw));
  const base = 10 ** exp;
  const mantissa = [1, 2, 2.5, 5, 10].find((m) => m * base >= raw * (1 - 1e-9)) ?? 10;
  const step = mantissa * base;
  const decimals = Math.max(0, -exp + (mantissa === 2.5 ? 1 : 0) - (mantissa === 10 ? 1 : 0));
  const k0 = Math.floor(lo / step + 1e-9);
  const k1 = Math.ceil(hi / step - 1e-9);
  const values: number[] = [];
  for (let k = k0; k <= k1; k++) values.push(Number((k * step).toFixed(decimals)));
  return { min: values[0]!, max: values[values.length - 1]!, step, values, decimals };
}

export interface ChartLayout {
  widthPx: number;
  heightPx: number;
  /** The plot area in SVG pixels. */
  plot: { left: number; top: number; right: number; bottom: number };
  /** x: mean thinking tokens. */
  xTicks: Ticks;
  /** y: accuracy in percent. */
  yTicks: Ticks;
  legend: { left: number; top: number; widthPx: number; rowPx: number };
  /** SVG x of a thinking-token count. */
  x(tokens: number): number;
  /** SVG y of an accuracy in percent. */
  y(accuracyPct: number): number;
}

const FONT = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";
const TITLE_PX = 18;
const SUBTITLE_PX = 12;
const TICK_PX = 12;
const LEGEND_PX = 12;
/** Average advance of a sans-serif character, in em: sizes the legend without measuring text. */
const CHAR_EM = 0.58;
const LEGEND_MAX_CHARS = 64;

function subtitleLines(o: ChartOptions): string[] {
  if (o.subtitle === undefined) return [];
  return typeof o.subtitle === 'string' ? [o.subtitle] : [...o.subtitle];
}

function legendText(s: ReportSeries): string {
  return clip(`${s.seriesLabel} (${s.sweep})`, LEGEND_MAX_CHARS);
}

type LegendRow = { kind: 'run'; text: string } | { kind: 'series'; series: ReportSeries };

/** Legend rows: with several runs, each run's name heads the list of its series. */
function legendRows(series: readonly ReportSeries[]): LegendRow[] {
  const runs = [...new Set(series.map((s) => s.runName))];
  if (runs.length <= 1) return series.map((s) => ({ kind: 'series', series: s }));
  return runs.flatMap((name): LegendRow[] => [
    { kind: 'run', text: clip(name, LEGEND_MAX_CHARS) },
    ...series.filter((s) => s.runName === name).map((s): LegendRow => ({ kind: 'series', series: s })),
  ]);
}

/** Where everything goes: pure function of the series and options (the tests check the SVG against it). */
export function chartLayout(series: readonly ReportSeries[], options: ChartOptions): ChartLayout {
  const widthPx = options.widthPx ?? 1040;
  const points = series.flatMap((s) => s.points);
  const fronts = (options.frontiers ?? []).flatMap((f) => f.points);
  const xMax = Math.max(
    0,
    ...points.map((p) => p.point.meanThinkingTokens),
    ...fronts.map((f) => f.meanThinkingTokens),
  );
  const xTicks = niceTicks(0, xMax > 0 ? xMax : 1, 7);
  const yLo = Math.min(...points.map((p) => p.barLowPct));
  const yHi = Math.max(...points.map((p) => p.barHighPct), ...fronts.map((f) => 100 * f.accuracy));
  const yTicks =
    points.length === 0 ? niceTicks(0, 100, 5) : niceTicks(Math.max(0, yLo), Math.min(100, Math.max(yHi, yLo)), 6);

  const rows = legendRows(series);
  for (const f of options.frontiers ?? []) rows.push({ kind: 'run', text: clip(f.label, LEGEND_MAX_CHARS) });
  const legendChars = Math.max(
    0,
    ...rows.map((r) => (r.kind === 'run' ? [...r.text].length * 1.1 : [...legendText(r.series)].length + 2)),
  );
  const legendWidthPx = Math.min(
    Math.round(widthPx * 0.42),
    Math.max(140, Math.ceil(legendChars * CHAR_EM * LEGEND_PX) + 36),
  );
  const rowPx = 20;
  const top = 30 + 8 + subtitleLines(options).length * (SUBTITLE_PX + 6) + 22;
  const heightPx = Math.max(options.heightPx ?? 640, top + rows.length * rowPx + 80);
  const plot = { left: 72, top, right: widthPx - legendWidthPx - 40, bottom: heightPx - 58 };
  const x = (v: number) => plot.left + ((v - xTicks.min) / (xTicks.max - xTicks.min)) * (plot.right - plot.left);
  const y = (v: number) => plot.bottom - ((v - yTicks.min) / (yTicks.max - yTicks.min)) * (plot.bottom - plot.top);
  return {
    widthPx,
    heightPx,
    plot,
    xTicks,
    yTicks,
    legend: { left: plot.right + 24, top: plot.top, widthPx: legendWidthPx, rowPx },
    x,
    y,
  };
}

const LEVEL_PX = 10;

type Box = { x0: number; y0: number; x1: number; y1: number };

function overlapArea(a: Box, b: Box): number {
  return (
    Math.max(0, Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0)) * Math.max(0, Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0))
  );
}

/**
 * Positions for the level names of the levels / TLDR curves: each takes the first spot around its marker (right,
 * then above or below right, then the same on the left) that covers no marker, error bar or earlier name, else the
 * spot that covers least. Greedy and in series order, so the same input gives the same layout.
 */
function placeLevelLabels(
  series: readonly ReportSeries[],
  L: ChartLayout,
): { x: number; y: number; text: LengthTag; color: string }[] {
  const obstacles: Box[] = [];
  for (const s of series)
    for (const p of s.points) {
      const cx = L.x(p.point.meanThinkingTokens);
      const cy = L.y(p.accuracyPct);
      obstacles.push({ x0: cx - 6, y0: cy - 6, x1: cx + 6, y1: cy + 6 });
      obstacles.push({
        x0: cx - 3,
        y0: L.y(p.barHighPct),
        x1: cx + 3,
        y1: L.y(p.barLowPct),
      });
    }
  const out: { x: number; y: number; text: LengthTag; color: string }[] = [];
  for (const s of series) {
    if (s.kind !== 'levels' && s.kind !== 'tldr') continue;
    for (const p of s.points) {
      const tag = p.point.lengthTag;
      if (!tag) continue;
      const cx = L.x(p.point.meanThinkingTokens);
      const cy = L.y(p.accuracyPct);
      const w = tag.length * CHAR_EM * LEVEL_PX;
      // Baseline positions; the box spans 8 px above the baseline to 2 px below.
      const spots = [
        [cx + 8, cy + 4],
        [cx + 7, cy - 7],
        [cx + 7, cy + 15],
        [cx - 8 - w, cy + 4],
        [cx - 7 - w, cy - 7],
        [cx - 7 - w, cy + 15],
      ] as const;
      let best: { x: number; y: number; box: Box; cost: number } | null = null;
      for (const [x, y] of spots) {
        const box = { x0: x, y0: y - 8, x1: x + w, y1: y + 2 };
        const outside = box.x0 < L.plot.left || box.x1 > L.plot.right || box.y0 < L.plot.top || box.y1 > L.plot.bottom;
        const cost = obstacles.reduce((c, o) => c + overlapArea(box, o), outside ? 1e6 : 0);
        if (best === null || cost < best.cost) best = { x, y, box, cost };
        if (cost === 0) break;
      }
      obstacles.push(best!.box);
      out.push({ x: best!.x, y: best!.y, text: tag, color: s.color });
    }
  }
  return out;
}

/** A coordinate as written in the SVG (two decimals: sub-pixel, and the same bytes on every machine). */
export function px(v: number): string {
  return v.toFixed(2);
}

function markerSvg(shape: MarkerShape, cx: number, cy: number, color: string, cls: string): string {
  const r = 4.5;
  const common = `class="${cls}" fill="${color}" stroke="#ffffff" stroke-width="1.2"`;
  switch (shape) {
    case 'circle':
      return `<circle ${common} cx="${px(cx)}" cy="${px(cy)}" r="${r}"/>`;
    case 'square':
      return `<rect ${common} x="${px(cx - r)}" y="${px(cy - r)}" width="${2 * r}" height="${2 * r}"/>`;
    case 'diamond': {
      const d = r * 1.35;
      return `<path ${common} d="M${px(cx)} ${px(cy - d)}L${px(cx + d)} ${px(cy)}L${px(cx)} ${px(cy + d)}L${px(cx - d)} ${px(cy)}Z"/>`;
    }
    case 'triangle':
    case 'triangle-down': {
      const s = shape === 'triangle' ? 1 : -1;
      const h = r * 1.3;
      return `<path ${common} d="M${px(cx)} ${px(cy - s * h)}L${px(cx + h)} ${px(cy + s * h * 0.8)}L${px(cx - h)} ${px(cy + s * h * 0.8)}Z"/>`;
    }
  }
}

function tickText(v: number, decimals: number): string {
  return v.toFixed(decimals);
}

/**
 * The chart as a standalone SVG document: x = mean thinking tokens, y = accuracy (%), a ±1 SE bar per point
 * (class "se"), one marker per point (class "marker"), points joined per series, legend, ticks, axis titles, title
 * and subtitle. No external fonts, styles or scripts, so it renders the same on GitHub as in a browser.
 */
export function renderChartSvg(series: readonly ReportSeries[], options: ChartOptions): string {
  const L = chartLayout(series, options);
  const { plot } = L;
  const o: string[] = [];
  const titleChars = Math.floor((L.widthPx - 32) / (CHAR_EM * TITLE_PX));
  const subChars = Math.floor((L.widthPx - 32) / (CHAR_EM * SUBTITLE_PX));
  o.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${L.widthPx}" height="${L.heightPx}" viewBox="0 0 ${L.widthPx} ${L.heightPx}" font-family="${escapeXml(FONT)}" role="img">`,
    `<title>${escapeXml(options.title)}</title>`,
    `<rect width="${L.widthPx}" height="${L.heightPx}" fill="#ffffff"/>`,
    `<text x="16" y="30" font-size="${TITLE_PX}" font-weight="600" fill="#111111">${escapeXml(clip(options.title, titleChars))}</text>`,
  );
  subtitleLines(options).forEach((line, i) => {
    const yLine = 30 + 8 + (i + 1) * (SUBTITLE_PX + 6) - 4;
    o.push(
      `<text x="16" y="${yLine}" font-size="${SUBTITLE_PX}" fill="#555555">${escapeXml(clip(line, subChars))}</text>`,
    );
  });

  // Grid, ticks and axes.
  o.push('<g class="grid" stroke="#e6e6e6" stroke-width="1">');
  for (const v of L.xTicks.values) o.push(`<path d="M${px(L.x(v))} ${px(plot.top)}V${px(plot.bottom)}"/>`);
  for (const v of L.yTicks.values) o.push(`<path d="M${px(plot.left)} ${px(L.y(v))}H${px(plot.right)}"/>`);
  o.push('</g>');
  o.push(
    `<path class="axes" d="M${px(plot.left)} ${px(plot.top)}V${px(plot.bottom)}H${px(plot.right)}" fill="none" stroke="#333333" stroke-width="1"/>`,
  );
  o.push(`<g class="x-ticks" font-size="${TICK_PX}" fill="#333333" text-anchor="middle">`);
  for (const v of L.xTicks.values)
    o.push(`<text x="${px(L.x(v))}" y="${px(plot.bottom + 18)}">${tickText(v, L.xTicks.decimals)}</text>`);
  o.push('</g>');
  o.push(`<g class="y-ticks" font-size="${TICK_PX}" fill="#333333" text-anchor="end">`);
  for (const v of L.yTicks.values)
    o.push(`<text x="${px(plot.left - 8)}" y="${px(L.y(v) + 4)}">${tickText(v, L.yTicks.decimals)}</text>`);
  o.push('</g>');
  const midX = (plot.left + plot.right) / 2;
  const midY = (plot.top + plot.bottom) / 2;
  o.push(
    `<text x="${px(midX)}" y="${px(plot.bottom + 44)}" font-size="13" fill="#111111" text-anchor="middle">mean thinking tokens</text>`,
    `<text transform="translate(24 ${px(midY)}) rotate(-90)" font-size="13" fill="#111111" text-anchor="middle">accuracy (%)</text>`,
  );

  // Oracle frontiers under everything: a band from the x axis up to the frontier, then the frontier as a dashed step
  // line held flat to the plot's right edge (beyond its last point the oracle is no more accurate).
  for (const f of options.frontiers ?? []) {
    if (f.points.length === 0) continue;
    const clampY = (pct: number) => L.y(Math.max(L.yTicks.min, Math.min(L.yTicks.max, pct)));
    const pts = f.points.map((p) => [L.x(p.meanThinkingTokens), clampY(100 * p.accuracy)] as const);
    const last = pts[pts.length - 1]!;
    const line = [...pts, [plot.right, last[1]] as const];
    const d = line.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${px(x)} ${px(y)}`).join('');
    o.push(
      `<g class="frontier">`,
      `<path class="band" d="${d}L${px(plot.right)} ${px(plot.bottom)}L${px(line[0]![0])} ${px(plot.bottom)}Z" fill="${FRONTIER_COLOR}" fill-opacity="0.12" stroke="none"/>`,
      `<path class="line" d="${d}" fill="none" stroke="${FRONTIER_COLOR}" stroke-width="1.6" stroke-dasharray="5 3"/>`,
      '</g>',
    );
  }

  // Series: line first, then per point its SE bar and marker (markers on top of the bars).
  for (const s of series) {
    o.push(`<g class="series" data-series="${escapeXml(s.key)}">`);
    if (s.points.length > 1) {
      const d = s.points
        .map((p, i) => `${i === 0 ? 'M' : 'L'}${px(L.x(p.point.meanThinkingTokens))} ${px(L.y(p.accuracyPct))}`)
        .join('');
      o.push(
        `<path class="line" d="${d}" fill="none" stroke="${s.color}" stroke-width="1.8" stroke-opacity="0.85" stroke-linejoin="round"/>`,
      );
    }
    for (const p of s.points) {
      const cx = L.x(p.point.meanThinkingTokens);
      const cy = L.y(p.accuracyPct);
      // An accuracy cannot leave [0, 100]: the bar stops at the bounds.
      const y1 = L.y(p.barHighPct);
      const y2 = L.y(p.barLowPct);
      const level = p.point.lengthTag ? ` <${p.point.lengthTag}>` : '';
      const tip = `${s.label}: ${p.setting}${level} — accuracy ${p.accuracyText}%, ${p.point.meanThinkingTokens.toFixed(1)} thinking tokens, n = ${p.point.problems}`;
      o.push(
        '<g class="pt">',
        `<title>${escapeXml(tip)}</title>`,
        `<path class="se" d="M${px(cx)} ${px(y1)}V${px(y2)}M${px(cx - 3)} ${px(y1)}H${px(cx + 3)}M${px(cx - 3)} ${px(y2)}H${px(cx + 3)}" stroke="${s.color}" stroke-width="1.2"/>`,
        markerSvg(s.marker, cx, cy, s.color, 'marker'),
      );
      o.push('</g>');
    }
    o.push('</g>');
  }
  // Level curves name their points (the level is what moves along them), above every series, haloed in white.
  o.push(`<g class="levels" font-size="${LEVEL_PX}" stroke="#ffffff" stroke-width="3" paint-order="stroke">`);
  for (const l of placeLevelLabels(series, L))
    o.push(`<text x="${px(l.x)}" y="${px(l.y)}" fill="${l.color}">${l.text}</text>`);
  o.push('</g>');

  // Legend: a line and marker sample, then the label and what varies along the curve; run names as headings.
  const lg = L.legend;
  o.push(`<g class="legend" font-size="${LEGEND_PX}" fill="#222222">`);
  const rows = legendRows(series);
  const indentPx = rows.some((r) => r.kind === 'run') ? 10 : 0;
  rows.forEach((row, i) => {
    const yRow = lg.top + 10 + i * lg.rowPx;
    if (row.kind === 'run') {
      o.push(`<text x="${px(lg.left)}" y="${px(yRow + 4)}" font-weight="600">${escapeXml(row.text)}</text>`);
      return;
    }
    const s = row.series;
    const left = lg.left + indentPx;
    o.push(
      `<path d="M${px(left)} ${px(yRow)}H${px(left + 22)}" stroke="${s.color}" stroke-width="1.8"/>`,
      markerSvg(s.marker, left + 11, yRow, s.color, 'legend-marker'),
      `<text x="${px(left + 30)}" y="${px(yRow + 4)}">${escapeXml(legendText(s))}</text>`,
    );
  });
  (options.frontiers ?? []).forEach((f, j) => {
    const yRow = lg.top + 10 + (rows.length + j) * lg.rowPx;
    o.push(
      `<path class="frontier-legend" d="M${px(lg.left)} ${px(yRow)}H${px(lg.left + 22)}" stroke="${FRONTIER_COLOR}" stroke-width="1.6" stroke-dasharray="5 3"/>`,
      `<text x="${px(lg.left + 30)}" y="${px(yRow + 4)}">${escapeXml(clip(f.label, LEGEND_MAX_CHARS))}</text>`,
    );
  });
  o.push('</g>', '</svg>', '');
  return o.join('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// Markdown

function pct(fraction: number): string {
  return `${(100 * fraction).toFixed(1)}%`;
}

function tokens(v: number | null): string {
  return v === null ? '—' : v.toFixed(1);
}

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
        pct(e.stopRate),
        pct(e.repetitionRate),
        String(e.problems),
      ];
    }),
  );
  return `${markdownTable(header, [false, false, false, false, true, true, true, true, true, true], rows)}\n`;
}

/** "stopping-arithmetic: SFT 3000 steps, wall 22.6 s" or "…: SFT 3000 + RL 200 steps, …". */
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
export function renderOracleSection(run: RunRecord, series: readonly ReportSeries[]): string | null {
  const r = run.oracle;
  if (!r) return null;
  const s = r.summary;
  const after = s.meanTokensAfterCorrect === null ? '—' : s.meanTokensAfterCorrect.toFixed(1);
  const lines = [
    `## Oracle stopping frontier: ${escapeMarkdown(run.name)}`,
    '',
    hardBreakLines([
      `${s.problems} problems (${escapeMarkdown(r.variant)}), ${r.trace === 'greedy' ? 'greedy' : `T ${r.trace.temperature}`} own traces, \`</think>\` forced after every thinking token, greedy answer (≤ ${r.answerTokens} tokens), ${r.stage.toUpperCase()} weights at step ${r.step}.`,
      `Own stop: ${pct(s.ownAccuracy)} at ${s.ownMeanThinkingTokens.toFixed(1)} thinking tokens. Oracle: ${pct(s.oracleAccuracy)} at ${s.oracleMeanThinkingTokens.toFixed(1)} (stops only at step boundaries: ${pct(s.stepsOracleAccuracy)} at ${s.stepsOracleMeanThinkingTokens.toFixed(1)}). Without thinking: ${pct(s.accuracyWithoutThinking)}.`,
      `Thinking after the answer was already right: ${after} tokens per right problem, ${pct(s.fractionThinkingAfterCorrect)} of all thinking. Right at an earlier stop but wrong at the own stop: ${s.rightThenWrong} of ${s.problems}; right → wrong → right: ${s.unstableRight}.`,
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
            pct(p.point.accuracy),
            p.point.meanThinkingTokens.toFixed(1),
            pct(p.point.accuracy + d.accuracyGap),
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
  const parts = [
    `# ${escapeMarkdown(args.title)}`,
    '',
    ...(args.subtitle.length > 0 ? [hardBreakLines(args.subtitle.map(escapeMarkdown)), ''] : []),
    `![${escapeMarkdown(args.title)}](${encodeURI(args.svgFileName).replace(/[()]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)})`,
    '',
    renderMarkdownTable(args.series),
  ];
  for (const section of args.sections ?? []) parts.push(section);
  if (args.notes.length > 0) parts.push(hardBreakLines(args.notes.map(escapeMarkdown)), '');
  if (args.command !== undefined) parts.push('Made with', '', codeBlock(args.command), '');
  return parts.join('\n');
}
