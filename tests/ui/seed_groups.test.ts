/**
 * The playground's seed groups (src/ui/seed_groups.ts): which charted runs form a group, each setting's mean over
 * seeds with the same 95% interval as the report (src/headless/seed_summary.ts), each seed's point behind it, and the
 * chart's error bars.
 */
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { seedGroupReportRun } from '../../src/headless/seed_summary';
import type { RunRecord } from '../../src/runs/run_record';
import { openRunsDb } from '../../src/state/runs_db';
import { groupAcrossSeeds } from '../../src/train/claims';
import { applySweepValue } from '../../src/train/methods';
import type { EvalPoint, SeriesId } from '../../src/train/results';
import { DEFAULT_DECODE_CONFIG, DEFAULT_RL_CONFIG, DEFAULT_RUN_CONFIG } from '../../src/train/run_config';
import { seedRunsOf } from '../../src/train/seed_means';
import {
  type ChartRunsState,
  comparedSeedGroupsKey,
  intervalText,
  parseSeedGroupsKey,
  type SeedIntervals,
  seedChartSeries,
  seedSettingRows,
} from '../../src/ui/seed_groups';

let nextId = 0;

/** A point with `right` of `n` problems correct (the first ones) and `thinking` tokens on each. */
function point(series: SeriesId, knob: number, n: number, right: number, thinking: number, step = 100): EvalPoint {
  const correct = Array.from({ length: n }, (_, i) => (i < right ? '1' : '0')).join('');
  return {
    id: `p${nextId++}`,
    step,
    series,
    decode: applySweepValue(series, { ...DEFAULT_DECODE_CONFIG, temperature: 0.6 }, knob),
    variant: 'id',
    problems: n,
    accuracy: right / n,
    meanThinkingTokens: thinking,
    meanThinkingTokensCorrect: thinking,
    meanThinkingTokensWrong: thinking,
    meanCompletionTokens: thinking + 4,
    stopRate: 1,
    repetitionRate: 0,
    histogram: [],
    perProblem: { correct, thinkingTokens: Array.from({ length: n }, () => thinking) },
    samples: [],
    evalTimeMs: 1,
    createdAt: 1,
  };
}

/** A saved run of `name` with `seed`; its points lack a stage (as files written before stages were recorded). */
function run(id: string, name: string, seed: number, evalPoints: EvalPoint[]): RunRecord {
  return {
    id,
    name,
    createdAt: 1,
    updatedAt: 1,
    config: { ...DEFAULT_RUN_CONFIG, seed, rl: DEFAULT_RL_CONFIG },
    status: 'imported',
    adapter: 'test',
    stepsDone: 100,
    timeline: [],
    evalPoints,
    samples: null,
    checkpointStep: null,
  } as RunRecord;
}

describe('seed groups among the charted runs', () => {
  const runs: ChartRunsState['runs'] = {
    a: { name: 'p1', config: { seed: 1 } },
    b: { name: 'p1', config: { seed: 2 } },
    c: { name: 'other', config: { seed: 1 } },
    d: { name: 'p1', config: { seed: 3 } },
  };

  it('groups runs of one name and different seeds, in chart order, and nothing without a comparison', () => {
    expect(comparedSeedGroupsKey({ activeRunId: 'a', compareRunIds: [], runs })).toBe('');
    expect(comparedSeedGroupsKey({ activeRunId: 'a', compareRunIds: ['c'], runs })).toBe('');
    const key = comparedSeedGroupsKey({ activeRunId: 'd', compareRunIds: ['a', 'c', 'b', 'gone'], runs });
    expect(key).toBe('d,a,b');
    expect(parseSeedGroupsKey(key)).toEqual([['d', 'a', 'b']]);
    expect(parseSeedGroupsKey('')).toEqual([]);
    // The same inputs give an equal string: a store selector returning it re-renders nothing.
    expect(comparedSeedGroupsKey({ activeRunId: 'd', compareRunIds: ['a', 'c', 'b'], runs })).toBe(key);
  });
});

