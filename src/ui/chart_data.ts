/**
 * Pure helpers that turn saved runs into what the charts draw: bounded (downsampled) training curves, eval points
 * grouped by training stage and stopping method, colours, labels, and the split of a completion into prompt /
 * thinking / answer spans. Charts read only metric keys from src/train/metrics.ts and EvalPoint fields.
 */
import type { MetricPoint } from '../runs/run_record';
import {
  knobText,
  type MarkerShape,
  METHODS,
  perMethod,
  type RunStages,
  SERIES_IDS,
  type SeriesId,
  type Stage,
  withStages,
} from '../train/methods';
import { METRIC } from '../train/metrics';
import type { OracleResult } from '../train/oracle';
import type { EvalPoint } from '../train/results';
import { type RunConfig, rlConfigFor } from '../train/run_config';

export { type MarkerShape, SERIES_IDS, type Stage };

/**
 * Most points any chart line draws. Recharts' render time grows with the points: in headless Chromium on a shared
 * 2-core VM (no GPU), a 1000-step run updating the training chart every 200 ms gave several 50–60 ms main-thread tasks
 * with 500 points per line and none with 200, so the live curves are downsampled to 200.
 */
export const MAX_CHART_POINTS = 200;

// The methods' names, colours and shapes, from their table (src/train/methods.ts).
export const SERIES_LABEL = perMethod((m) => m.label);
/** Short names for legends. */
export const SERIES_SHORT = perMethod((m) => m.short);
export const SERIES_COLOR = perMethod((m) => m.color);
/** Marker shape per method when colours are taken by runs (compare mode). */
export const SERIES_SHAPE = perMethod((m) => m.marker);

/**
 * The stage of a point as the chart's helpers read it: the chart gives them a run's points with their stages spelled
 * out (chartPoints, by the one rule stageOf in src/train/methods.ts), so an absent stage here means a point that
 * comes without a run, read as the rule reads one from a run without an RL stage.
 */
function stageHere(p: Pick<EvalPoint, 'stage'>): Stage {
  return p.stage === 'rl' ? 'rl' : 'sft';
}

/**
 * A run's points as the charts draw them: each with its stage (stageOf). The same array for the same points, so a
 * selector can call it on every store update.
 */
export function chartPoints(run: RunStages & { evalPoints: readonly EvalPoint[] }): readonly EvalPoint[] {
  return withStages(run.evalPoints, run);
}

/**
 * A line of the trace-length vs accuracy chart. SFT-stage points keep their method's series (the SeriesId itself), as
 * before RL existed; RL-stage points never join those: plain decoding of the RL model is 'rl' (the TLDR or GRPO line,
 * joining the length levels), any other method on the RL model is 'rl-<method>'.
 */
export type ChartSeriesId = SeriesId | 'rl' | `rl-${Exclude<SeriesId, 'temperature'>}`;

export const CHART_SERIES_IDS: readonly ChartSeriesId[] = [
  ...SERIES_IDS,
  'rl',
  'rl-ts',
  'rl-bias',
  'rl-cap',
  'rl-extend',
  'rl-ts_logit',
  'rl-margin',
];

/** The chart series of a point (see ChartSeriesId). */
export function chartSeriesOf(p: Pick<EvalPoint, 'series' | 'stage'>): ChartSeriesId {
  const method = p.series;
  if (stageHere(p) === 'sft') return method;
  return method === 'temperature' ? 'rl' : (`rl-${method}` as const);
}

const SERIES_OF: Record<ChartSeriesId, { method: SeriesId; stage: Stage }> = {
  temperature: { method: 'temperature', stage: 'sft' },
  ts: { method: 'ts', stage: 'sft' },
  bias: { method: 'bias', stage: 'sft' },
  cap: { method: 'cap', stage: 'sft' },
  extend: { method: 'extend', stage: 'sft' },
  rl: { method: 'temperature', stage: 'rl' },
  'rl-ts': { method: 'ts', stage: 'rl' },
  'rl-bias': { method: 'bias', stage: 'rl' },
  'rl-cap': { method: 'cap', stage: 'rl' },
  'rl-extend': { method: 'extend', stage: 'rl' },
  ts_logit: { method: 'ts_logit', stage: 'sft' },
  margin: { method: 'margin', stage: 'sft' },
  'rl-ts_logit': { method: 'ts_logit', stage: 'rl' },
  'rl-margin': { method: 'margin', stage: 'rl' },
};

