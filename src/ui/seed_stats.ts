/**
 * Seed groups' statistics for the UI: the means at once on the main thread (seedGroupMeans: one bootstrap replicate),
 * the 95% intervals and the claims table from seed_stats.worker.ts, each computed once per group's inputs
 * (seedGroupInputKey) and kept for the page's life (the most recent MAX_CACHED).
 */
import * as Comlink from 'comlink';
import { useEffect, useMemo, useState } from 'react';
import type { ClaimRow, SeedGroupPoint, SeedRun } from '../train/claims';
import type { RlName } from './chart_data';
import {
  type ChartEntry,
  type SeedGroupRun,
  type SeedGroupSeries,
  seedGroupInputKey,
  seedGroupMeans,
  seedGroupSeries,
  seedRunsOf,
} from './seed_groups';
import type { SeedStatsWorkerApi } from './seed_stats.worker';

/**
 * Bootstrap replicates in the playground (the report's default is 2000): half the time, and the percentile ends of a
 * 95% interval move by a few hundredths of its width between the two.
 */
export const UI_REPLICATES = 1000;
const MAX_CACHED = 16;

let remote: Comlink.Remote<SeedStatsWorkerApi> | null = null;
function worker(): Comlink.Remote<SeedStatsWorkerApi> {
  remote ??= Comlink.wrap<SeedStatsWorkerApi>(
    new Worker(new URL('./seed_stats.worker.ts', import.meta.url), { type: 'module', name: 'stoptime-seed-stats' }),
  );
  return remote;
}

/** A result of the worker: pending (absent), a value, or the error's message. */
export type Outcome<T> = { value: T } | { error: string };

/** A small map that forgets its oldest entries. */
class Recent<T> {
  private readonly map = new Map<string, T>();
  get(key: string): T | undefined {
    return this.map.get(key);
  }
  set(key: string, value: T): void {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > MAX_CACHED) this.map.delete(this.map.keys().next().value!);
  }
}

/** The worker's answers, by kind and input key; `started` keeps a computation from being asked twice. */
const answers = new Recent<Outcome<unknown>>();
const started = new Set<string>();
const listeners = new Set<() => void>();

function ask<T>(key: string, compute: () => Promise<T>): void {
  if (started.has(key) || answers.get(key)) return;
  started.add(key);
  compute()
    .then(
      (value) => answers.set(key, { value }),
      (e: unknown) => answers.set(key, { error: e instanceof Error ? e.message : String(e) }),
    )
    .finally(() => {
      started.delete(key);
      for (const l of listeners) l();
    });
}

/** Re-renders the caller whenever the worker answers. */
function useAnswers(): number {
  const [version, setVersion] = useState(0);
  useEffect(() => {
    const l = () => setVersion((v) => v + 1);
    listeners.add(l);
    return () => {
      listeners.delete(l);
    };
  }, []);
  return version;
}

interface Prepared {
  inputKey: string;
  runs: SeedRun[];
  means: SeedGroupPoint[];
}
const prepared = new Recent<Prepared>();

function prepare(records: readonly SeedGroupRun[]): Prepared {
  const inputKey = seedGroupInputKey(records);
  let p = prepared.get(inputKey);
  if (!p) {
    const runs = seedRunsOf(records);
    p = { inputKey, runs, means: seedGroupMeans(runs) };
    prepared.set(inputKey, p);
  }
  return p;
}

/** A seed group on the chart and in its table. */
export interface SeedGroupView {
  entry: ChartEntry;
  inputKey: string;
  runs: SeedRun[];
  series: SeedGroupSeries[];
  rlName: RlName;
  /** 'pending' while the worker computes the intervals; the series then carry means only. */
  intervals: 'ready' | 'pending' | { error: string };
}

/**
 * The seed groups among `entries`, by entry key: their chart series at the seeds' means at once, with the intervals
 * once the worker has them. `runOf` gives each run (name, seed, points) and what its RL stage is called.
 */
export function useSeedGroups(
  entries: readonly ChartEntry[],
  runOf: (id: string) => { run: SeedGroupRun; rlName: RlName } | undefined,
): ReadonlyMap<string, SeedGroupView> {
  const version = useAnswers();
  const groups = useMemo(
    () =>
      entries.flatMap((entry) => {
        if (entry.seeds === null) return [];
        const found = entry.runIds.map(runOf);
        if (found.some((f) => f === undefined)) return [];
        return [{ entry, rlName: found[0]!.rlName, prepared: prepare(found.map((f) => f!.run)) }];
      }),
    [entries, runOf],
  );
  useEffect(() => {
    for (const g of groups) {
      const { inputKey, runs } = g.prepared;
      ask(`groups:${inputKey}`, () => worker().groups(runs, UI_REPLICATES));
    }
  }, [groups]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: version changes when the worker answers
  return useMemo(() => {
    const out = new Map<string, SeedGroupView>();
    for (const { entry, rlName, prepared: p } of groups) {
      const answer = answers.get(`groups:${p.inputKey}`) as Outcome<SeedGroupPoint[]> | undefined;
      const ready = answer && 'value' in answer;
      out.set(entry.key, {
        entry,
        inputKey: p.inputKey,
        runs: p.runs,
        rlName,
        series: seedGroupSeries(entry.runIds, p.runs, ready ? answer.value : p.means, !!ready, rlName),
        intervals: !answer ? 'pending' : 'value' in answer ? 'ready' : answer,
      });
    }
    return out;
  }, [groups, version]);
}

/** The claims table of a seed group (computed when first asked for): undefined while pending. */
export function useSeedGroupClaims(view: SeedGroupView | null): Outcome<ClaimRow[]> | undefined {
  const version = useAnswers();
  useEffect(() => {
    if (view) ask(`claims:${view.inputKey}`, () => worker().claims(view.runs, UI_REPLICATES));
  }, [view]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: version changes when the worker answers
  return useMemo(
    () => (view ? (answers.get(`claims:${view.inputKey}`) as Outcome<ClaimRow[]> | undefined) : undefined),
    [view, version],
  );
}
