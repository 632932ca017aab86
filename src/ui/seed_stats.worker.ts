/**
 * The seed groups' 95% intervals off the main thread: groupAcrossSeeds (src/train/claims.ts) with the report's
 * options, a bootstrap over problems within seeds that takes seconds for a few settings of 5 seeds × 512 problems.
 * Started by SeedGroups.tsx only when a seed group is compared.
 */
import * as Comlink from 'comlink';
import { groupAcrossSeeds, type SeedRun } from '../train/claims';

const api = {
  /** Each setting's accuracy and mean thinking tokens with their 95% intervals, by seedGroupKey. */
  intervals(runs: SeedRun[]) {
    return groupAcrossSeeds(runs).map((g) => ({
      key: g.key,
      accuracy: g.accuracy,
      meanThinkingTokens: g.meanThinkingTokens,
    }));
  },
};

export type SeedStatsWorkerApi = typeof api;

Comlink.expose(api);