describe('seed setting rows', () => {
  const n = 20;
  // Two seeds × two TS settings, and an RL-stage point (step past the SFT steps, no saved stage).
  const sftSteps = DEFAULT_RUN_CONFIG.sft.steps;
  const records = [
    run('r1', 'p1', 1, [
      point('ts', 0.5, n, 10, 20),
      point('ts', 2, n, 12, 30),
      point('temperature', 0, n, 16, 12, sftSteps + 5),
    ]),
    run('r2', 'p1', 2, [
      point('ts', 0.5, n, 14, 24),
      point('ts', 2, n, 16, 34),
      point('temperature', 0, n, 18, 10, sftSteps + 5),
    ]),
  ];
  const seedRuns = seedRunsOf(records);
  const opts = { replicates: 300, seed: 1 };
  const full = groupAcrossSeeds(seedRuns, opts);
  const intervals: SeedIntervals = new Map(full.map((g) => [g.key, g]));
  const rows = seedSettingRows(
    ['r1', 'r2'],
    seedRuns,
    groupAcrossSeeds(seedRuns, { replicates: 1 }),
    intervals,
    'TLDR',
  );

  it('gives each setting the seeds’ mean, the report’s interval and each seed’s point', () => {
    expect(rows.map((r) => [r.chartSeries, r.mean.accuracy, r.mean.meanThinkingTokens])).toEqual([
      ['ts', (0.5 + 0.7) / 2, 22],
      ['ts', (0.6 + 0.8) / 2, 32],
      ['rl', (0.8 + 0.9) / 2, 11],
    ]);
    expect(rows[2]!.setting).toBe('temperature 0 · after RL');
    expect(rows[0]!.seeds).toEqual([
      { seed: 1, runId: 'r1', pointId: records[0]!.evalPoints[0]!.id, accuracy: 0.5, meanThinkingTokens: 20 },
      { seed: 2, runId: 'r2', pointId: records[1]!.evalPoints[0]!.id, accuracy: 0.7, meanThinkingTokens: 24 },
    ]);
    expect(rows.every((r) => r.problemsPerSeed === n)).toBe(true);
    // The same numbers as the report draws for the group.
    const report = seedGroupReportRun(records);
    for (const r of rows) {
      const p = report.points.find((q) => q.accuracy === r.mean.accuracy && q.series === r.mean.series)!;
      const reportInterval = groupAcrossSeeds(seedRuns).find((g) => g.key === r.key)!.accuracy;
      expect(report.accuracyIntervals!.get(p)).toEqual({ low: reportInterval.low, high: reportInterval.high });
      expect(r.accuracy).toEqual(intervals.get(r.key)!.accuracy);
      expect(r.accuracy!.low).toBeLessThan(r.mean.accuracy);
      expect(r.accuracy!.high).toBeGreaterThan(r.mean.accuracy);
    }
  });

  it('leaves the intervals out while they are computed', () => {
    const pending = seedSettingRows(['r1', 'r2'], seedRuns, full, null, 'TLDR');
    expect(pending.every((r) => r.accuracy === null && r.meanThinkingTokens === null)).toBe(true);
    expect(intervalText(0.6, null, true)).toBe('60.0%');
    expect(intervalText(0.6, { estimate: 0.6, low: 0.5, high: 0.712, level: 0.95 }, true)).toBe('60.0% [50.0, 71.2]');
    expect(intervalText(22, { estimate: 22, low: 20.04, high: 23.96, level: 0.95 }, false)).toBe('22.0 [20.0, 24.0]');
  });

  it('draws the means with error bars, joined per line, and each seed’s points', () => {
    const lines = seedChartSeries('g', rows, 'TLDR');
    expect(lines.map((l) => l.group.id)).toEqual(['ts', 'rl']);
    const ts = lines[0]!;
    expect(ts.group.curve.map((d) => d.x)).toEqual([22, 32]);
    for (const d of ts.group.all) {
      const r = rows.find((x) => x.mean.id === d.pointId)!;
      expect(d.accuracyError![0]).toBeCloseTo(d.y - r.accuracy!.low, 12);
      expect(d.accuracyError![1]).toBeCloseTo(r.accuracy!.high - d.y, 12);
      expect(d.seedCount).toBe(2);
    }
    expect(ts.seeds.map((s) => [s.seed, s.runId, s.y])).toEqual([
      [1, 'r1', 0.5],
      [2, 'r2', 0.7],
      [1, 'r1', 0.6],
      [2, 'r2', 0.8],
    ]);
    expect(lines[1]!.group.stage).toBe('rl');
    // Pending: no error bar.
    const pending = seedChartSeries('g', seedSettingRows(['r1', 'r2'], seedRuns, full, null, 'TLDR'), 'TLDR');
    expect(pending.every((l) => l.group.all.every((d) => d.accuracyError === undefined))).toBe(true);
  });
});

describe('importing the run files of a seeded experiment', () => {
  it('keeps the name of each seed, so they form one group, and renames only a copy of the same seed', async () => {
    const db = await openRunsDb('stoptime-seed-groups-test');
    const names: string[] = [];
    for (const [seed, id] of [
      [1, 'x1'],
      [2, 'x2'],
      [3, 'x3'],
      [2, 'x2-again'],
    ] as const)
      names.push((await db.importRun(run(id, 'p1', seed, []), null)).name);
    expect(names).toEqual(['p1', 'p1', 'p1', 'p1 (imported)']);
    const stored = await db.listRuns();
    const byId = Object.fromEntries(stored.map((r) => [r.id, r]));
    const ids = stored.map((r) => r.id);
    const key = comparedSeedGroupsKey({ activeRunId: null, compareRunIds: ids, runs: byId });
    expect(parseSeedGroupsKey(key).map((g) => g.map((id) => byId[id]!.config.seed).sort())).toEqual([[1, 2, 3]]);
  });
});
