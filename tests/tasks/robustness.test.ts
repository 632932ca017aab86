import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as ar from '../../src/tasks/arithmetic';
import { extractAnswer, extractThink, thinkingTokens } from '../../src/tasks/format';
import * as gp from '../../src/tasks/general_points';
import * as sk from '../../src/tasks/sokoban';
import type { VerifyResult } from '../../src/tasks/types';
import { createRng } from '../../src/util/rng';

const rng = createRng(1);
const arProblem = ar.generate(rng);
const gpProblem = gp.generate(rng);
const gp5Problem = gp.generate(rng, gp.DEFAULT_GENERAL_POINTS_CONFIG, { variant: 'five_cards' });
const skProblem = sk.generate(rng);
const skDiverse = sk.generate(rng, sk.DEFAULT_SOKOBAN_CONFIG, { variant: 'diverse' });
const gpDiverse = gp.generate(rng, gp.DEFAULT_GENERAL_POINTS_CONFIG, { variant: 'diverse' });

const verifiers: [string, (c: string) => VerifyResult][] = [
  ['arithmetic', (c) => ar.verify(arProblem, c)],
  ['general_points', (c) => gp.verify(gpProblem, c)],
  ['general_points/5', (c) => gp.verify(gp5Problem, c)],
  ['general_points/diverse', (c) => gp.verify(gpDiverse, c)],
  ['sokoban', (c) => sk.verify(skProblem, c)],
  ['sokoban/diverse', (c) => sk.verify(skDiverse, c)],
];

const MB = 1 << 20;
const hostile: string[] = [
  '',
  ' ',
  '<answer>',
  '</answer>',
  '<answer></answer>',
  '<think>',
  '<think><answer>24</answer>',
  `<answer>${'('.repeat(3 * MB)}</answer>`,
  `<answer>${'('.repeat(500)}1${')'.repeat(500)}</answer>`,
  `<answer>${'1+'.repeat(MB)}1</answer>`,
  `<answer>${'9'.repeat(2 * MB)}</answer>`,
  `${'<think>'.repeat(200_000)}`,
  `${'<answer>'.repeat(200_000)}`,
  `${'x'.repeat(4 * MB)}<answer>24</answer>`,
  '<answer>1/0</answer>',
  '<answer>(8/(3-3))*1</answer>',
  '<answer>((((8)</answer>',
  '<answer>8)))))</answer>',
  '<answer>99999999999999999999*99999999999999999999</answer>',
  '<answer>1e308*1e308</answer>',
  '<answer>NaN</answer>',
  '<answer>Infinity</answer>',
  '<answer>-0</answer>',
  '<answer>0x18</answer>',
  '<answer>constructor</answer>',
  '<answer>__proto__</answer>',
  '<answer>toString</answer>',
  '<answer>process.exit(1)</answer>',
  '<answer>require("fs").rmSync("/")</answer>',
  '<answer>(() => 24)()</answer>',
  '<answer>eval("24")</answer>',
  '<answer>24; while(true){}</answer>',
  '<answer>ＵＰ</answer>',
  '<answer>😀😀😀</answer>',
  '<answer>\u0000\uffff\ud800</answer>',
  '<answer>\u202eUp</answer>',
  '<answer>8÷(3−8÷3)×1</answer>',
  `<answer>${'a'.repeat(MB)}</answer>`,
  '<eos><answer>Up</answer>',
];

function timed(fn: () => VerifyResult): [VerifyResult, number] {
  const t0 = performance.now();
  const r = fn();
  return [r, performance.now() - t0];
}

function checkShape(r: VerifyResult): void {
  expect(typeof r.correct).toBe('boolean');
  expect(r.reward).toBe(r.correct ? 1 : 0);
  expect(typeof r.reason).toBe('string');
  expect(r.reason.length).toBeGreaterThan(0);
  expect(r.reason.length).toBeLessThan(300);
}

describe('verifiers on hostile input', () => {
  // Warm up the JIT so the timing bound measures the steady state.
  for (const [, v] of verifiers) for (let i = 0; i < 50; i++) v('<answer>1+2</answer>');

  it('hand-made hostile strings (incl. multi-megabyte): incorrect with a reason, never throw, < 50 ms', () => {
    for (const [, v] of verifiers) {
      for (const s of hostile) {
        const [r, ms] = timed(() => v(s));
        checkShape(r);
        expect(r.correct).toBe(false);
        expect(ms).toBeLessThan(50);
      }
      const [r] = timed(() => v(null as unknown as string));
      expect(r.correct).toBe(false);
    }
  });

  it('fuzz: arbitrary strings and answer-wrapped junk never throw and stay fast', () => {
    const junk = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.string({ unit: fc.constantFrom('(', ')', '1', '3', '8', '+', '-', '*', '/', ' ', '0'), maxLength: 200 }),
      fc.string({
        unit: fc.constantFrom('<answer>', '</answer>', '<think>', '</think>', '<eos>', 'Up', '2', '4'),
        maxLength: 40,
      }),
    );
    let slowest = 0;
    fc.assert(
      fc.property(junk, fc.boolean(), (body, wrap) => {
        const text = wrap ? `<answer>${body}</answer>` : body;
        for (const [, v] of verifiers) {
          const [r, ms] = timed(() => v(text));
          checkShape(r);
          slowest = Math.max(slowest, ms);
        }
        expect(() => extractAnswer(text)).not.toThrow();
        expect(() => extractThink(text)).not.toThrow();
        expect(thinkingTokens(text)).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 1500 },
    );
    expect(slowest).toBeLessThan(50);
  });

  it('random formulas over the right cards never make the verifier disagree with exact arithmetic', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), (seed) => {
        const r = createRng(seed);
        const vals = shuffleCopy(gpProblem.values, r);
        const ops = ['+', '-', '*', '/'];
        let text = String(vals[0]);
        for (let i = 1; i < vals.length; i++) text = `(${text}${ops[r.int(4)]}${vals[i]})`;
        const res = gp.verify(gpProblem, `<answer>${text}</answer>`);
        const e = gp.parseFormula(text);
        const v = gp.evaluate(e);
        expect(res.correct).toBe(v !== null && v.num === 24 && v.den === 1);
      }),
      { numRuns: 300 },
    );
  });
});

function shuffleCopy(xs: number[], r: ReturnType<typeof createRng>): number[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = r.int(i + 1);
    [out[i], out[j]] = [out[j] as number, out[i] as number];
  }
  return out;
}
