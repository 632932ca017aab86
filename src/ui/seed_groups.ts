/**
 * Seed groups in the playground: among the runs on the charts (the shown run and those ticked for comparison), runs
 * of one name and different seeds (groupRunsBySeed, src/train/claims.ts; what a seeded experiment writes) are
 * compared as one group. Each setting every seed evaluated becomes one row: the seeds' mean accuracy and thinking
 * length with 95% intervals (groupAcrossSeeds, as `npm run report` draws them), and each seed's own point. Pure:
 * SeedGroups.tsx draws it.
 */
import type { SeedGroupPoint, SeedRun } from '../train/claims';
import { groupRunsBySeed } from '../train/claims';
import { SERIES_IDS, sweptValue } from '../train/methods';
import type { EvalPoint } from '../train/results';
import { seedMeanPoint } from '../train/seed_means';
import type { Interval } from '../util/stats';
import {
  CHART_SERIES_IDS,
  type ChartSeriesId,
  chartSeriesOf,
  chartSeriesShort,
  percent,
  type RlName,
  type ScatterDatum,
  type SeriesGroup,
  seriesGroups,
  settingLabel,
} from './chart_data';

/** What the grouping reads of the store: the shown run, the compared ones, and each run's name and seed. */
export interface ChartRunsState {
  activeRunId: string | null;
  compareRunIds: readonly string[];
  runs: Readonly<Record<string, { name: string; config: { seed: number } } | undefined>>;
}

/**
 * The seed groups among the charted runs as one string, "a,b,c|d,e" (run ids, in chart order; '' when none), so a
 * store selector returns a value equal by `===` until the groups change: it runs on every store update, and
 * without a comparison it returns at once.
 */
export function comparedSeedGroupsKey(s: ChartRunsState): string {
  if (s.compareRunIds.length === 0) return '';
  const ids: string[] = [];
  if (s.activeRunId !== null && s.runs[s.activeRunId]) ids.push(s.activeRunId);
  for (const id of s.compareRunIds) if (!ids.includes(id) && s.runs[id]) ids.push(id);
  if (ids.length < 2) return '';
  const identities = ids.map((id) => ({ id, name: s.runs[id]!.name, config: s.runs[id]!.config }));
  return groupRunsBySeed(identities)
    .filter((g) => g.length > 1)
    .map((g) => g.map((r) => r.id).join(','))
    .join('|');
}

/** The run ids of each group in a comparedSeedGroupsKey. */
export function parseSeedGroupsKey(key: string): string[][] {
  return key === '' ? [] : key.split('|').map((g) => g.split(','));
}

/** The intervals of a group's settings, by seedGroupKey (from groupAcrossSeeds; computed in a worker). */
export type SeedIntervals = ReadonlyMap<string, { accuracy: Interval; meanThinkingTokens: Interval }>;

/** One seed's point of a setting. */
export interface SeedCell {
  seed: number;
  runId: string;
  pointId: string;
  accuracy: number;
  meanThinkingTokens: number;
}

/** One setting of a seed group: the seeds' means, their 95% intervals (null until computed) and each seed's point. */
export interface SeedSettingRow {
  /** seedGroupKey of the setting. */
  key: string;
  /** The mean point (seedMeanPoint): what the chart draws. */
  mean: EvalPoint;
  chartSeries: ChartSeriesId;
  /** Legend name of its line ("TS τ", "TLDR"). */
  seriesShort: string;
  /** Knob, temperature, level and stage ("τ = 0.5 (temperature 0.6) · <short> · after RL"). */
  setting: string;
  problemsPerSeed: number;
  accuracy: Interval | null;
  meanThinkingTokens: Interval | null;
  seeds: SeedCell[];
}

const LEVEL_ORDER = ['short', 'medium', 'long'];

/**
 * The rows of a group, in chart-line order, then level, then knob: `means` from groupAcrossSeeds (its estimates;
 * its intervals are ignored unless `intervals` has none), `runIds` the group's runs in the order of `runs`.
 */
