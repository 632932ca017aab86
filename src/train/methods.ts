/**
 * The decoding methods, written once: each stopping method's id, names, knob (the decode field it varies, its symbol,
 * unit, valid range and the playground's sweep), colour and marker, and the one rule that says which training stage's
 * weights a point evaluated. The chart (src/ui/chart_data.ts), the report (src/headless/report.ts), the headless runner
 * (src/headless/experiment.ts), the run file (src/runs/run_file.ts) and the playground's sweeps all read this table.
 * Pure data and functions: no DOM, no GPU.
 */
import type { DecodeConfig, Intervention } from './run_config';

/** Chart series: one per stopping method ('temperature' = plain decoding, the temperature being the swept knob). */
export const SERIES_IDS = ['temperature', 'ts', 'bias', 'cap', 'extend', 'ts_logit', 'margin'] as const;
export type SeriesId = (typeof SERIES_IDS)[number];

/** The numeric DecodeConfig fields a method's knob can be. */
export type KnobField =
  | 'temperature'
  | 'stopTemperature'
  | 'stopLogitBias'
  | 'thinkingBudgetTokens'
  | 'minThinkingTokens'
  | 'stopLogitTemperature'
  | 'stopMarginNats';

/** Knob fields that files written before them lack: the value that turns the rule off. */
const KNOB_ABSENT: Partial<Record<KnobField, number>> = { stopLogitTemperature: 1, stopMarginNats: 0 };

export interface Knob {
  /** The DecodeConfig field the method varies: a value enters the decode settings there (applySweepValue). */
  field: KnobField;
  /** Symbol in settings and sweeps: "τ = 0.5", "τ 0.25 → 4". */
  symbol: string;
  /** What it is, in words (the playground's sweep buttons). */
  name: string;
  unit: 'tokens' | null;
  /** Valid values (the decode schema's bounds, src/train/run_config.ts): [min, max], integers only when `integer`. */
  min: number;
  max: number;
  integer: boolean;
  /** The values the playground's "Sweep" button evaluates. */
  sweep: readonly number[];
}

export type MarkerShape = 'circle' | 'diamond' | 'square' | 'triangle' | 'star' | 'wye' | 'cross';

export interface DecodingMethod {
  id: SeriesId;
  /** The DecodeConfig intervention that selects it ('none' for plain decoding). */
  intervention: Intervention;
  /**
   * How the decoder applies it: 'stop-token', a rule in the sampler on the `</think>` token (its temperature, bias or
   * margin); 'budget-forcing', forced tokens at a thinking budget (s1); 'none', plain decoding.
   */
  mechanism: 'none' | 'stop-token' | 'budget-forcing';
  /** Name in reports and series labels: "TS", "s1 cap". */
  name: string;
  /** Legend name in the playground: "TS τ". */
  short: string;
  /** Full name for tooltips and captions. */
  label: string;
  knob: Knob;
  /** Colour of its line on the SFT model (the first five of Tableau 10, PALETTE). */
  color: string;
  /** Colour of its line on the RL model in the playground (others of the palette, none an SFT colour). */
  rlColor: string;
  /** Marker shape when colours are taken by runs (the playground's compare mode). */
  marker: MarkerShape;
}

/**
 * Tableau 10: the first five methods take the first five; the report's levels / TLDR kinds and the RL lines take the
 * rest. The last four (from Tableau 20 and 20b) are the two later methods' (stop-logit TS, margin) SFT and RL colours.
 */
export const PALETTE = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#9467bd',
  '#ff7f0e',
  '#8c564b',
  '#17becf',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#843c39',
  '#ff9896',
  '#637939',
  '#98df8a',
] as const;

