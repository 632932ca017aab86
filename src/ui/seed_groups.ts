/**
 * Seed groups on the playground's charts. Compared runs with the same name and different seeds (what a seeded
 * experiment writes, one run file per seed) form one group (src/train/claims.ts groupRunsBySeed), drawn as one series
 * set: each decode setting every seed evaluated, at the seeds' mean thinking length and accuracy, with a 95% interval
 * (groupAcrossSeeds: a bootstrap over problems within seeds), and tabulated under the chart. Pure: the bootstrap runs
 * in seed_stats.worker.ts; this file turns runs and its results into chart data and table text.
 */
import { groupAcrossSeeds, groupRunsBySeed, type SeedGroupPoint, type SeedRun, seedGroupKey } from '../train/claims';
import type { EvalPoint } from '../train/results';
import type { Interval } from '../util/stats';
import {
  chartSeriesShort,
  pointStage,
  type RlName,
  type ScatterDatum,
  type SeriesGroup,
  seriesGroups,
} from './chart_data';

/** What grouping needs of a run (a RunRecord has it). */
export interface SeedGroupRun {
  id: string;
  name: string;
  config: { seed: number };
  evalPoints: readonly EvalPoint[];
}

/** One legend entry and colour of a chart: a run, or a seed group of runs. */
export interface ChartEntry {
  key: string;
  runIds: string[];
  /** The run's name, or "<name> · mean of 5 seeds". */
  label: string;
  /** The group's seeds, in run order (null: a single run). */
  seeds: number[] | null;
}

/**
 * The chart's runs (in chart order) as entries: seed groups of two or more runs (their runs ordered by seed), the
 * other runs alone.
 */
export function chartEntries(runs: readonly Pick<SeedGroupRun, 'id' | 'name' | 'config'>[]): ChartEntry[] {
  return groupRunsBySeed(runs).map((group) => {
    const g = [...group].sort((x, y) => x.config.seed - y.config.seed);
    const runIds = g.map((r) => r.id);
    if (g.length < 2) return { key: `run:${runIds[0]}`, runIds, label: g[0]!.name, seeds: null };
    return {
      key: `seeds:${runIds.join(',')}`,
      runIds,
      label: `${g[0]!.name} · mean of ${g.length} seeds`,
      seeds: g.map((r) => r.config.seed),
    };
  });
}

/** The entry index (colour) of each run. */
export function entryIndexOfRun(entries: readonly ChartEntry[]): Map<string, number> {
  return new Map(entries.flatMap((e, i) => e.runIds.map((id) => [id, i] as const)));
}

/**
 * The runs as claims.ts's seed runs: each point's stage resolved as the chart resolves it (pointStage: a point saved
 * without one is an SFT point), without samples and histograms (not needed, and copied to the worker otherwise).
 */
export function seedRunsOf(runs: readonly SeedGroupRun[]): SeedRun[] {
  return runs.map((r) => ({
    seed: r.config.seed,
    points: r.evalPoints.map((p) => ({ ...p, stage: pointStage(p), samples: [], histogram: [] })),
  }));
}

/** What a group's statistics depend on: its runs and their points (points are only ever appended). */
export function seedGroupInputKey(runs: readonly SeedGroupRun[]): string {
  return runs.map((r) => `${r.id}:${r.config.seed}@${r.evalPoints.length}:${r.evalPoints.at(-1)?.id ?? ''}`).join('|');
}

/**
 * The group's settings with their means (exact) but no intervals yet: one bootstrap replicate costs a thousandth of
 * the real ones, so the means can be drawn at once while the worker computes the intervals.
 */
export function seedGroupMeans(runs: readonly SeedRun[]): SeedGroupPoint[] {
  return groupAcrossSeeds(runs, { replicates: 1 });
}

/** A setting of a seed group on the chart: a ScatterDatum at the seeds' means, with their intervals. */
export interface SeedGroupDatum extends ScatterDatum {
  /** The length tag of the prompts ("—": untagged). */
  level: string;
  seeds: number[];
  /** 95% intervals; null until computed. */
  accuracy: Interval | null;
  thinking: Interval | null;
  perSeedAccuracy: number[];
  perSeedThinkingTokens: number[];
  /** The accuracy interval as ErrorBar offsets below and above the mean, clipped to the axis [0, 1]. */
  accuracyError: [number, number] | null;
}

export interface SeedGroupSeries extends Omit<SeriesGroup, 'all' | 'curve'> {
  all: SeedGroupDatum[];
  curve: SeedGroupDatum[];
}

