/**
 * Grouping of eval points into the lines of the trace-length vs accuracy chart (src/ui/chart_data.ts): RL-stage points
 * never share a line with SFT-stage ones, the RL line joins the length levels, and points saved without a stage group
 * by stopping method as they always did.
 */
import { describe, expect, it } from 'vitest';
import type { LengthTag } from '../../src/tasks/types';
import { applySweepValue, type EvalPoint, type SeriesId } from '../../src/train/results';
import {
  DEFAULT_DECODE_CONFIG,
  DEFAULT_RL_CONFIG,
  DEFAULT_RUN_CONFIG,
  type RunConfig,
} from '../../src/train/run_config';
import {
  CHART_SERIES_COLOR,
  CHART_SERIES_IDS,
  CHART_SERIES_SHAPE,
  chartSeriesOf,
  rlSeriesName,
  SERIES_COLOR,
  SERIES_IDS,
  SERIES_SHAPE,
  scatterDatum,
  seriesGroups,
  settingLabel,
} from '../../src/ui/chart_data';

interface PointSpec {
  series?: SeriesId;
  /** The swept knob's value (temperature for 'temperature'). */
  knob?: number;
  step: number;
  stage?: 'sft' | 'rl';
  lengthTag?: LengthTag;
  thinking: number;
  accuracy?: number;
}

let nextId = 0;
function point(spec: PointSpec): EvalPoint {
  const series = spec.series ?? 'temperature';
  const decode = applySweepValue(series, DEFAULT_DECODE_CONFIG, spec.knob ?? (series === 'temperature' ? 0 : 1));
  const p: EvalPoint = {
    id: `p${nextId++}`,
    step: spec.step,
    series,
    decode,
    variant: 'id',
    problems: 256,
    accuracy: spec.accuracy ?? 0.5,
    meanThinkingTokens: spec.thinking,
    meanThinkingTokensCorrect: null,
    meanThinkingTokensWrong: null,
    meanCompletionTokens: spec.thinking + 4,
    stopRate: 1,
    repetitionRate: 0,
    histogram: [],
    samples: [],
    evalTimeMs: 10,
    createdAt: 1_000 + nextId,
  };
  if (spec.stage) p.stage = spec.stage;
  if (spec.lengthTag) p.lengthTag = spec.lengthTag;
  return p;
}

const ids = (data: readonly { pointId: string }[]) => data.map((d) => d.pointId);

describe('seriesGroups', () => {
  it('groups points saved without a stage by method, each curve joining its latest-step points by length', () => {
    const points = [
      point({ step: 100, thinking: 30 }),
      point({ step: 200, thinking: 25, knob: 0.6 }),
      point({ step: 200, thinking: 12, lengthTag: 'short' }),
      point({ series: 'ts', knob: 0.5, step: 200, thinking: 20 }),
      point({ series: 'cap', knob: 16, step: 200, thinking: 14 }),
    ];
    const groups = seriesGroups('run', points);
    expect(groups.map((g) => g.id)).toEqual(['temperature', 'ts', 'cap']);
    expect(groups.every((g) => g.stage === 'sft' && g.id === g.series)).toBe(true);
    const temperature = groups[0]!;
    expect(ids(temperature.all)).toEqual([points[0]!.id, points[1]!.id, points[2]!.id]);
    // Latest step only, tagged points included as before, ordered by thinking length.
    expect(ids(temperature.curve)).toEqual([points[2]!.id, points[1]!.id]);
    expect(temperature.short).toBe('temperature');
  });

  it('never puts RL-stage points on an SFT line', () => {
    const points = [
      point({ step: 100, thinking: 30, stage: 'sft' }),
      point({ step: 100, thinking: 14, lengthTag: 'short' }),
      point({ step: 300, thinking: 10, stage: 'rl', lengthTag: 'short' }),
      point({ step: 300, thinking: 40, stage: 'rl' }),
      point({ series: 'ts', knob: 0.5, step: 100, thinking: 20 }),
      point({ series: 'ts', knob: 0.5, step: 300, thinking: 9, stage: 'rl' }),
      point({ series: 'extend', knob: 48, step: 300, thinking: 50, stage: 'rl' }),
    ];
    const groups = seriesGroups('run', points);
    expect(groups.map((g) => g.id)).toEqual(['temperature', 'ts', 'rl', 'rl-ts', 'rl-extend']);
    const byId = new Map(points.map((p) => [p.id, p]));
    for (const g of groups) {
      for (const d of [...g.all, ...g.curve]) {
        expect((byId.get(d.pointId)!.stage ?? 'sft') === 'rl').toBe(g.stage === 'rl');
        expect(byId.get(d.pointId)!.series).toBe(g.series);
        expect(d.chartSeries).toBe(g.id);
      }
    }
    // Every point is drawn exactly once as a marker.
    expect(groups.flatMap((g) => ids(g.all)).sort()).toEqual(points.map((p) => p.id).sort());
    expect(groups.map((g) => g.short)).toEqual(['temperature', 'TS τ', 'TLDR', 'TLDR · TS τ', 'TLDR · s1 extend']);
    expect(
      seriesGroups('run', points, 'GRPO')
        .map((g) => g.short)
        .slice(2),
    ).toEqual(['GRPO', 'GRPO · TS τ', 'GRPO · s1 extend']);
  });

  it('joins the RL line over the levels of one decode setting, the latest point of each, by thinking length', () => {
    const rl = (spec: Omit<PointSpec, 'stage'>) => point({ ...spec, stage: 'rl' });
    const points = [
      rl({ step: 250, thinking: 5, lengthTag: 'short' }), // an earlier RL step: marker only
      rl({ step: 300, thinking: 28, lengthTag: 'long', accuracy: 0.75 }),
      rl({ step: 300, thinking: 10, lengthTag: 'short', accuracy: 0.45 }),
      rl({ step: 300, thinking: 14, lengthTag: 'medium', accuracy: 0.7 }),
      rl({ step: 300, thinking: 18, lengthTag: 'medium', knob: 0.6 }), // another temperature, one level
      rl({ step: 300, thinking: 13, lengthTag: 'medium', accuracy: 0.72 }), // re-evaluated: replaces the medium above
      rl({ step: 300, thinking: 60 }), // untagged: marker only
    ];
    const [group] = seriesGroups('run', points);
    expect(group!.id).toBe('rl');
    expect(ids(group!.all)).toEqual(points.map((p) => p.id));
    expect(ids(group!.curve)).toEqual([points[2]!.id, points[5]!.id, points[1]!.id]);
    const xs = group!.curve.map((d) => d.x);
    expect(xs).toEqual([...xs].sort((a, b) => a - b));

    // A second full level sweep at another temperature, evaluated later, takes over the line.
    const later = [
      rl({ step: 300, thinking: 20, lengthTag: 'short', knob: 0.6 }),
      rl({ step: 300, thinking: 35, lengthTag: 'long', knob: 0.6 }),
    ];
    const [again] = seriesGroups('run', [...points, ...later]);
    // By thinking length: medium (18) < short (20) < long (35) at this temperature.
    expect(ids(again!.curve)).toEqual([points[4]!.id, later[0]!.id, later[1]!.id]);
    expect(again!.curve.every((d) => d.setting.startsWith('temperature 0.6'))).toBe(true);
  });

  it('joins an untagged RL stage like any method: its latest-step points by thinking length', () => {
    const points = [
      point({ step: 300, thinking: 30, knob: 1, stage: 'rl' }),
      point({ step: 300, thinking: 12, knob: 0, stage: 'rl' }),
      point({ step: 200, thinking: 50, knob: 0, stage: 'rl' }),
    ];
    const [group] = seriesGroups('run', points);
    expect(ids(group!.curve)).toEqual([points[1]!.id, points[0]!.id]);
  });
});