/** The stopping method of a chart series. */
export function chartSeriesMethod(id: ChartSeriesId): SeriesId {
  return SERIES_OF[id].method;
}

export function chartSeriesStage(id: ChartSeriesId): Stage {
  return SERIES_OF[id].stage;
}

/** RL-stage colours: the rest of the same ten-colour palette, so no RL line shares a colour with an SFT one. */
export const CHART_SERIES_COLOR: Record<ChartSeriesId, string> = {
  ...SERIES_COLOR,
  rl: METHODS.temperature.rlColor,
  'rl-ts': METHODS.ts.rlColor,
  'rl-bias': METHODS.bias.rlColor,
  'rl-cap': METHODS.cap.rlColor,
  'rl-extend': METHODS.extend.rlColor,
  'rl-ts_logit': METHODS.ts_logit.rlColor,
  'rl-margin': METHODS.margin.rlColor,
};

/**
 * Marker shapes in compare mode (colours are the runs'): the SFT series keep their methods' shapes (all seven of the
 * chart library's built-in symbols), the RL line is a ring and every other RL series an ×, both drawn by Charts.tsx, so
 * RL markers never look like SFT ones of the same run.
 */
export type ChartMarker = MarkerShape | 'ring' | 'x';

export const CHART_SERIES_SHAPE: Record<ChartSeriesId, ChartMarker> = {
  ...SERIES_SHAPE,
  rl: 'ring',
  'rl-ts': 'x',
  'rl-bias': 'x',
  'rl-cap': 'x',
  'rl-extend': 'x',
  'rl-ts_logit': 'x',
  'rl-margin': 'x',
};

/** What the RL stage is called on the chart (see rlSeriesName). */
export type RlName = 'TLDR' | 'GRPO';

/**
 * "TLDR" when anything in the run's RL stage is about length: a length penalty in the reward, levels mixed into its
 * prompts, or an RL-stage point evaluated with a length tag; otherwise the stage is plain "GRPO".
 */
export function rlSeriesName(config: RunConfig, points: readonly Pick<EvalPoint, 'stage' | 'lengthTag'>[]): RlName {
  const rl = rlConfigFor(config);
  const tagged = points.some((p) => stageHere(p) === 'rl' && p.lengthTag);
  return rl.reward.lengthPenalty === 'none' && rl.levels.length === 0 && !tagged ? 'GRPO' : 'TLDR';
}

/** Short name for legends: "TS τ" (SFT model), "TLDR" (RL model, plain decoding), "TLDR · TS τ". */
export function chartSeriesShort(id: ChartSeriesId, rlName: RlName = 'TLDR'): string {
  if (chartSeriesStage(id) === 'sft') return SERIES_SHORT[chartSeriesMethod(id)];
  return id === 'rl' ? rlName : `${rlName} · ${SERIES_SHORT[chartSeriesMethod(id)]}`;
}

/** Full name for tooltips and captions. */
export function chartSeriesLabel(id: ChartSeriesId, rlName: RlName = 'TLDR'): string {
  if (chartSeriesStage(id) === 'sft') return SERIES_LABEL[chartSeriesMethod(id)];
  if (id === 'rl') return `${rlName}: the RL model, plain decoding (short / medium / long levels)`;
  return `${rlName} · ${SERIES_LABEL[chartSeriesMethod(id)]}`;
}

export const RUN_COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2'];

/** At most `max` items, evenly spaced, always keeping the first and the last. */
export function downsample<T>(items: readonly T[], max: number = MAX_CHART_POINTS): T[] {
  if (items.length <= max) return items.slice();
  const out: T[] = [];
  const stride = (items.length - 1) / (max - 1);
  for (let i = 0; i < max; i++) out.push(items[Math.round(i * stride)]!);
  return out;
}

export interface CurvePoint {
  step: number;
  value: number;
}

/** One metric over steps (only the points that measured it), downsampled. */
export function metricCurve(timeline: readonly MetricPoint[], key: string, max = MAX_CHART_POINTS): CurvePoint[] {
  const points: CurvePoint[] = [];
  for (const p of timeline) {
    const v = (p.values as Record<string, number | undefined>)[key];
    if (v !== undefined && Number.isFinite(v)) points.push({ step: p.step, value: v });
  }
  return downsample(points, max);
}

export interface TrainingCurves {
  train: CurvePoint[];
  eval: CurvePoint[];
}

export function trainingCurves(timeline: readonly MetricPoint[]): TrainingCurves {
  return { train: metricCurve(timeline, METRIC.trainLoss), eval: metricCurve(timeline, METRIC.evalLoss) };
}

