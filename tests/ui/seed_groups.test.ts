/**
 * Seed groups on the chart (src/ui/seed_groups.ts): which compared runs form a group, the group's settings at the
 * seeds' means with their 95% intervals (clipped to the axis for the error bar), and the table's text. Hand-built runs
 * whose means and intervals are known.
 */
import { describe, expect, it } from 'vitest';
import type { LengthTag } from '../../src/tasks/types';
import { type ClaimEstimate, claimEstimateText, claimPerSeedText, groupAcrossSeeds } from '../../src/train/claims';
import { applySweepValue, type EvalPoint, type SeriesId } from '../../src/train/results';
import { DEFAULT_DECODE_CONFIG } from '../../src/train/run_config';
import {
  type ChartEntry,
  chartEntries,
  entryIndexOfRun,
  intervalText,
  type SeedGroupRun,
  seedGroupInputKey,
  seedGroupMeans,
  seedGroupRows,
  seedGroupSeries,
  seedRunsOf,
} from '../../src/ui/seed_groups';

let nextId = 0;

interface Spec {
  series?: SeriesId;
  knob?: number;
  stage?: 'sft' | 'rl';
  lengthTag?: LengthTag;
  stopRate?: number;
}

/** A point whose aggregates follow from its per-problem outcomes (as evaluateModel writes them). */
function point(correct: readonly number[], thinking: readonly number[], spec: Spec = {}): EvalPoint {
  const series = spec.series ?? 'temperature';
  const decode = applySweepValue(series, DEFAULT_DECODE_CONFIG, spec.knob ?? 0);
  const n = correct.length;
  const p: EvalPoint = {
    id: `p${nextId++}`,
    step: 100,
    series,
    decode,
    variant: 'id',
    problems: n,
    accuracy: correct.filter((c) => c === 1).length / n,
    meanThinkingTokens: thinking.reduce((a, b) => a + b, 0) / n,
    meanThinkingTokensCorrect: null,
    meanThinkingTokensWrong: null,
    meanCompletionTokens: 30,
    stopRate: spec.stopRate ?? 1,
    repetitionRate: 0,
    histogram: [{ startTokens: 0, widthTokens: 4, correct: 1, wrong: 0 }],
    perProblem: { correct: correct.join(''), thinkingTokens: [...thinking] },
    samples: [{ prompt: 'p', completion: 'c', correct: true, reason: 'ok', thinkingTokens: 3, finished: true }],
    evalTimeMs: 1,
    createdAt: 1,
  };
  if (spec.stage) p.stage = spec.stage;
  if (spec.lengthTag) p.lengthTag = spec.lengthTag;
  return p;
}

const run = (id: string, name: string, seed: number, evalPoints: EvalPoint[] = []): SeedGroupRun => ({
  id,
  name,
  config: { seed },
  evalPoints,
});

const OPTS = { replicates: 300, seed: 7 };

describe('chartEntries', () => {
  it('groups runs of one name and different seeds; a lone run, or a repeated seed, stays a run of its own', () => {
    const entries = chartEntries([
      run('a3', 'exp', 3),
      run('b', 'other', 1),
      run('a1', 'exp', 1),
      run('a1bis', 'exp', 1),
      run('a2', 'exp', 2),
    ]);
    // In chart order; a group's runs by seed.
    expect(entries.map((e: ChartEntry) => e.runIds)).toEqual([['a1', 'a2', 'a3'], ['b'], ['a1bis']]);
    expect(entries.map((e) => e.label)).toEqual(['exp · mean of 3 seeds', 'other', 'exp']);
    expect(entries.map((e) => e.seeds)).toEqual([[1, 2, 3], null, null]);
    expect([...entryIndexOfRun(entries)]).toEqual([
      ['a1', 0],
      ['a2', 0],
      ['a3', 0],
      ['b', 1],
      ['a1bis', 2],
    ]);
  });
});