describe('series names, labels and colours', () => {
  const plainGrpo: RunConfig = {
    ...DEFAULT_RUN_CONFIG,
    rl: { ...DEFAULT_RL_CONFIG, levels: [], reward: { ...DEFAULT_RL_CONFIG.reward, lengthPenalty: 'none' } },
  };

  it('calls the RL stage GRPO only when nothing in it is about length', () => {
    const untagged = [point({ step: 300, thinking: 10, stage: 'rl' })];
    expect(rlSeriesName(plainGrpo, untagged)).toBe('GRPO');
    expect(
      rlSeriesName(plainGrpo, [...untagged, point({ step: 300, thinking: 9, stage: 'rl', lengthTag: 'short' })]),
    ).toBe('TLDR');
    // A tagged SFT point says nothing about the RL stage.
    expect(rlSeriesName(plainGrpo, [point({ step: 100, thinking: 9, lengthTag: 'short' })])).toBe('GRPO');
    expect(rlSeriesName({ ...plainGrpo, rl: { ...plainGrpo.rl!, levels: ['short'] } }, untagged)).toBe('TLDR');
    expect(rlSeriesName(DEFAULT_RUN_CONFIG, untagged)).toBe('TLDR');
  });

  it('labels the level and the stage of a point', () => {
    const rlPoint = point({ step: 300, thinking: 10, stage: 'rl', lengthTag: 'short' });
    expect(settingLabel(rlPoint)).toBe('temperature 0 · <short> · after RL');
    expect(settingLabel(point({ step: 100, thinking: 10, lengthTag: 'long' }))).toBe('temperature 0 · <long>');
    expect(settingLabel(point({ step: 100, thinking: 10, stage: 'sft' }))).toBe('temperature 0');
    const d = scatterDatum('run', rlPoint, 'GRPO');
    expect(d.chartSeries).toBe('rl');
    expect(d.seriesLabel).toMatch(/^GRPO: /);
    expect(scatterDatum('run', point({ series: 'cap', knob: 16, step: 1, thinking: 9 })).seriesLabel).toBe(
      's1 cap (budget B)',
    );
  });

  it('gives every line its own colour, keeps the SFT colours and shapes, and gives RL markers other shapes', () => {
    const colors = CHART_SERIES_IDS.map((id) => CHART_SERIES_COLOR[id]);
    expect(new Set(colors).size).toBe(CHART_SERIES_IDS.length);
    for (const id of SERIES_IDS) {
      expect(CHART_SERIES_COLOR[id]).toBe(SERIES_COLOR[id]);
      expect(CHART_SERIES_SHAPE[id]).toBe(SERIES_SHAPE[id]);
    }
    const sftShapes = new Set<string>(SERIES_IDS.map((id) => SERIES_SHAPE[id]));
    for (const id of CHART_SERIES_IDS.filter((x) => !(SERIES_IDS as readonly string[]).includes(x))) {
      expect(sftShapes.has(CHART_SERIES_SHAPE[id])).toBe(false);
    }
    expect(chartSeriesOf({ series: 'bias', stage: 'rl' })).toBe('rl-bias');
    expect(chartSeriesOf({ series: 'bias' })).toBe('bias');
  });
});
