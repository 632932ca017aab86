/**
 * Seed groups compared as one (seed_groups.ts): when the charted runs include several seeds of one setting, a card
 * per group with its own accuracy chart (the seeds' mean per setting, a 95% interval bar, curves as on the main
 * chart) and a table (mean accuracy and thinking tokens with intervals, problems per seed); "each seed" adds every
 * seed's point to the chart and a column per seed to the table, and clicking one shows its traces.
 *
 * Cost while training: SeedGroupsGate, always mounted, selects one string (comparedSeedGroupsKey), which returns ''
 * at once when nothing is compared and stays `===` otherwise, so no store update re-renders anything here unless
 * the groups change. A group's card reads only its runs' points and configs (arrays compared shallowly), means come
 * from one pass over the data, and the bootstrap intervals from a worker (seed_stats.worker.ts), cached per input.
 */
import * as Comlink from 'comlink';
import { memo, useCallback, useEffect, useMemo, useState } from 'react';
import { ErrorBar, Scatter, ScatterChart, Tooltip, type TooltipContentProps } from 'recharts';
import { useShallow } from 'zustand/react/shallow';
import { useStore } from '../state/store';
import { groupAcrossSeeds, type SeedRun } from '../train/claims';
import type { EvalPoint } from '../train/results';
import { seedRunsOf } from '../train/seed_means';
import {
  ACCURACY_AXES,
  CHART_HEIGHT,
  ChartFrame,
  curveScatter,
  MARGIN,
  markerShape,
  SCATTER_CURSOR,
  TooltipHead,
} from './Charts';
import { CHART_SERIES_COLOR, CHART_SERIES_SHAPE, percent, rlSeriesName } from './chart_data';
import {
  comparedSeedGroupsKey,
  intervalText,
  parseSeedGroupsKey,
  type SeedIntervals,
  type SeedMeanDatum,
  type SeedPointDatum,
  type SeedSettingRow,
  seedChartSeries,
  seedSettingRows,
  statsOnly,
} from './seed_groups';
import type { SeedStatsWorkerApi } from './seed_stats.worker';

const EMPTY_POINTS: EvalPoint[] = [];

// ---- intervals, from the worker ----

let remote: Comlink.Remote<SeedStatsWorkerApi> | null = null;
function statsWorker(): Comlink.Remote<SeedStatsWorkerApi> {
  remote ??= Comlink.wrap<SeedStatsWorkerApi>(
    new Worker(new URL('./seed_stats.worker.ts', import.meta.url), { type: 'module', name: 'stoptime-seed-stats' }),
  );
  return remote;
}

type IntervalsResult = SeedIntervals | { error: string };
/** Answers (and questions in flight) by input key (run ids and their points); the most recent MAX_CACHED. */
const intervalCache = new Map<string, Promise<IntervalsResult>>();
const answered = new Map<string, IntervalsResult>();
const MAX_CACHED = 16;

/** A group's inputs as a key: its runs and, per run, how many points and the last one's id. */
function inputKey(runIds: readonly string[], pointLists: readonly (readonly EvalPoint[])[]): string {
  return runIds.map((id, i) => `${id}:${pointLists[i]!.length}:${pointLists[i]!.at(-1)?.id ?? ''}`).join('|');
}

function askIntervals(key: string, runs: readonly SeedRun[]): Promise<IntervalsResult> {
  let pending = intervalCache.get(key);
  if (!pending) {
    pending = statsWorker()
      .intervals(runs.map((r) => ({ seed: r.seed, points: r.points.map(statsOnly) })))
      .then(
        (list): IntervalsResult => new Map(list.map((x) => [x.key, x])),
        (e: unknown): IntervalsResult => ({ error: e instanceof Error ? e.message : String(e) }),
      )
      .then((r) => {
        answered.set(key, r);
        return r;
      });
    intervalCache.set(key, pending);
    while (intervalCache.size > MAX_CACHED) {
      const oldest = intervalCache.keys().next().value!;
      intervalCache.delete(oldest);
      answered.delete(oldest);
    }
  }
  return pending;
}

/** The group's intervals once the worker has them (null while it computes). */
function useSeedIntervals(key: string, runs: readonly SeedRun[] | null): IntervalsResult | null {
  const [, setVersion] = useState(0);
  useEffect(() => {
    if (!runs || answered.has(key)) return;
    let live = true;
    void askIntervals(key, runs).then(() => {
      if (live) setVersion((v) => v + 1);
    });
    return () => {
      live = false;
    };
  }, [key, runs]);
  return answered.get(key) ?? null;
}