describe('seedGroupSeries', () => {
  // Seed 1: plain decoding all right at 10 tokens; cap half right at 4 or 8 tokens; stop rates 1 and 0.5.
  // Seed 2: plain decoding all wrong at 20 tokens; cap half right at 6 tokens; and a TS point seed 1 lacks.
  const seed1 = run('a1', 'exp', 1, [
    point([1, 1, 1, 1], [10, 10, 10, 10]),
    point([1, 1, 0, 0], [4, 4, 8, 8], { series: 'cap', knob: 16, stopRate: 0.5 }),
  ]);
  const seed2 = run('a2', 'exp', 2, [
    point([0, 0, 0, 0], [20, 20, 20, 20], { stage: 'sft', stopRate: 0.5 }),
    point([0, 1, 0, 1], [6, 6, 6, 6], { series: 'cap', knob: 16 }),
    point([1, 1, 1, 1], [5, 5, 5, 5], { series: 'ts', knob: 0.5 }),
  ]);
  const runs = seedRunsOf([seed1, seed2]);

  it('resolves every point stage and drops samples and histograms before the worker sees them', () => {
    expect(runs.map((r) => r.seed)).toEqual([1, 2]);
    expect(runs[0]!.points.map((p) => p.stage)).toEqual(['sft', 'sft']);
    expect(runs.flatMap((r) => r.points).every((p) => p.samples.length === 0 && p.histogram.length === 0)).toBe(true);
    // The runs themselves are untouched.
    expect(seed1.evalPoints[0]!.stage).toBeUndefined();
    expect(seed1.evalPoints[0]!.samples).toHaveLength(1);
  });

  it('draws each setting every seed evaluated at the seeds’ means, with the 95% interval', () => {
    const series = seedGroupSeries(['a1', 'a2'], runs, groupAcrossSeeds(runs, OPTS), true);
    expect(series.map((s) => s.id)).toEqual(['temperature', 'cap']);
    const [plain, cap] = series.map((s) => s.all[0]!);
    // Plain decoding: mean of 100% and 0% at 10 and 20 tokens. Every problem of a seed has the same outcome, so
    // every bootstrap draw gives the same mean: the interval is the point.
    expect(plain!.y).toBe(0.5);
    expect(plain!.x).toBe(15);
    expect([plain!.accuracy!.low, plain!.accuracy!.high]).toEqual([0.5, 0.5]);
    expect([plain!.thinking!.low, plain!.thinking!.high]).toEqual([15, 15]);
    expect(plain!.accuracyError).toEqual([0, 0]);
    expect(plain!.stopRate).toBe(0.75);
    expect(plain!.perSeedAccuracy).toEqual([1, 0]);
    expect(plain!.seeds).toEqual([1, 2]);
    expect(plain!.problems).toBe(4);
    // Clicking a mean selects the first seed's point of the setting.
    expect([plain!.runId, plain!.pointId]).toEqual(['a1', seed1.evalPoints[0]!.id]);
    // Cap: 50% at 6 tokens in both seeds; seed 2's thinking never varies, seed 1's varies in [4, 8], so the mean's
    // interval lies in [5, 7] and is not the point.
    expect(cap!.y).toBe(0.5);
    expect(cap!.x).toBe(6);
    expect(cap!.thinking!.low).toBeGreaterThanOrEqual(5);
    expect(cap!.thinking!.high).toBeLessThanOrEqual(7);
    expect(cap!.thinking!.low).toBeLessThan(6);
    expect(cap!.accuracy!.low).toBeLessThan(0.5);
    expect(cap!.accuracyError).toEqual([0.5 - cap!.accuracy!.low, cap!.accuracy!.high - 0.5]);
  });

  it('draws the means before the intervals are computed, equal to the final ones', () => {
    const quick = seedGroupSeries(['a1', 'a2'], runs, seedGroupMeans(runs), false);
    const full = seedGroupSeries(['a1', 'a2'], runs, groupAcrossSeeds(runs, OPTS), true);
    const xy = (s: typeof quick) => s.flatMap((g) => g.all.map((d) => [d.x, d.y]));
    expect(xy(quick)).toEqual(xy(full));
    expect(quick.flatMap((s) => s.all).every((d) => d.accuracy === null && d.accuracyError === null)).toBe(true);
    expect(seedGroupRows(quick)[0]!.accuracy).toBe('50.0% […]');
  });

  it('clips a wide Student-t interval (no per-problem outcomes) to the axis for the error bar only', () => {
    const noOutcomes = (p: EvalPoint): EvalPoint => {
      const { perProblem: _, ...rest } = p;
      return rest;
    };
    const a = point([1, 1, 1, 0, 0], [1, 1, 1, 1, 1]);
    const b = point([1, 1, 1, 1, 0], [3, 3, 3, 3, 3]);
    const r = seedRunsOf([run('x1', 'x', 1, [noOutcomes(a)]), run('x2', 'x', 2, [noOutcomes(b)])]);
    const [d] = seedGroupSeries(['x1', 'x2'], r, groupAcrossSeeds(r, OPTS), true)[0]!.all;
    // Mean 0.7 of 0.6 and 0.8: standard error 0.1, t(0.975, df 1) = 12.706 → [−0.5706, 1.9706].
    expect(d!.y).toBeCloseTo(0.7, 12);
    expect(d!.accuracy!.low).toBeCloseTo(-0.5706, 3);
    expect(d!.accuracy!.high).toBeCloseTo(1.9706, 3);
    expect(d!.accuracyError![0]).toBeCloseTo(0.7, 12);
    expect(d!.accuracyError![1]).toBeCloseTo(0.3, 12);
    expect(seedGroupRows(seedGroupSeries(['x1', 'x2'], r, groupAcrossSeeds(r, OPTS), true))[0]!.accuracy).toBe(
      '70.0% [−57.1, 197.1]',
    );
  });

  it('keeps RL-stage and tagged settings on their own lines, and tabulates them by series and length', () => {
    const seedRun = (id: string, seed: number, shift: number) =>
      run(id, 'tldr', seed, [
        point([1, 1, 0, 0], [30 + shift, 30, 30, 30]),
        point([1, 1, 1, 0], [12, 12, 12, 12 + shift], { stage: 'rl', lengthTag: 'long' }),
        point([0, 0, 0, 0], [4, 4, 4, 4 + shift], { stage: 'rl', lengthTag: 'short' }),
      ]);
    const r = seedRunsOf([seedRun('t1', 1, 0), seedRun('t2', 2, 4)]);
    const series = seedGroupSeries(['t1', 't2'], r, groupAcrossSeeds(r, OPTS), true);
    expect(series.map((s) => s.id)).toEqual(['temperature', 'rl']);
    const rows = seedGroupRows(series);
    expect(rows.map((x) => [x.series, x.stage, x.level])).toEqual([
      ['temperature', 'SFT', '—'],
      ['TLDR', 'RL', 'short'],
      ['TLDR', 'RL', 'long'],
    ]);
    // Short: seeds at 4 and 5 tokens (mean 4.5; seed 1's never varies, seed 2's mean lies in [4, 8], so the
    // interval lies in [4, 6]); none right in either, so its accuracy interval is the point.
    const short = series[1]!.all.find((d) => d.level === 'short')!;
    expect(rows[1]!.thinking).toBe(`4.5 [${short.thinking!.low.toFixed(1)}, ${short.thinking!.high.toFixed(1)}]`);
    expect(short.thinking!.low).toBeGreaterThanOrEqual(4);
    expect(short.thinking!.high).toBeLessThanOrEqual(6);
    expect(short.thinking!.high).toBeGreaterThan(4.5);
    expect(rows[1]!.accuracy).toBe('0.0% [0.0, 0.0]');
    expect(rows[2]!.perSeedAccuracy).toBe('75.0, 75.0');
    expect(rows[1]!.problemsPerSeed).toBe(4);
    // The RL line joins the levels by length.
    expect(series[1]!.curve.map((d) => d.level)).toEqual(['short', 'long']);
  });
});