export function seedSettingRows(
  runIds: readonly string[],
  runs: readonly SeedRun[],
  means: readonly SeedGroupPoint[],
  intervals: SeedIntervals | null,
  rlName: RlName,
): SeedSettingRow[] {
  const rows = means.map((g, i): SeedSettingRow => {
    const mean = seedMeanPoint(g, `mean-${i}`);
    const chartSeries = chartSeriesOf(mean);
    const iv = intervals?.get(g.key) ?? null;
    return {
      key: g.key,
      mean,
      chartSeries,
      seriesShort: chartSeriesShort(chartSeries, rlName),
      setting: settingLabel(mean),
      problemsPerSeed: g.problemsPerSeed,
      accuracy: iv?.accuracy ?? null,
      meanThinkingTokens: iv?.meanThinkingTokens ?? null,
      seeds: g.points.map((p, k) => ({
        seed: runs[k]!.seed,
        runId: runIds[k]!,
        pointId: p.id,
        accuracy: p.accuracy,
        meanThinkingTokens: p.meanThinkingTokens,
      })),
    };
  });
  const rank = (r: SeedSettingRow) => [
    CHART_SERIES_IDS.indexOf(r.chartSeries),
    r.mean.lengthTag ? LEVEL_ORDER.indexOf(r.mean.lengthTag) : -1,
    r.mean.decode.temperature,
    sweptValue(r.mean.series, r.mean.decode),
    SERIES_IDS.indexOf(r.mean.series),
  ];
  return rows.sort((a, b) => {
    const ra = rank(a);
    const rb = rank(b);
    for (let k = 0; k < ra.length; k++) if (ra[k] !== rb[k]) return ra[k]! - rb[k]!;
    return 0;
  });
}

/** A chart datum of a mean point, with its error bar as [below, above] the mean (absent until computed). */
export type SeedMeanDatum = ScatterDatum & { accuracyError?: [number, number]; seedCount: number };

/** A chart datum of one seed's point (the "each seed" overlay). */
export interface SeedPointDatum {
  key: string;
  runId: string;
  pointId: string;
  x: number;
  y: number;
  seed: number;
  setting: string;
}

export interface SeedChartSeries {
  /** The line's means: `all` the markers, `curve` those joined; each datum with its error bar. */
  group: Omit<SeriesGroup, 'all' | 'curve'> & { all: SeedMeanDatum[]; curve: SeedMeanDatum[] };
  /** Each seed's point of the same settings. */
  seeds: SeedPointDatum[];
}

/**
 * The group's chart: per chart line, the means (markers with their 95% interval, joined along the latest step like
 * the main chart's curves) and each seed's points.
 */
export function seedChartSeries(groupId: string, rows: readonly SeedSettingRow[], rlName: RlName): SeedChartSeries[] {
  const byMeanId = new Map(rows.map((r) => [r.mean.id, r]));
  return seriesGroups(
    groupId,
    rows.map((r) => r.mean),
    rlName,
  ).map((group) => {
    const withBars = (d: ScatterDatum): SeedMeanDatum => {
      const r = byMeanId.get(d.pointId)!;
      const iv = r.accuracy;
      return {
        ...d,
        seedCount: r.seeds.length,
        ...(iv ? { accuracyError: [Math.max(0, d.y - iv.low), Math.max(0, iv.high - d.y)] as [number, number] } : {}),
      };
    };
    const mine = rows.filter((r) => r.chartSeries === group.id);
    return {
      group: { ...group, all: group.all.map(withBars), curve: group.curve.map(withBars) },
      seeds: mine.flatMap((r) =>
        r.seeds.map((c) => ({
          key: `${c.runId}:${c.pointId}`,
          runId: c.runId,
          pointId: c.pointId,
          x: c.meanThinkingTokens,
          y: c.accuracy,
          seed: c.seed,
          setting: r.setting,
        })),
      ),
    };
  });
}

/** "72.3% [68.1, 76.0]" (accuracy) or "20.5 [19.8, 21.3]" (tokens); the estimate alone while the interval is pending. */
export function intervalText(estimate: number, interval: Interval | null, asPercent: boolean): string {
  if (asPercent) {
    const head = percent(estimate);
    return interval ? `${head} [${(100 * interval.low).toFixed(1)}, ${(100 * interval.high).toFixed(1)}]` : head;
  }
  const head = estimate.toFixed(1);
  return interval ? `${head} [${interval.low.toFixed(1)}, ${interval.high.toFixed(1)}]` : head;
}

/** A point without what the statistics do not read (traces, histogram), for the trip to the worker. */
export function statsOnly(p: EvalPoint): EvalPoint {
  return { ...p, samples: [], histogram: [] };
}
