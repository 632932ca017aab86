import { describe, expect, it } from 'vitest';
import type { LengthTag } from '../../src/tasks/types';
import {
  claimPerSeedText,
  compareArms,
  efficientReasonerClaims,
  groupAcrossSeeds,
  type SeedRun,
} from '../../src/train/claims';
import { applySweepValue, type EvalPoint, type SeriesId } from '../../src/train/results';
import { DEFAULT_DECODE_CONFIG } from '../../src/train/run_config';

let nextId = 0;

/** A point whose aggregates follow from its per-problem outcomes (as evaluateModel writes them). */
function point(
  series: SeriesId,
  knob: number,
  correct: readonly number[],
  thinking: readonly number[],
  opts: { temperature?: number; stage?: 'sft' | 'rl'; lengthTag?: LengthTag } = {},
): EvalPoint {
  const n = correct.length;
  const base = { ...DEFAULT_DECODE_CONFIG, temperature: opts.temperature ?? 0.6 };
  const decode = series === 'temperature' ? { ...base, temperature: knob } : applySweepValue(series, base, knob);
  const mean = (xs: number[]) => (xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length);
  return {
    id: `p${nextId++}`,
    step: 100,
    series,
    decode,
    variant: 'id',
    ...(opts.lengthTag ? { lengthTag: opts.lengthTag } : {}),
    stage: opts.stage ?? 'sft',
    problems: n,
    accuracy: correct.filter((c) => c === 1).length / n,
    meanThinkingTokens: mean([...thinking])!,
    meanThinkingTokensCorrect: mean(thinking.filter((_, i) => correct[i] === 1)),
    meanThinkingTokensWrong: mean(thinking.filter((_, i) => correct[i] === 0)),
    meanCompletionTokens: 30,
    stopRate: 1,
    repetitionRate: 0,
    histogram: [],
    perProblem: { correct: correct.join(''), thinkingTokens: [...thinking] },
    samples: [],
    evalTimeMs: 1,
    createdAt: 1,
  };
}

/** n outcomes with `right` correct first. */
const outcomes = (n: number, right: number) => Array.from({ length: n }, (_, i) => (i < right ? 1 : 0));
const constant = (n: number, v: number) => Array.from({ length: n }, () => v);

const OPTS = { replicates: 400, seed: 3 };