describe('table and claims text', () => {
  it('formats intervals, claim estimates and per-seed values', () => {
    const i = { estimate: 0.625, low: 0.5, high: 0.75, level: 0.95 };
    expect(intervalText(0.625, i, true)).toBe('62.5% [50.0, 75.0]');
    expect(intervalText(15.25, { ...i, low: 14.04, high: 16.36 }, false)).toBe('15.3 [14.0, 16.4]');
    const e = (unit: ClaimEstimate['unit'], estimate: number, low: number, high: number): ClaimEstimate => ({
      label: 'x',
      unit,
      interval: { estimate, low, high, level: 0.95, replicates: 1000, undefinedReplicates: 0 },
      perSeed: [1.25, null, -2],
      acrossSeeds: null,
    });
    expect(claimEstimateText(e('points', 1.23, -0.44, 2.9))).toBe('x: +1.2 points [−0.4, +2.9]');
    expect(claimEstimateText(e('%', 38.2, 30.4, 45.1))).toBe('x: 38% [30, 45]');
    expect(claimEstimateText(e('tokens', -3, -4.5, -1))).toBe('x: −3.0 tokens [−4.5, −1.0]');
    expect(claimEstimateText({ ...e('tokens', 0, 0, 0), interval: null })).toBe('x: not measured');
    expect(claimPerSeedText(e('tokens', 0, 0, 0))).toBe('1.3, —, −2.0');
  });

  it('keys a group by its runs, seeds and points', () => {
    const a = run('a', 'exp', 1, [point([1], [1])]);
    const b = run('b', 'exp', 2, []);
    const key = seedGroupInputKey([a, b]);
    expect(seedGroupInputKey([a, b])).toBe(key);
    expect(seedGroupInputKey([{ ...a, evalPoints: [...a.evalPoints, point([0], [2])] }, b])).not.toBe(key);
    expect(seedGroupInputKey([a, { ...b, config: { seed: 3 } }])).not.toBe(key);
    expect(seedGroupInputKey([b, a])).not.toBe(key);
  });
});
