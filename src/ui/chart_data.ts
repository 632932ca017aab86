/**
 * Pure helpers that turn saved runs into what the charts draw: bounded (downsampled) training curves, eval points
 * grouped by stopping method, colours, labels, and the split of a completion into prompt / thinking / answer spans.
 * Charts read only metric keys from src/train/metrics.ts and EvalPoint fields.
 */
import type { MetricPoint } from '../state/run_record';
import { METRIC } from '../train/metrics';
import type { EvalPoint, SeriesId } from '../train/results';

/**
 * Most points any chart line draws. Recharts' render time grows with the points: in headless Chromium on a shared
 * 2-core VM (no GPU), a 1000-step run updating the training chart every 200 ms gave several 50–60 ms main-thread tasks
 * with 500 points per line and none with 200, so the live curves are downsampled to 200.
 */
export const MAX_CHART_POINTS = 200;

export const SERIES_IDS: readonly SeriesId[] = ['temperature', 'ts', 'bias', 'cap', 'extend'];

export const SERIES_LABEL: Record<SeriesId, string> = {
  temperature: 'temperature (no intervention)',
  ts: 'TS: stop-decision temperature τ',
  bias: 'logit bias on </think>',
  cap: 's1 cap (budget B)',
  extend: 's1 extend ("Wait")',
};

/** Short names for legends. */
export const SERIES_SHORT: Record<SeriesId, string> = {
  temperature: 'temperature',
  ts: 'TS τ',
  bias: '</think> bias',
  cap: 's1 cap',
  extend: 's1 extend',
};

export const SERIES_COLOR: Record<SeriesId, string> = {
  temperature: '#1f77b4',
  ts: '#d62728',
  bias: '#2ca02c',
  cap: '#9467bd',
  extend: '#ff7f0e',
};

/** Marker shape per method when colours are taken by runs (compare mode). */
export const SERIES_SHAPE: Record<SeriesId, 'circle' | 'diamond' | 'square' | 'triangle' | 'star'> = {
  temperature: 'circle',
  ts: 'diamond',
  bias: 'square',
  cap: 'triangle',
  extend: 'star',
};

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

/** The knob a method varies, as "τ = 0.5", "B = 32 tokens", … (with the TLDR level the prompts were tagged with). */
export function settingLabel(p: Pick<EvalPoint, 'series' | 'decode' | 'lengthTag'>): string {
  const knob = knobLabel(p);
  return p.lengthTag ? `${knob} · <${p.lengthTag}>` : knob;
}

function knobLabel(p: Pick<EvalPoint, 'series' | 'decode'>): string {
  const d = p.decode;
  switch (p.series) {
    case 'temperature':
      return `temperature ${d.temperature}`;
    case 'ts':
      return `τ = ${d.stopTemperature} (temperature ${d.temperature})`;
    case 'bias':
      return `bias ${d.stopLogitBias >= 0 ? '+' : ''}${d.stopLogitBias} (temperature ${d.temperature})`;
    case 'cap':
      return `B = ${d.thinkingBudgetTokens} tokens (temperature ${d.temperature})`;
    case 'extend':
      return `min ${d.minThinkingTokens} tokens, ≤ ${d.maxExtensions} Waits (temperature ${d.temperature})`;
  }
}

/** One chart datum per eval point (what the scatter draws and the tooltip shows). */
export interface ScatterDatum {
  key: string;
  runId: string;
  pointId: string;
  x: number;
  y: number;
  series: SeriesId;
  setting: string;
  step: number;
  stopRate: number;
  repetitionRate: number;
  problems: number;
  variant: string;
}

export function scatterDatum(runId: string, p: EvalPoint): ScatterDatum {
  return {
    key: `${runId}:${p.id}`,
    runId,
    pointId: p.id,
    x: p.meanThinkingTokens,
    y: p.accuracy,
    series: p.series,
    setting: settingLabel(p),
    step: p.step,
    stopRate: p.stopRate,
    repetitionRate: p.repetitionRate,
    problems: p.problems,
    variant: p.variant,
  };
}

export interface SeriesGroup {
  series: SeriesId;
  /** Every point of the method (markers). */
  all: ScatterDatum[];
  /** The points at the latest evaluated step, sorted by x: joined into the method's curve. */
  curve: ScatterDatum[];
}

/** Eval points grouped by method; each method's curve joins its points evaluated on the latest weights. */
export function seriesGroups(runId: string, points: readonly EvalPoint[]): SeriesGroup[] {
  const groups: SeriesGroup[] = [];
  for (const series of SERIES_IDS) {
    const mine = points.filter((p) => p.series === series);
    if (mine.length === 0) continue;
    const all = downsample(mine, MAX_CHART_POINTS).map((p) => scatterDatum(runId, p));
    const lastStep = Math.max(...mine.map((p) => p.step));
    const curve = mine
      .filter((p) => p.step === lastStep)
      .map((p) => scatterDatum(runId, p))
      .sort((a, b) => a.x - b.x);
    groups.push({ series, all, curve });
  }
  return groups;
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

export function percent(fraction: number | undefined, digits = 1): string {
  return fraction === undefined || !Number.isFinite(fraction) ? '—' : `${(100 * fraction).toFixed(digits)}%`;
}