describe('efficientReasonerClaims', () => {
  it('claim 1: wrong minus right thinking, established when wrong traces are longer, contradicted when shorter', () => {
    const n = 40;
    const c = outcomes(n, 30);
    const longWrong = c.map((x, i) => (x === 1 ? 10 + (i % 3) : 30 + (i % 5)));
    const runs: SeedRun[] = [{ seed: 1, points: [point('temperature', 0, c, longWrong)] }];
    const [row] = efficientReasonerClaims(runs, OPTS);
    expect(row!.id).toBe('1');
    // correct: 10,11,12 cycling over i = 0..29 → mean 11; wrong: 30 + (i % 5) over i = 30..39 → mean 32
    expect(row!.estimates[0]!.interval!.estimate).toBeCloseTo(32 - 11, 10);
    expect(row!.verdict).toBe('established');
    const shortWrong = c.map((x) => (x === 1 ? 30 : 10));
    const [flip] = efficientReasonerClaims([{ seed: 1, points: [point('temperature', 0, c, shortWrong)] }], OPTS);
    expect(flip!.estimates[0]!.interval!.estimate).toBe(-20);
    expect(flip!.verdict).toBe('contradicted');
  });

  it('claim 2: TS against the cap curve interpolated at its length (paired, averaged over seeds)', () => {
    const n = 100;
    // Cap B = 16: 50% at 10 tokens; B = 48: 70% at 30 tokens. TS τ = 0.5: 80% at 20 tokens, where the cap gives 60%.
    const seedRun = (seed: number, tsRight: number): SeedRun => ({
      seed,
      points: [
        point('cap', 16, outcomes(n, 50), constant(n, 10)),
        point('cap', 48, outcomes(n, 70), constant(n, 30)),
        point('ts', 0.5, outcomes(n, tsRight), constant(n, 20)),
      ],
    });
    const rows = efficientReasonerClaims([seedRun(1, 80), seedRun(2, 70)], OPTS);
    const overall = rows.find((r) => r.id === '2')!;
    // Seed 1: +20 points, seed 2: +10 points → mean +15.
    const [s1, s2] = overall.estimates[0]!.perSeed;
    expect(s1).toBeCloseTo(20, 10);
    expect(s2).toBeCloseTo(10, 10);
    expect(overall.estimates[0]!.interval!.estimate).toBeCloseTo(15, 10);
    expect(overall.verdict).toBe('established');
    expect(overall.estimates[0]!.acrossSeeds!.estimate).toBeCloseTo(15, 10);
    expect(rows.find((r) => r.id === '2 · τ = 0.5')!.estimates[0]!.interval!.estimate).toBeCloseTo(15, 10);
  });

  it('claim 2 is not measured where TS lies outside the cap curve (no extrapolation)', () => {
    const n = 50;
    const run: SeedRun = {
      seed: 1,
      points: [
        point('cap', 16, outcomes(n, 20), constant(n, 10)),
        point('cap', 32, outcomes(n, 30), constant(n, 20)),
        point('ts', 2, outcomes(n, 40), constant(n, 25)),
      ],
    };
    const row = efficientReasonerClaims([run], OPTS).find((r) => r.id === '2')!;
    expect(row.estimates[0]!.interval).toBeNull();
    expect(row.verdict).toBe('not measured');
  });

  it('claim 3: extend minus plain decoding, with the no-help margin', () => {
    const n = 200;
    const mk = (extendRight: number): SeedRun => ({
      seed: 1,
      points: [
        point('temperature', 0.6, outcomes(n, 140), constant(n, 20)),
        point('extend', 32, outcomes(n, extendRight), constant(n, 40)),
      ],
    });
    const hurts = efficientReasonerClaims([mk(110)], OPTS).find((r) => r.id === '3')!;
    expect(hurts.estimates[0]!.interval!.estimate).toBeCloseTo(-15, 10);
    expect(hurts.estimates[1]!.interval!.estimate).toBe(20);
    expect(hurts.verdict).toBe('established');
    // Paired on the same problems: extend right on 170 ⊃ the plain 140 → +15 points, an interval above 0.
    const helps = efficientReasonerClaims([mk(170)], OPTS).find((r) => r.id === '3')!;
    expect(helps.verdict).toBe('contradicted');
  });

  it('claim 4: the cut and the accuracy change per level decide together', () => {
    const n = 300;
    const mk = (rlRight: number, rlTokens: number): SeedRun => ({
      seed: 1,
      points: [
        point('temperature', 0, outcomes(n, 240), constant(n, 20), { lengthTag: 'medium' }),
        point('temperature', 0, outcomes(n, rlRight), constant(n, rlTokens), { lengthTag: 'medium', stage: 'rl' }),
      ],
    });
    const same = efficientReasonerClaims([mk(240, 10)], OPTS).find((r) => r.id === '4 · medium')!;
    expect(same.estimates[0]!.interval!.estimate).toBeCloseTo(50, 10);
    expect(same.estimates[1]!.interval!.estimate).toBeCloseTo(0, 10);
    expect(same.verdict).toBe('established');
    // 30 of 300 problems lost (−10 points): the whole interval is below −2 points.
    expect(efficientReasonerClaims([mk(210, 10)], OPTS).find((r) => r.id === '4 · medium')!.verdict).toBe(
      'contradicted',
    );
    // Longer after RL: contradicted by the cut.
    expect(efficientReasonerClaims([mk(240, 25)], OPTS).find((r) => r.id === '4 · medium')!.verdict).toBe(
      'contradicted',
    );
    // No RL point: no row for that level.
    expect(
      efficientReasonerClaims([{ seed: 1, points: [mk(240, 10).points[0]!] }], OPTS).some((r) => r.id.startsWith('4')),
    ).toBe(false);
  });

  it('claim 5: the levels order length, from the smaller gap', () => {
    const n = 60;
    const c = outcomes(n, 40);
    const lv = (tag: LengthTag, tokens: number) => point('temperature', 0, c, constant(n, tokens), { lengthTag: tag });
    const ordered = efficientReasonerClaims(
      [{ seed: 1, points: [lv('short', 10), lv('medium', 20), lv('long', 35)] }],
      OPTS,
    );
    const row = ordered.find((r) => r.id === '5 · SFT')!;
    expect(row.estimates.map((e) => e.interval!.estimate)).toEqual([10, 15]);
    expect(row.verdict).toBe('established');
    const swapped = efficientReasonerClaims(
      [{ seed: 1, points: [lv('short', 10), lv('medium', 30), lv('long', 25)] }],
      OPTS,
    );
    expect(swapped.find((r) => r.id === '5 · SFT')!.verdict).toBe('contradicted');
  });

  it('establishes nothing at the accuracy floor or from draws where the statistic is mostly undefined', () => {
    const n = 300;
    // TLDR halves thinking at "the same accuracy", but both models answer 2 of 300: the floor guard applies.
    const floor: SeedRun = {
      seed: 1,
      points: [
        point('temperature', 0, outcomes(n, 2), constant(n, 20), { lengthTag: 'medium' }),
        point('temperature', 0, outcomes(n, 2), constant(n, 10), { lengthTag: 'medium', stage: 'rl' }),
      ],
    };
    const row = efficientReasonerClaims([floor], OPTS).find((r) => r.id === '4 · medium')!;
    expect(row.estimates[0]!.interval!.estimate).toBeCloseTo(50, 10);
    expect(row.verdict).toBe('not established');
    expect(row.note).toMatch(/baseline accuracy 0\.7% is below 10%/);
    // One correct answer in 40: most draws miss it, so "wrong − correct" is undefined in them.
    const c = outcomes(40, 1);
    const rare: SeedRun = {
      seed: 1,
      points: [
        point(
          'temperature',
          0,
          c,
          c.map((x) => (x === 1 ? 5 : 30)),
        ),
      ],
    };
    const [one] = efficientReasonerClaims([rare], OPTS);
    expect(one!.estimates[0]!.interval!.undefinedReplicates).toBeGreaterThan(0.05 * OPTS.replicates);
    expect(one!.verdict).toBe('not established');
    expect(one!.note).toMatch(/undefined/);
  });

  it('a point without per-problem outcomes is not measured rather than guessed', () => {
    const p = point('temperature', 0, outcomes(20, 10), constant(20, 5));
    delete p.perProblem;
    const [row] = efficientReasonerClaims([{ seed: 1, points: [p] }], OPTS);
    expect(row!.verdict).toBe('not measured');
  });
});

