/**
 * The oracle frontier (src/train/oracle.ts): the pure logic on hand-made problems whose oracle is worked out by hand,
 * and computeOracle's rows, verification, progress and abort on a fake decoder that answers right exactly from a
 * known truncation point on (so the expected correctAt strings are known without a model).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderChartSvg, reportSeries } from '../../src/headless/report';
import { parseRunFile } from '../../src/runs/run_file';
import { type ArithmeticProblem, solve } from '../../src/tasks/arithmetic';
import { EOS_ID, encode, THINK_END_ID, THINK_START_ID } from '../../src/tasks/tokenizer';
import type { DecodeBackend } from '../../src/train/backend';
import { buildEvalSet } from '../../src/train/data';
import {
  byBudgetOf,
  computeOracle,
  distanceToFrontier,
  firstCorrect,
  frontierOf,
  type OracleProblem,
  oracleAccuracyAt,
  oracleTokensFor,
  summarizeOracle,
} from '../../src/train/oracle';
import { DEFAULT_RUN_CONFIG } from '../../src/train/run_config';

const P = (correctAt: string, ownCorrect: boolean, stepBoundaries: number[] = []): OracleProblem => ({
  ownThinkingTokens: correctAt.length - 1,
  ownCorrect,
  correctAt,
  stepBoundaries,
});

describe('oracle logic on hand-made traces', () => {
  // Four problems, L = 5, 3, 4, 2:
  //   A right from k = 2 on (own right): 3 tokens after correct.
  //   B right only at k = 1 (own wrong): thinking longer turned right → wrong.
  //   C never right.
  //   D right at k = 0, wrong at 1, right at 2 (own right, unstable).
  const problems = [P('001111', true, [2, 4]), P('0100', false), P('00000', false), P('101', true)];

  it('finds the shortest right stop, also among step boundaries only', () => {
    expect(problems.map((p) => firstCorrect(p))).toEqual([2, 1, null, 0]);
    expect(firstCorrect(problems[0]!, [0, 4, 5])).toBe(4);
    expect(() => firstCorrect({ ...P('01', true), correctAt: '0' })).toThrow(/L \+ 1/);
  });

  it('summarises against the own stop', () => {
    const { summary, byBudget } = summarizeOracle(problems);
    expect(summary.problems).toBe(4);
    expect(summary.ownAccuracy).toBe(0.5);
    expect(summary.ownMeanThinkingTokens).toBe((5 + 3 + 4 + 2) / 4);
    expect(summary.oracleAccuracy).toBe(0.75);
    expect(summary.oracleMeanThinkingTokens).toBe((2 + 1 + 0 + 0) / 4); // C stops at once
    expect(summary.accuracyWithoutThinking).toBe(0.25);
    expect(summary.meanTokensAfterCorrect).toBe((5 - 2 + (2 - 0)) / 2);
    expect(summary.fractionThinkingAfterCorrect).toBeCloseTo(5 / 14, 12);
    expect(summary.rightThenWrong).toBe(1);
    expect(summary.unstableRight).toBe(1);
    // Step oracle: A at 2 (a boundary), B's only right stop (1) is no candidate (0, L = 3), D at 0.
    expect(summary.stepsOracleAccuracy).toBe(0.5);
    expect(summary.stepsOracleMeanThinkingTokens).toBe((2 + 0 + 0 + 0) / 4);
    expect(byBudget).toEqual([0.25, 0.5, 0.75, 0.75, 0.75, 0.75]);
  });

  it('is drawn under the curves of the report chart: a band and a dashed line, with a legend entry', () => {
    const frontier = frontierOf([2, 1, null, 0]);
    const svg = renderChartSvg(reportSeries([{ name: 'r', points: [] }]), {
      title: 't',
      frontiers: [{ label: 'oracle frontier (SFT, greedy traces)', points: frontier }],
    });
    expect(svg).toContain('<g class="frontier">');
    expect(svg).toMatch(/<path class="line" d="M[^"]+" fill="none" stroke="#7f7f7f"[^>]*stroke-dasharray/);
    expect(svg).toContain('oracle frontier (SFT, greedy traces)</text>');
    expect(renderChartSvg(reportSeries([{ name: 'r', points: [] }]), { title: 't' })).not.toContain('frontier');
  });

  it('draws the Pareto frontier of per-problem stops and reads points against it', () => {
    const f = frontierOf([2, 1, null, 0]);
    expect(f).toEqual([
      { meanThinkingTokens: 0, accuracy: 0.25 },
      { meanThinkingTokens: 0.25, accuracy: 0.5 },
      { meanThinkingTokens: 0.75, accuracy: 0.75 },
    ]);
    expect(oracleAccuracyAt(f, 0)).toBe(0.25);
    expect(oracleAccuracyAt(f, 0.5)).toBeCloseTo(0.625, 12);
    expect(oracleAccuracyAt(f, 10)).toBe(0.75);
    expect(oracleTokensFor(f, 0.5)).toBe(0.25);
    expect(oracleTokensFor(f, 0.625)).toBeCloseTo(0.5, 12);
    expect(oracleTokensFor(f, 0.9)).toBeNull();
    expect(oracleTokensFor(f, 0.1)).toBe(0);
    // The own stop of these problems: accuracy 0.5 at 3.5 tokens; the oracle has 0.75 there, and needs 0.25 for 0.5.
    const d = distanceToFrontier(f, { meanThinkingTokens: 3.5, accuracy: 0.5 });
    expect(d.accuracyGap).toBeCloseTo(0.25, 12);
    expect(d.oracleTokens).toBe(0.25);
    // No problem solved at 0: the frontier starts at the origin. Nothing solved: one point.
    expect(frontierOf([3, null])).toEqual([
      { meanThinkingTokens: 0, accuracy: 0 },
      { meanThinkingTokens: 1.5, accuracy: 0.5 },
    ]);
    expect(frontierOf([null, null])).toEqual([{ meanThinkingTokens: 0, accuracy: 0 }]);
    expect(byBudgetOf([], 2)).toEqual([0, 0, 0]);
  });
});

describe('computeOracle on a fake decoder', () => {
  // The fake model: its own trace is `<think>` + "1+1=2;" × 3 + `</think>` + the right answer; after a forced
  // `</think>` it answers right iff at least `rightFrom(problem)` thinking tokens came before, else a wrong number.
  const evalSet = buildEvalSet(DEFAULT_RUN_CONFIG, { size: 5, variant: 'id', seed: 7 });
  const steps = encode('1+1=2;1+1=2;1+1=2');
  const L = steps.length;
  const rightFrom = (i: number) => [0, 3, 6, L, L + 1][i]!; // L + 1: never right
  const indexOf = new Map(evalSet.items.map((it, i) => [it.promptIds.join(','), i]));
  const answer = (p: ArithmeticProblem, right: boolean) => encode(`<answer>${solve(p) + (right ? 0 : 1)}</answer>`);
  let calls = 0;
  const fake: DecodeBackend & { rows: number } = {
    rows: 7,
    async generate(prompts, options) {
      calls++;
      expect(prompts.length).toBeLessThanOrEqual(7);
      return prompts.map((ids) => {
        const end = ids.lastIndexOf(THINK_END_ID);
        if (end < 0) {
          const i = indexOf.get(ids.join(','))!;
          const p = evalSet.items[i]!.problem as ArithmeticProblem;
          const tokens = [THINK_START_ID, ...steps, THINK_END_ID, ...answer(p, i !== 4), EOS_ID];
          return { tokens, logprobs: tokens.map(() => 0), finished: true };
        }
        expect(options.sampling.temperature).toBe(0);
        const start = ids.indexOf(THINK_START_ID);
        const k = end - start - 1;
        const i = [...indexOf.entries()].find(([key]) => ids.join(',').startsWith(`${key},`))![1];
        const p = evalSet.items[i]!.problem as ArithmeticProblem;
        const tokens = [...answer(p, k >= rightFrom(i)), EOS_ID];
        return { tokens, logprobs: tokens.map(() => 0), finished: true };
      });
    },
    destroy() {},
  };

  it('truncates at every thinking token, verifies each answer and summarises', async () => {
    const progress: [number, number][] = [];
    const r = await computeOracle(fake, evalSet, { onProgress: (d, t) => progress.push([d, t]), answerTokens: 12 });
    const expected = [0, 1, 2, 3, 4].map((i) =>
      Array.from({ length: L + 1 }, (_, k) => (k >= rightFrom(i) ? '1' : '0')).join(''),
    );
    expect(r.problems.map((p) => p.correctAt)).toEqual(expected);
    expect(r.problems.map((p) => p.ownCorrect)).toEqual([true, true, true, true, false]);
    expect(r.problems[0]!.stepBoundaries).toEqual([6, 12]);
    expect(r.summary.oracleAccuracy).toBe(0.8);
    expect(r.summary.oracleMeanThinkingTokens).toBe((0 + 3 + 6 + L + 0) / 5);
    expect(r.summary.meanTokensAfterCorrect).toBe((L + (L - 3) + (L - 6) + 0) / 4);
    expect(r.summary.rightThenWrong).toBe(0);
    // 5 own traces, then 5 × (L + 1) rows in batches of 7.
    const total = 5 + 5 * (L + 1);
    expect(progress[0]).toEqual([5, total]);
    expect(progress[progress.length - 1]).toEqual([total, total]);
    expect(calls).toBe(1 + Math.ceil((5 * (L + 1)) / 7));
  });

  it('stops between batches when aborted', async () => {
    const ctrl = new AbortController();
    const p = computeOracle(fake, evalSet, {
      onProgress: (d) => {
        if (d > 20) ctrl.abort(new Error('stopped by the test'));
      },
      signal: ctrl.signal,
    });
    await expect(p).rejects.toThrow('stopped by the test');
  });
});

describe('the run file', () => {
  it('carries the oracle and the new interventions, and files from before them still load', () => {
    const text = readFileSync('docs/measurements/oracle-software/oracle-arithmetic-software.stoptime.json', 'utf8');
    const { run } = parseRunFile(text);
    expect(run.oracle?.summary.problems).toBe(48);
    expect(run.oracle?.problems.every((p) => p.correctAt.length === p.ownThinkingTokens + 1)).toBe(true);
    expect(summarizeOracle(run.oracle!.problems).summary).toEqual(run.oracle!.summary);
    expect(new Set(run.evalPoints.map((p) => p.series))).toEqual(
      new Set(['temperature', 'ts', 'ts_logit', 'margin', 'cap']),
    );
    // An oracle whose correctAt does not match its length is refused.
    const bad = JSON.parse(text);
    bad.run.oracle.problems[0].correctAt += '1';
    expect(() => parseRunFile(JSON.stringify(bad))).toThrow(/correctAt/);
    // A file written before the oracle and the new rules existed.
    const old = parseRunFile(
      readFileSync('docs/measurements/experiment-stopping-arithmetic-h200.stoptime.json', 'utf8'),
    );
    expect(old.run.oracle).toBeUndefined();
    expect(old.run.evalPoints.length).toBeGreaterThan(0);
  });
});