// ---- the card ----

/** Mounts the seed-group cards only while a compared seed group exists. */
export const SeedGroupsGate = memo(function SeedGroupsGate() {
  const key = useStore(comparedSeedGroupsKey);
  const groups = useMemo(() => parseSeedGroupsKey(key), [key]);
  if (groups.length === 0) return null;
  return (
    <>
      {groups.map((ids) => (
        <SeedGroupCard key={ids.join(',')} runIds={ids} />
      ))}
    </>
  );
});

function isMeanDatum(x: unknown): x is SeedMeanDatum {
  return typeof x === 'object' && x !== null && 'seedCount' in x && 'setting' in x;
}

function isSeedDatum(x: unknown): x is SeedPointDatum {
  return typeof x === 'object' && x !== null && 'seed' in x && 'runId' in x && 'pointId' in x;
}

function SeedTooltip({ active, payload }: TooltipContentProps) {
  const d: unknown = payload?.[0]?.payload;
  if (!active) return null;
  if (isMeanDatum(d)) {
    const err = d.accuracyError;
    return (
      <div className="tooltip">
        <TooltipHead d={d} />
        <div>
          accuracy <strong>{percent(d.y)}</strong>
          {err ? ` [${(100 * (d.y - err[0])).toFixed(1)}, ${(100 * (d.y + err[1])).toFixed(1)}]` : ''} · mean of{' '}
          {d.seedCount} seeds
        </div>
        <div>mean thinking {d.x.toFixed(1)} tokens</div>
        <div className="muted">
          {err ? '95% interval: bootstrap over problems within seeds' : 'computing the interval…'}
        </div>
      </div>
    );
  }
  if (isSeedDatum(d))
    return (
      <div className="tooltip">
        <div className="tooltip-title">seed {d.seed}</div>
        <div>{d.setting}</div>
        <div>
          accuracy <strong>{percent(d.y)}</strong> · thinking {d.x.toFixed(1)} tokens
        </div>
        <div className="muted">click to see its traces</div>
      </div>
    );
  return null;
}