/** Latest value of each metric over a timeline (later points win). */
export function latestValues(timeline: readonly MetricPoint[]): Partial<Record<string, number>> {
  const out: Partial<Record<string, number>> = {};
  for (let i = timeline.length - 1; i >= 0; i--) {
    for (const [k, v] of Object.entries(timeline[i]!.values)) if (out[k] === undefined) out[k] = v;
    if (i < timeline.length - 50) break;
  }
  return out;
}

/**
 * The knob a method varies and the temperature ("τ = 0.5 (temperature 0.6)", "temperature 0.6"), with the TLDR level
 * the prompts were tagged with and, for the weights of an RL stage, "after RL" ("temperature 0 · <short> · after RL").
 */
export function settingLabel(p: Pick<EvalPoint, 'series' | 'decode' | 'lengthTag' | 'stage'>): string {
  const temperature = `temperature ${p.decode.temperature}`;
  const knob = p.series === 'temperature' ? temperature : `${knobText(p.series, p.decode)} (${temperature})`;
  const level = p.lengthTag ? ` · <${p.lengthTag}>` : '';
  return `${knob}${level}${stageHere(p) === 'rl' ? ' · after RL' : ''}`;
}

/** One chart datum per eval point (what the scatter draws and the tooltip shows). */
export interface ScatterDatum {
  key: string;
  runId: string;
  pointId: string;
  x: number;
  y: number;
  /** The stopping method. */
  series: SeriesId;
  /** The chart line the point belongs to (stage and method). */
  chartSeries: ChartSeriesId;
  /** That line's full name (chartSeriesLabel). */
  seriesLabel: string;
  setting: string;
  step: number;
  stopRate: number;
  repetitionRate: number;
  problems: number;
  variant: string;
}

/** `rlName`: what the run's RL stage is called (rlSeriesName). */
export function scatterDatum(runId: string, p: EvalPoint, rlName: RlName = 'TLDR'): ScatterDatum {
  const chartSeries = chartSeriesOf(p);
  return {
    key: `${runId}:${p.id}`,
    runId,
    pointId: p.id,
    x: p.meanThinkingTokens,
    y: p.accuracy,
    series: p.series,
    chartSeries,
    seriesLabel: chartSeriesLabel(chartSeries, rlName),
    setting: settingLabel(p),
    step: p.step,
    stopRate: p.stopRate,
    repetitionRate: p.repetitionRate,
    problems: p.problems,
    variant: p.variant,
  };
}

export interface SeriesGroup {
  /** The chart line (stage and method). */
  id: ChartSeriesId;
  /** Its stopping method. */
  series: SeriesId;
  stage: Stage;
  /** Legend name (chartSeriesShort). */
  short: string;
  /** Every point of the series (markers). */
  all: ScatterDatum[];
  /** The points joined into the series' curve, sorted by x (see seriesGroups). */
  curve: ScatterDatum[];
}

/**
 * Eval points grouped by stage and method (ChartSeriesId), in CHART_SERIES_IDS order. A curve joins points evaluated
 * on the series' latest weights, by thinking length. The RL line ('rl') joins the length levels: among its tagged
 * points at the latest step, those of the decode setting that covers the most levels (ties: the one evaluated last),
 * the latest point of each level, so it reads as the RL model's length/accuracy trade-off; an RL stage evaluated
 * without tags joins its latest-step points like any method. `rlName` names the RL series (rlSeriesName).
 */
export function seriesGroups(runId: string, points: readonly EvalPoint[], rlName: RlName = 'TLDR'): SeriesGroup[] {
  const groups: SeriesGroup[] = [];
  for (const id of CHART_SERIES_IDS) {
    const mine = points.filter((p) => chartSeriesOf(p) === id);
    if (mine.length === 0) continue;
    const datum = (p: EvalPoint) => scatterDatum(runId, p, rlName);
    const all = downsample(mine, MAX_CHART_POINTS).map(datum);
    const lastStep = Math.max(...mine.map((p) => p.step));
    const latest = mine.filter((p) => p.step === lastStep);
    const joined = id === 'rl' && latest.some((p) => p.lengthTag) ? levelCurve(latest) : latest;
    const curve = joined.map(datum).sort((a, b) => a.x - b.x);
    groups.push({
      id,
      series: chartSeriesMethod(id),
      stage: chartSeriesStage(id),
      short: chartSeriesShort(id, rlName),
      all,
      curve,
    });
  }
  return groups;
}

