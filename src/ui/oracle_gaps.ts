/**
 * Each stopping method's distance to a run's oracle frontier (src/train/oracle.ts), for the playground's oracle panel:
 * the points read against the frontier are those of the same weights (the oracle's step and stage) on the same
 * evaluation set (its variant and number of problems, no TLDR length tag). Per method: the accuracy gap at matched
 * thinking length (oracleAccuracyAt(x) − accuracy, in points) averaged over its points and at its closest point, and
 * for its most accurate point the mean thinking length at which the oracle reaches that accuracy. Pure.
 */
import type { RunRecord } from '../runs/run_record';
import { decodeSettingText, METHODS, SERIES_IDS, type SeriesId, stageOf } from '../train/methods';
import { distanceToFrontier } from '../train/oracle';
import type { EvalPoint } from '../train/results';

export interface MethodGap {
  series: SeriesId;
  /** The method's legend name ("TS τ"). */
  name: string;
  points: number;
  /** Mean over its points of the oracle's accuracy at the point's mean thinking length minus its accuracy (fraction). */
  meanAccuracyGap: number;
  /** The point closest to the frontier: its gap (fraction) and its setting ("τ = 0.5, T = 0"). */
  minAccuracyGap: number;
  minGapSetting: string;
  /** The most accurate point: its accuracy, its mean thinking tokens, and the oracle's for that accuracy (null: above). */
  bestAccuracy: number;
  bestThinkingTokens: number;
  oracleTokensForBest: number | null;
}

/** What the gaps read of a run: its oracle, its points and what tells their stage. */
export type OracleRun = Pick<RunRecord, 'oracle' | 'evalPoints' | 'config' | 'rlStartStep'>;

/** The points of `run` comparable with its oracle (see the file header). */
export function comparablePoints(run: OracleRun): EvalPoint[] {
  const r = run.oracle;
  if (!r) return [];
  return run.evalPoints.filter(
    (p) =>
      p.step === r.step &&
      stageOf(p, run) === r.stage &&
      p.variant === r.variant &&
      p.problems === r.summary.problems &&
      !p.lengthTag,
  );
}

/** One row per method with comparable points, in the methods' order; empty without an oracle. */
export function methodGaps(run: OracleRun): MethodGap[] {
  const r = run.oracle;
  if (!r) return [];
  const points = comparablePoints(run);
  return SERIES_IDS.flatMap((series): MethodGap[] => {
    const mine = points.filter((p) => p.series === series);
    if (mine.length === 0) return [];
    const gaps = mine.map((p) => distanceToFrontier(r.frontier, p).accuracyGap);
    let closest = 0;
    let best = 0;
    mine.forEach((p, i) => {
      if (gaps[i]! < gaps[closest]!) closest = i;
      if (p.accuracy > mine[best]!.accuracy) best = i;
    });
    const top = mine[best]!;
    return [
      {
        series,
        name: METHODS[series].short,
        points: mine.length,
        meanAccuracyGap: gaps.reduce((a, b) => a + b, 0) / gaps.length,
        minAccuracyGap: gaps[closest]!,
        minGapSetting: decodeSettingText(series, mine[closest]!.decode),
        bestAccuracy: top.accuracy,
        bestThinkingTokens: top.meanThinkingTokens,
        oracleTokensForBest: distanceToFrontier(r.frontier, top).oracleTokens,
      },
    ];
  });
}
