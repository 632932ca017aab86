/**
 * Each method's distance to a run's oracle frontier (src/ui/oracle_gaps.ts), on a hand-made frontier whose gaps are
 * worked out by hand: only points of the oracle's weights and evaluation set count.
 */
import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/runs/run_record';
import { type OracleResult, summarizeOracle } from '../../src/train/oracle';
import type { EvalPoint, SeriesId } from '../../src/train/results';
import { DEFAULT_DECODE_CONFIG } from '../../src/train/run_config';
import { comparablePoints, methodGaps } from '../../src/ui/oracle_gaps';
import { evalPoint, makeRun } from '../state/fakes';

// First right stops 0, 2, 4 and none (L = 4): the frontier runs (0, 25%), (0.5, 50%), (1.5, 75%), flat after.
const problems = ['11111', '00111', '00001', '00000'].map((correctAt) => ({
  ownThinkingTokens: 4,
  ownCorrect: correctAt.endsWith('1'),
  correctAt,
  stepBoundaries: [],
}));
const oracle: OracleResult = {
  step: 4,
  stage: 'sft',
  variant: 'id',
  trace: 'greedy',
  candidates: 'every-token',
  answerTokens: 8,
  problems,
  ...summarizeOracle(problems),
  evalTimeMs: 1,
  createdAt: 1,
};

function point(id: string, series: SeriesId, x: number, y: number, patch: Partial<EvalPoint> = {}): EvalPoint {
  const decode = { ...DEFAULT_DECODE_CONFIG, intervention: series === 'temperature' ? 'none' : series };
  return {
    ...evalPoint(id, 4, decode as EvalPoint['decode']),
    series,
    problems: 4,
    meanThinkingTokens: x,
    accuracy: y,
    ...patch,
  };
}

describe('methodGaps', () => {
  it('reads each method against the frontier at matched length, on the same weights and problems only', () => {
    expect(oracle.frontier).toEqual([
      { meanThinkingTokens: 0, accuracy: 0.25 },
      { meanThinkingTokens: 0.5, accuracy: 0.5 },
      { meanThinkingTokens: 1.5, accuracy: 0.75 },
    ]);
    const run: RunRecord = makeRun('r', {
      stepsDone: 4,
      oracle,
      evalPoints: [
        point('a', 'temperature', 1, 0.25), // oracle at 1 token: 62.5% → gap 37.5 pts
        point('b', 'temperature', 2, 0.5), // beyond the frontier's end: 75% → gap 25 pts
        point('c', 'ts', 0.5, 0.5), // on the frontier
        point('d', 'ts', 0.5, 0.5, { step: 2 }), // other weights
        point('e', 'ts', 0.5, 0, { variant: 'ood' }), // other evaluation set
        point('f', 'ts', 0.5, 0, { problems: 8 }), // other number of problems
        point('g', 'ts', 0.5, 0, { lengthTag: 'short' }), // TLDR-tagged prompts
      ],
    });
    expect(comparablePoints(run).map((p) => p.id)).toEqual(['a', 'b', 'c']);
    const [temperature, ts, ...rest] = methodGaps(run);
    expect(rest).toEqual([]);
    expect(temperature).toMatchObject({ series: 'temperature', points: 2, minGapSetting: expect.any(String) });
    expect(temperature!.meanAccuracyGap).toBeCloseTo((0.375 + 0.25) / 2, 12);
    expect(temperature!.minAccuracyGap).toBeCloseTo(0.25, 12);
    // Its most accurate point (50% at 2 tokens): the oracle reaches 50% at 0.5 tokens.
    expect([temperature!.bestAccuracy, temperature!.bestThinkingTokens]).toEqual([0.5, 2]);
    expect(temperature!.oracleTokensForBest).toBeCloseTo(0.5, 12);
    expect(ts).toMatchObject({ series: 'ts', points: 1, meanAccuracyGap: 0, minAccuracyGap: 0 });
    expect(methodGaps({ ...run, oracle: null })).toEqual([]);
    // Above the oracle's top accuracy there is no oracle length for it.
    const above = methodGaps({ ...run, evalPoints: [point('h', 'cap', 3, 1)] });
    expect(above[0]).toMatchObject({ series: 'cap', oracleTokensForBest: null });
    expect(above[0]!.minAccuracyGap).toBeCloseTo(-0.25, 12);
  });
});
