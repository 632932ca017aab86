/// <reference lib="webworker" />
/**
 * The bootstrap intervals of seed groups (src/train/claims.ts groupAcrossSeeds and efficientReasonerClaims), off the
 * main thread: 1000 replicates over 5 seeds × 512 problems take about 0.1–0.25 s per decode setting (Node, shared
 * 2-core VM), seconds for a whole experiment, which would freeze the page. Reached through comlink (seed_stats.ts).
 */
import * as Comlink from 'comlink';
import { efficientReasonerClaims, groupAcrossSeeds, type SeedRun } from '../train/claims';

const api = {
  groups: (runs: SeedRun[], replicates: number) => groupAcrossSeeds(runs, { replicates }),
  claims: (runs: SeedRun[], replicates: number) => efficientReasonerClaims(runs, { replicates }),
};

export type SeedStatsWorkerApi = typeof api;

Comlink.expose(api);