describe('claim text', () => {
  it('never writes a negative zero', () => {
    const e = { label: 'cut', unit: '%' as const, interval: null, perSeed: [10.9, -0.46, null], acrossSeeds: null };
    expect(claimPerSeedText(e)).toBe('11, 0, —');
  });
});

describe('groupAcrossSeeds', () => {
  it('averages each setting over seeds and keeps only settings every seed has', () => {
    const n = 100;
    const a: SeedRun = {
      seed: 1,
      points: [
        point('temperature', 0, outcomes(n, 60), constant(n, 10)),
        point('ts', 0.5, outcomes(n, 50), constant(n, 12)),
      ],
    };
    const b: SeedRun = { seed: 2, points: [point('temperature', 0, outcomes(n, 80), constant(n, 14))] };
    const groups = groupAcrossSeeds([a, b], OPTS);
    expect(groups).toHaveLength(1);
    const g = groups[0]!;
    expect(g.seeds).toEqual([1, 2]);
    expect(g.accuracy.estimate).toBeCloseTo(0.7, 12);
    expect(g.meanThinkingTokens.estimate).toBeCloseTo(12, 12);
    expect(g.accuracy.low).toBeLessThan(0.7);
    expect(g.accuracy.high).toBeGreaterThan(0.7);
    // Constant lengths within each seed: the bootstrap over problems has no spread in thinking.
    expect(g.meanThinkingTokens.high - g.meanThinkingTokens.low).toBeCloseTo(0, 12);
    expect(g.perSeedAccuracy).toEqual([0.6, 0.8]);
  });
});