export const METHODS: Record<SeriesId, DecodingMethod> = {
  temperature: {
    id: 'temperature',
    intervention: 'none',
    mechanism: 'none',
    name: 'temperature',
    short: 'temperature',
    label: 'temperature (no intervention)',
    knob: {
      field: 'temperature',
      symbol: 'T',
      name: 'temperature',
      unit: null,
      min: 0,
      max: 10,
      integer: false,
      sweep: [0, 0.3, 0.6, 1.0],
    },
    color: PALETTE[0],
    rlColor: PALETTE[7],
    marker: 'circle',
  },
  ts: {
    id: 'ts',
    intervention: 'ts',
    mechanism: 'stop-token',
    name: 'TS',
    short: 'TS τ',
    label: 'TS: stop-decision temperature τ',
    knob: {
      field: 'stopTemperature',
      symbol: 'τ',
      name: 'τ',
      unit: null,
      min: 0,
      max: 100,
      integer: false,
      sweep: [0.25, 0.5, 1, 2, 4],
    },
    color: PALETTE[1],
    rlColor: PALETTE[5],
    marker: 'diamond',
  },
  bias: {
    id: 'bias',
    intervention: 'bias',
    mechanism: 'stop-token',
    name: '</think> bias',
    short: '</think> bias',
    label: 'logit bias on </think>',
    knob: {
      field: 'stopLogitBias',
      symbol: 'bias',
      name: 'bias',
      unit: null,
      min: -100,
      max: 100,
      integer: false,
      sweep: [-4, -2, 0, 2, 4],
    },
    color: PALETTE[2],
    rlColor: PALETTE[9],
    marker: 'square',
  },
  cap: {
    id: 'cap',
    intervention: 'cap',
    mechanism: 'budget-forcing',
    name: 's1 cap',
    short: 's1 cap',
    label: 's1 cap (budget B)',
    knob: {
      field: 'thinkingBudgetTokens',
      symbol: 'B',
      name: 'B',
      unit: 'tokens',
      min: 0,
      max: 1024,
      integer: true,
      sweep: [8, 16, 32, 64, 128],
    },
    color: PALETTE[3],
    rlColor: PALETTE[8],
    marker: 'triangle',
  },
  extend: {
    id: 'extend',
    intervention: 'extend',
    mechanism: 'budget-forcing',
    name: 's1 extend',
    short: 's1 extend',
    label: 's1 extend ("Wait")',
    knob: {
      field: 'minThinkingTokens',
      symbol: 'min',
      name: 'min tokens',
      unit: 'tokens',
      min: 0,
      max: 1024,
      integer: true,
      sweep: [16, 32, 64],
    },
    color: PALETTE[4],
    rlColor: PALETTE[6],
    marker: 'star',
  },
  ts_logit: {
    id: 'ts_logit',
    intervention: 'ts_logit',
    mechanism: 'stop-token',
    name: 'stop-logit TS',
    short: 'stop-logit τ_z',
    label: 'stop-logit TS: z_stop / τ_z (other logits unchanged)',
    knob: {
      field: 'stopLogitTemperature',
      symbol: 'τ_z',
      name: 'τ_z',
      unit: null,
      min: 0,
      max: 100,
      integer: false,
      sweep: [0.5, 0.8, 1, 1.25, 2],
    },
    color: PALETTE[10],
    rlColor: PALETTE[11],
    marker: 'wye',
  },
  margin: {
    id: 'margin',
    intervention: 'margin',
    mechanism: 'stop-token',
    name: 'margin',
    short: 'margin δ',
    label: 'margin rule: stop when log p(top) − log p(</think>) < δ',
    knob: {
      field: 'stopMarginNats',
      symbol: 'δ',
      name: 'δ (nats)',
      unit: null,
      min: 0,
      max: 50,
      integer: false,
      sweep: [0.5, 1, 2, 4, 8],
    },
    color: PALETTE[12],
    rlColor: PALETTE[13],
    marker: 'cross',
  },
};

/** One value per method, from the table. */
export function perMethod<T>(f: (m: DecodingMethod) => T): Record<SeriesId, T> {
  return Object.fromEntries(SERIES_IDS.map((id) => [id, f(METHODS[id])])) as Record<SeriesId, T>;
}

/** How a swept value enters the decode settings (the playground's sweep buttons and the headless runner's sweeps). */
export function applySweepValue(series: SeriesId, d: DecodeConfig, value: number): DecodeConfig {
  const m = METHODS[series];
  return { ...d, intervention: m.intervention, [m.knob.field]: value };
}

