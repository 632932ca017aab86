/**
 * Runs of one setting trained once per seed, read as one: each run's points with their stages (the rule in
 * methods.ts), and a setting every seed evaluated as one point at the seeds' means. The report
 * (src/headless/seed_summary.ts) and the playground (src/ui/SeedGroups.tsx) both draw seed groups from these.
 */
import type { SeedGroupPoint, SeedRun } from './claims';
import { meanOrNull } from './eval_metrics';
import { type RunStages, withStages } from './methods';
import type { EvalPoint } from './results';

/** One run per seed, each point's stage resolved (stageOf). */
export function seedRunsOf(
  records: readonly (RunStages & { config: { seed: number }; evalPoints: readonly EvalPoint[] })[],
): SeedRun[] {
  return records.map((r) => ({ seed: r.config.seed, points: withStages(r.evalPoints, r) }));
}

/** Mean of the values that are present (null when none is). */
function meanOf(values: readonly (number | null)[]): number | null {
  return meanOrNull(values.filter((v): v is number => v !== null));
}

/**
 * A setting of a seed group as one evaluation point: the first seed's point with the seeds' mean accuracy, thinking
 * lengths and rates; `problems` counts every seed's. No histogram, samples or per-problem outcomes (those are each
 * seed's).
 */
export function seedMeanPoint(g: SeedGroupPoint, id: string): EvalPoint {
  const same = g.points;
  const p: EvalPoint = {
    ...same[0]!,
    id,
    problems: g.problemsPerSeed * g.seeds.length,
    accuracy: g.accuracy.estimate,
    meanThinkingTokens: g.meanThinkingTokens.estimate,
    meanThinkingTokensCorrect: meanOf(same.map((x) => x.meanThinkingTokensCorrect)),
    meanThinkingTokensWrong: meanOf(same.map((x) => x.meanThinkingTokensWrong)),
    meanCompletionTokens: meanOf(same.map((x) => x.meanCompletionTokens))!,
    stopRate: meanOf(same.map((x) => x.stopRate))!,
    repetitionRate: meanOf(same.map((x) => x.repetitionRate))!,
    histogram: [],
    samples: [],
  };
  delete p.perProblem;
  return p;
}