/** What makes two plain-decoding evaluations the same setting (their intervention is 'none'). */
function plainDecodeKey(p: EvalPoint): string {
  const d = p.decode;
  return `${d.temperature}|${d.topK}|${d.topP}|${d.maxNewTokens}`;
}

/** The tagged points of one decode setting, one per level (the latest), as described in seriesGroups. */
function levelCurve(points: readonly EvalPoint[]): EvalPoint[] {
  // Per decode setting: level → its latest point (later in the run's list = evaluated later), and when last touched.
  const bySetting = new Map<string, { levels: Map<string, EvalPoint>; lastIndex: number }>();
  points.forEach((p, i) => {
    if (!p.lengthTag) return;
    const key = plainDecodeKey(p);
    let entry = bySetting.get(key);
    if (!entry) {
      entry = { levels: new Map(), lastIndex: i };
      bySetting.set(key, entry);
    }
    entry.levels.set(p.lengthTag, p);
    entry.lastIndex = i;
  });
  let best: { levels: Map<string, EvalPoint>; lastIndex: number } | null = null;
  for (const entry of bySetting.values()) {
    if (
      best === null ||
      entry.levels.size > best.levels.size ||
      (entry.levels.size === best.levels.size && entry.lastIndex > best.lastIndex)
    ) {
      best = entry;
    }
  }
  return best === null ? [] : [...best.levels.values()];
}

export type TraceSpan = { kind: 'text' | 'think' | 'tag'; text: string };

const THINK_OPEN = '<think>';
const THINK_CLOSE = '</think>';

/** A completion split so the thinking span can be styled: tags, the think text, and everything else. */
export function splitThinking(completion: string): TraceSpan[] {
  const spans: TraceSpan[] = [];
  const open = completion.indexOf(THINK_OPEN);
  if (open < 0) return [{ kind: 'text', text: completion }];
  if (open > 0) spans.push({ kind: 'text', text: completion.slice(0, open) });
  spans.push({ kind: 'tag', text: THINK_OPEN });
  const from = open + THINK_OPEN.length;
  const close = completion.indexOf(THINK_CLOSE, from);
  if (close < 0) {
    spans.push({ kind: 'think', text: completion.slice(from) });
    return spans;
  }
  spans.push({ kind: 'think', text: completion.slice(from, close) });
  spans.push({ kind: 'tag', text: THINK_CLOSE });
  const rest = completion.slice(close + THINK_CLOSE.length);
  if (rest !== '') spans.push({ kind: 'text', text: rest });
  return spans;
}

export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

/** Large rates compactly: 950, 12.3k, 1.25M. */
export function formatCompact(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  if (Math.abs(value) >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (Math.abs(value) >= 1e4) return `${(value / 1e3).toFixed(1)}k`;
  return value.toFixed(0);
}

export function formatNumber(value: number | undefined, digits: number): string {
  return value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(digits);
}

/** Percentages: the one definition in src/util/format.ts, re-exported for the panels that format with this module. */
export { percent } from '../util/format';

// ---------------------------------------------------------------------------------------------------------------
// Oracle frontier (src/train/oracle.ts)

/** A point of the oracle frontier on the accuracy chart's axes (x: mean thinking tokens, y: accuracy fraction). */
export interface FrontierDatum {
  x: number;
  y: number;
}

const frontierCache = new WeakMap<OracleResult, readonly FrontierDatum[]>();

/**
 * A run's saved oracle frontier as chart data, held flat to the model's own mean thinking length (beyond its last
 * point the oracle is no more accurate). Computed once per saved result: nothing runs per training update.
 */
export function frontierData(oracle: OracleResult | null | undefined): readonly FrontierDatum[] {
  if (!oracle) return EMPTY_FRONTIER;
  const hit = frontierCache.get(oracle);
  if (hit) return hit;
  const pts = oracle.frontier.map((p) => ({ x: p.meanThinkingTokens, y: p.accuracy }));
  const last = pts[pts.length - 1];
  const right = oracle.summary.ownMeanThinkingTokens;
  if (last && right > last.x) pts.push({ x: right, y: last.y });
  frontierCache.set(oracle, pts);
  return pts;
}

const EMPTY_FRONTIER: readonly FrontierDatum[] = [];

/** The frontier's colour on the chart (neutral grey: never a method's). */
export const FRONTIER_CHART_COLOR = '#7f7f7f';