/** The value a method sweeps in decode settings `d`: the field `applySweepValue` sets for that series. */
export function sweptValue(series: SeriesId, d: DecodeConfig): number {
  const field = METHODS[series].knob.field;
  return d[field] ?? KNOB_ABSENT[field] ?? Number.NaN;
}

/** The method a decode setting's intervention selects. */
export function seriesFor(intervention: Intervention): SeriesId {
  return SERIES_IDS.find((id) => METHODS[id].intervention === intervention)!;
}

/** A number for labels: 0.25, 4, −2 (a real minus sign; six significant digits at most). */
export function formatKnobNumber(v: number): string {
  const s = String(Number(v.toPrecision(6)));
  return s.startsWith('-') ? `−${s.slice(1)}` : s;
}

/** The method's knob in `d` as "τ = 0.5", "bias +2", "B = 32", "min 16 ×2" or "T = 0.6". */
export function knobText(series: SeriesId, d: DecodeConfig): string {
  const v = sweptValue(series, d);
  const n = formatKnobNumber(v);
  if (series === 'bias') return `bias ${v > 0 ? '+' : ''}${n}`;
  if (series === 'extend') return `min ${n} ×${formatKnobNumber(d.maxExtensions)}`;
  if (series === 'margin') return `δ = ${n}${d.stopMarginAtSteps ? ' at ;' : ''}`;
  return `${METHODS[series].knob.symbol} = ${n}`;
}

/** The decode settings that tell a method's points apart: its knob and the temperature ("τ = 0.5, T = 0.6"). */
export function decodeSettingText(series: SeriesId, d: DecodeConfig): string {
  const t = knobText('temperature', d);
  return series === 'temperature' ? t : `${knobText(series, d)}, ${t}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Stage

/** The training stage whose weights a point evaluated. */
export const STAGES = ['sft', 'rl'] as const;
export type Stage = (typeof STAGES)[number];

/** What the stage rule reads of a run: its config and where its RL stage began. */
export interface RunStages {
  config: { sft: { steps: number }; rl?: unknown };
  /** Timeline step at which the RL stage began; null: the run recorded that it had none; absent: not recorded. */
  rlStartStep?: number | null;
}

/**
 * The timeline step after which a run's points evaluated RL weights, or null when it had no RL stage: `rlStartStep`
 * where the run recorded it, else (files from before it was recorded) the SFT steps of a run configured with an RL
 * stage, since RL steps continue the SFT step count.
 */
export function rlStartOf(run: RunStages): number | null {
  if (run.rlStartStep !== undefined) return run.rlStartStep;
  return run.config.rl ? run.config.sft.steps : null;
}

/**
 * THE stage rule. A point that saved its stage has it. Points saved before they recorded a stage (files written before
 * 2026-11-26 09:49, when the RL stage already existed) left it out on RL points too; such a point is an RL point when
 * it evaluated weights after the run's RL stage began (its step is past rlStartOf), else SFT. The step tells it
 * because an RL stage's steps continue the run's timeline after the SFT steps, and SFT never goes past them.
 */
export function stageOf(p: { stage?: Stage; step: number }, run: RunStages): Stage {
  if (p.stage) return p.stage;
  const rlStart = rlStartOf(run);
  return rlStart !== null && p.step > rlStart ? 'rl' : 'sft';
}

const stagedCache = new WeakMap<readonly object[], { rlStart: number | null; points: readonly object[] }>();

/**
 * A run's points, each with its stage spelled out (stageOf). The same array when every point saved its stage;
 * otherwise a copy, cached per points array (and RL start), so a caller that asks on every store update gets the same
 * array back until the points change.
 */
export function withStages<P extends { stage?: Stage; step: number }>(
  points: readonly P[],
  run: RunStages,
): readonly (P & { stage: Stage })[] {
  if (points.every((p) => p.stage !== undefined)) return points as readonly (P & { stage: Stage })[];
  const rlStart = rlStartOf(run);
  const hit = stagedCache.get(points);
  if (hit && hit.rlStart === rlStart) return hit.points as readonly (P & { stage: Stage })[];
  const staged = points.map((p) => ({ ...p, stage: stageOf(p, run) }));
  stagedCache.set(points, { rlStart, points: staged });
  return staged;
}