export function isSeedGroupDatum(x: ScatterDatum): x is SeedGroupDatum {
  return 'perSeedAccuracy' in x;
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/**
 * A seed group's chart series, as seriesGroups draws a run (same lines, same joins), each setting at the seeds' mean.
 * `runIds[0]` is the run of the group's first seed (groupAcrossSeeds' `example`): a datum's runId and pointId name
 * that seed's point, so clicking a mean shows its traces. `withIntervals`: whether `stats` carry the real intervals.
 */
export function seedGroupSeries(
  runIds: readonly string[],
  runs: readonly SeedRun[],
  stats: readonly SeedGroupPoint[],
  withIntervals: boolean,
  rlName: RlName = 'TLDR',
): SeedGroupSeries[] {
  const byExample = new Map(stats.map((g) => [g.example.id, g]));
  const synthetic = stats.map((g): EvalPoint => {
    // Each seed's point of the setting (the last, as groupAcrossSeeds keeps it).
    const same = runs.map((r) => r.points.findLast((p) => seedGroupKey(p) === g.key)!);
    return {
      ...g.example,
      problems: g.problemsPerSeed,
      accuracy: g.accuracy.estimate,
      meanThinkingTokens: g.meanThinkingTokens.estimate,
      stopRate: mean(same.map((p) => p.stopRate)),
      repetitionRate: mean(same.map((p) => p.repetitionRate)),
    };
  });
  return seriesGroups(runIds[0]!, synthetic, rlName).map((s) => {
    const datum = (d: ScatterDatum): SeedGroupDatum => {
      const g = byExample.get(d.pointId)!;
      const accuracy = withIntervals ? g.accuracy : null;
      return {
        ...d,
        level: g.example.lengthTag ?? '—',
        seeds: g.seeds,
        accuracy,
        thinking: withIntervals ? g.meanThinkingTokens : null,
        perSeedAccuracy: g.perSeedAccuracy,
        perSeedThinkingTokens: g.perSeedThinkingTokens,
        accuracyError: accuracy
          ? [d.y - Math.max(0, Math.min(accuracy.low, d.y)), Math.min(1, Math.max(accuracy.high, d.y)) - d.y]
          : null,
      };
    };
    return { ...s, all: s.all.map(datum), curve: s.curve.map(datum) };
  });
}

/** One row of a seed group's table (text as shown). */
export interface SeedGroupRow {
  key: string;
  runId: string;
  pointId: string;
  series: string;
  setting: string;
  stage: 'SFT' | 'RL';
  level: string;
  accuracy: string;
  thinking: string;
  perSeedAccuracy: string;
  problemsPerSeed: number;
}

/** `v` to `digits` decimals with a typographic minus ("−2.0"), and a plus sign if `plus` and v > 0. */
function fixed(v: number, digits: number, plus = false): string {
  const s = v.toFixed(digits);
  return s.startsWith('-') ? `−${s.slice(1)}` : plus && v > 0 ? `+${s}` : s;
}

/** "62.5% [50.0, 75.0]" (percent: accuracy) or "15.2 [14.0, 16.3]"; "[…]" while the interval is computed. */
export function intervalText(estimate: number, i: Interval | null, asPercent: boolean): string {
  const f = (v: number) => fixed(asPercent ? 100 * v : v, 1);
  const head = asPercent ? `${f(estimate)}%` : f(estimate);
  return `${head} ${i ? `[${f(i.low)}, ${f(i.high)}]` : '[…]'}`;
}

/** The table of a seed group: per chart series (in chart order), its settings by mean thinking length. */
export function seedGroupRows(series: readonly SeedGroupSeries[], rlName: RlName = 'TLDR'): SeedGroupRow[] {
  return series.flatMap((s) =>
    [...s.all]
      .sort((a, b) => a.x - b.x)
      .map((d) => ({
        key: d.key,
        runId: d.runId,
        pointId: d.pointId,
        series: chartSeriesShort(s.id, rlName),
        setting: d.setting,
        stage: s.stage === 'rl' ? ('RL' as const) : ('SFT' as const),
        level: d.level,
        accuracy: intervalText(d.y, d.accuracy, true),
        thinking: intervalText(d.x, d.thinking, false),
        perSeedAccuracy: d.perSeedAccuracy.map((a) => fixed(100 * a, 1)).join(', '),
        problemsPerSeed: d.problems,
      })),
  );
}