describe('compareArms (two seed groups trained apart)', () => {
  const n = 40;
  const expectNear = (got: readonly (number | null)[], want: readonly number[]) => {
    expect(got).toHaveLength(want.length);
    got.forEach((v, i) => {
      expect(v!).toBeCloseTo(want[i]!, 9);
    });
  };
  /** One seed of an arm: greedy (T = 0) with `right` of n correct at `thinking` tokens each, and T = 0.6 in arm A only. */
  const seedOf = (seed: number, right: number, thinking: number, extra = false): SeedRun => ({
    seed,
    points: [
      point('temperature', 0, outcomes(n, right), constant(n, thinking)),
      ...(extra ? [point('temperature', 0.6, outcomes(n, right), constant(n, thinking))] : []),
    ],
  });

  it('A − B in accuracy and thinking per setting, paired by seed value; established when both intervals agree', () => {
    const a = { name: 'cot', runs: [seedOf(1, 30, 12, true), seedOf(2, 28, 10, true), seedOf(3, 32, 14, true)] };
    // B's seeds in another order: pairing is by seed, not position.
    const b = { name: 'answer', runs: [seedOf(3, 12, 0), seedOf(1, 10, 0), seedOf(2, 8, 0)] };
    const rows = compareArms(a, b, OPTS);
    // Only the setting both arms evaluated (T = 0.6 is A's alone).
    expect(rows.map((r) => r.id)).toEqual(['sft · untagged · temperature · T 0']);
    const [acc, thinking] = rows[0]!.estimates;
    expect(acc!.label).toBe('accuracy');
    expect(rows[0]!.comparison).toBe('cot − answer, the same 40 problems in each of 3 seeds');
    expectNear(acc!.perSeed, [50, 50, 50]); // (30 − 10), (28 − 8), (32 − 12) of 40, in points
    expect(acc!.interval!.estimate).toBeCloseTo(50, 10);
    expectNear(thinking!.perSeed, [12, 10, 14]);
    expect(thinking!.interval!.estimate).toBeCloseTo(12, 10);
    expect(rows[0]!.verdict).toBe('established');
    // The other way round: the same size, the other sign, still a difference.
    const back = compareArms(b, a, OPTS)[0]!;
    expect(back.estimates[0]!.interval!.estimate).toBeCloseTo(-50, 10);
    expect(back.verdict).toBe('established');
  });

  it('not established when the seeds disagree, even where the problem bootstrap alone would establish it', () => {
    // Per seed A − B: +25, +20, −10 points (of 40 problems). Mean +11.7: the bootstrap over problems, which holds
    // each seed's weights fixed, excludes 0; the spread of the three seeds' differences (t over seeds) does not.
    const a = { name: 'A', runs: [seedOf(1, 30, 5), seedOf(2, 28, 5), seedOf(3, 16, 5)] };
    const b = { name: 'B', runs: [seedOf(1, 20, 5), seedOf(2, 20, 5), seedOf(3, 20, 5)] };
    const [row] = compareArms(a, b, OPTS);
    const acc = row!.estimates[0]!;
    expectNear(acc.perSeed, [25, 20, -10]);
    expect(acc.interval!.low).toBeGreaterThan(0);
    expect(acc.acrossSeeds!.low).toBeLessThan(0);
    expect(row!.verdict).toBe('not established');
  });

  it('nothing to compare when the seeds differ, and a setting missing from a seed of one arm is left out', () => {
    const a = { name: 'A', runs: [seedOf(1, 30, 5), seedOf(2, 28, 5)] };
    expect(compareArms(a, { name: 'B', runs: [seedOf(1, 20, 5), seedOf(3, 20, 5)] }, OPTS)).toEqual([]);
    expect(compareArms(a, { name: 'B', runs: [seedOf(1, 20, 5)] }, OPTS)).toEqual([]);
    const gap = { name: 'B', runs: [seedOf(1, 20, 5), { seed: 2, points: [] }] };
    expect(compareArms(a, gap, OPTS)).toEqual([]);
  });
});