const SeedGroupCard = memo(function SeedGroupCard({ runIds }: { runIds: readonly string[] }) {
  // Only what the statistics read: the same arrays while a run trains (its timeline changes, not these).
  const pointLists = useStore(useShallow((s) => runIds.map((id) => s.runs[id]?.evalPoints ?? EMPTY_POINTS)));
  const configs = useStore(useShallow((s) => runIds.map((id) => s.runs[id]?.config)));
  const rlStarts = useStore(useShallow((s) => runIds.map((id) => s.runs[id]?.rlStartStep)));
  const name = useStore((s) => s.runs[runIds[0]!]?.name ?? '');
  const selectPoint = useStore((s) => s.selectPoint);
  const [eachSeed, setEachSeed] = useState(false);

  const runs = useMemo(() => {
    const records = runIds.flatMap((_, i) => {
      const config = configs[i];
      return config ? [{ config, rlStartStep: rlStarts[i], evalPoints: pointLists[i]! }] : [];
    });
    return records.length === runIds.length ? seedRunsOf(records) : null;
  }, [runIds, configs, rlStarts, pointLists]);
  // The means at once: groupAcrossSeeds with one bootstrap draw (its estimates do not depend on the draws).
  const means = useMemo(() => (runs ? groupAcrossSeeds(runs, { replicates: 1 }) : []), [runs]);
  const key = useMemo(() => inputKey(runIds, pointLists), [runIds, pointLists]);
  const intervals = useSeedIntervals(key, runs);
  const rlName = useMemo(
    () => (runs && configs[0] ? rlSeriesName(configs[0], runs[0]!.points) : 'TLDR'),
    [runs, configs],
  );
  const rows = useMemo(
    () =>
      runs ? seedSettingRows(runIds, runs, means, intervals && !('error' in intervals) ? intervals : null, rlName) : [],
    [runIds, runs, means, intervals, rlName],
  );
  const groupId = runIds.join(',');
  const lines = useMemo(() => seedChartSeries(groupId, rows, rlName), [groupId, rows, rlName]);
  const seeds = runs?.map((r) => r.seed) ?? [];
  const pick = useCallback(
    (item: { payload?: unknown }) => {
      if (isSeedDatum(item.payload)) selectPoint(item.payload.runId, item.payload.pointId);
    },
    [selectPoint],
  );

  const ready = intervals !== null && !('error' in intervals);
  const status =
    intervals === null
      ? 'computing the 95% intervals…'
      : 'error' in intervals
        ? `intervals unavailable: ${intervals.error}`
        : '95% intervals: bootstrap over problems within seeds, as npm run report';
  return (
    <section className="panel chart-card" data-testid="seed-group" aria-label={`Seed group ${name}`}>
      <h2>
        {name} · mean of {runIds.length} seeds
        <span className="subtitle">
          {' '}
          (seeds {seeds.join(', ')}; {status})
        </span>
      </h2>
      {rows.length === 0 ? (
        <p className="muted small">No setting was evaluated by every seed on the same number of problems.</p>
      ) : (
        <>
          <ChartFrame height={CHART_HEIGHT + 30} empty={null}>
            <ScatterChart margin={MARGIN}>
              {ACCURACY_AXES}
              <Tooltip isAnimationActive={false} content={SeedTooltip} cursor={SCATTER_CURSOR} />
              {lines.flatMap(({ group: g, seeds: seedPoints }) => {
                const color = CHART_SERIES_COLOR[g.id];
                return [
                  <Scatter
                    key={`${g.id}-means`}
                    name={g.short}
                    data={g.all}
                    fill={color}
                    shape={markerShape(CHART_SERIES_SHAPE[g.id])}
                    isAnimationActive={false}
                  >
                    {ready && (
                      <ErrorBar
                        dataKey="accuracyError"
                        direction="y"
                        width={4}
                        stroke={color}
                        strokeWidth={1.5}
                        isAnimationActive={false}
                      />
                    )}
                  </Scatter>,
                  curveScatter(`${g.id}-curve`, g.short, g, color),
                  eachSeed && (
                    <Scatter
                      key={`${g.id}-seeds`}
                      name={`${g.short} · each seed`}
                      data={seedPoints}
                      fill={color}
                      fillOpacity={0.3}
                      shape="circle"
                      legendType="none"
                      isAnimationActive={false}
                      onClick={pick}
                      className="clickable"
                    />
                  ),
                ];
              })}
            </ScatterChart>
          </ChartFrame>
          <label className="check small">
            <input
              type="checkbox"
              checked={eachSeed}
              onChange={(e) => setEachSeed(e.target.checked)}
              data-testid="seed-group-each"
            />
            each seed (its points on the chart, a column per seed; click one to see its traces)
          </label>
          <SeedTable rows={rows} seeds={seeds} eachSeed={eachSeed} />
        </>
      )}
    </section>
  );
});

function SeedTable({
  rows,
  seeds,
  eachSeed,
}: {
  rows: readonly SeedSettingRow[];
  seeds: readonly number[];
  eachSeed: boolean;
}) {
  const selectPoint = useStore((s) => s.selectPoint);
  return (
    <div className="seed-scroll">
      <table className="seed-table" data-testid="seed-group-table">
        <thead>
          <tr>
            <th>line</th>
            <th>setting</th>
            <th>accuracy [95% CI]</th>
            <th>thinking tokens [95% CI]</th>
            <th>n per seed</th>
            {eachSeed && seeds.map((seed) => <th key={seed}>seed {seed}</th>)}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.key}>
              <td>
                <span className="swatch" style={{ background: CHART_SERIES_COLOR[r.chartSeries] }} />
                {r.seriesShort}
              </td>
              <td>{r.setting}</td>
              <td className="num">{intervalText(r.mean.accuracy, r.accuracy, true)}</td>
              <td className="num">{intervalText(r.mean.meanThinkingTokens, r.meanThinkingTokens, false)}</td>
              <td className="num">{r.problemsPerSeed}</td>
              {eachSeed &&
                r.seeds.map((c) => (
                  <td key={c.seed} className="num">
                    <button
                      type="button"
                      className="link"
                      title={`Show seed ${c.seed}'s traces of this setting`}
                      onClick={() => selectPoint(c.runId, c.pointId)}
                    >
                      {percent(c.accuracy)} · {c.meanThinkingTokens.toFixed(1)}
                    </button>
                  </td>
                ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
