import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ArithmeticConfig,
  type ArithmeticProblem,
  CONCISE_STYLE,
  DEFAULT_ARITHMETIC_CONFIG,
  generate,
  maxSequenceTokens,
  problemKey,
  REVIEW_STYLE,
  renderPrompt,
  solve,
  verify,
  writeAnswerOnly,
  writeTrace,
} from '../../src/tasks/arithmetic';
import { extractThink, thinkingTokens, wrapTarget } from '../../src/tasks/format';
import { countTokens, encode } from '../../src/tasks/tokenizer';
import { createRng } from '../../src/util/rng';

const CONCISE: ArithmeticConfig = { ...DEFAULT_ARITHMETIC_CONFIG, trace: CONCISE_STYLE };
const p = (a: number, op: '+' | '-' | '*', b: number): ArithmeticProblem => ({ a, b, op, variant: 'id' });

describe('arithmetic: concise traces', () => {
  it('writes the documented digit-by-digit working', () => {
    const rng = createRng(0);
    expect(writeTrace(p(123, '+', 456), rng, CONCISE).think).toBe('3+6=9;2+5=7;1+4=5;=579');
    expect(writeTrace(p(758, '+', 67), rng, CONCISE).think).toBe('8+7=15;5+6+1=12;7+0+1=8;=825');
    expect(writeTrace(p(523, '-', 187), rng, CONCISE).think).toBe('13-7=6;12-8-1=3;5-1-1=3;=336');
    expect(writeTrace(p(187, '-', 523), rng, CONCISE).think).toBe('swap;13-7=6;12-8-1=3;5-1-1=3;=-336');
    expect(writeTrace(p(123, '*', 456), rng, CONCISE).think).toBe(
      '123*6=738;123*50=6150;123*400=49200;738+6150=6888;6888+49200=56088;=56088',
    );
    expect(writeTrace(p(99, '+', 1), rng, CONCISE).think).toBe('9+1=10;9+0+1=10;=100');
    expect(writeTrace(p(7, '*', 0), rng, CONCISE).think).toBe('7*0=0;=0');
  });

  it('concise traces are always correct and verify (property over seeds)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), (seed) => {
        const rng = createRng(seed);
        const prob = generate(rng, CONCISE);
        const w = writeTrace(prob, rng, CONCISE);
        expect(w.intendedCorrect).toBe(true);
        expect(w.answer).toBe(String(solve(prob)));
        expect(verify(prob, wrapTarget(w)).correct).toBe(true);
        expect(verify(prob, wrapTarget(writeAnswerOnly(prob))).correct).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

describe('arithmetic: distilled traces', () => {
  const N = 3000;
  const rng = createRng(12345);
  const rows = Array.from({ length: N }, () => {
    const prob = generate(rng);
    const w = writeTrace(prob, rng);
    const completion = wrapTarget(w);
    return { prob, w, completion, seq: 1 + countTokens(renderPrompt(prob)) + countTokens(completion) };
  });

  it('verify agrees with the intended correctness of every trace', () => {
    for (const r of rows) {
      const v = verify(r.prob, r.completion);
      expect(v.correct).toBe(r.w.intendedCorrect);
      expect(v.reward).toBe(r.w.intendedCorrect ? 1 : 0);
      if (!v.correct) expect(v.reason).toMatch(/^wrong-value/);
    }
  });

  it('contains some wrong traces, and wrong traces are longer on average', () => {
    const wrong = rows.filter((r) => !r.w.intendedCorrect);
    const right = rows.filter((r) => r.w.intendedCorrect);
    expect(wrong.length / N).toBeGreaterThan(0.01);
    expect(wrong.length / N).toBeLessThan(0.25);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const mw = mean(wrong.map((r) => thinkingTokens(r.completion)));
    const mr = mean(right.map((r) => thinkingTokens(r.completion)));
    expect(mw).toBeGreaterThan(1.3 * mr);
  });

  it('has variable verbosity: re-checks, restatements, false alarms and Wait corrections that fix a step', () => {
    const thinks = rows.map((r) => extractThink(r.completion) ?? '');
    expect(thinks.some((t) => t.includes('chk '))).toBe(true);
    expect(thinks.some((t) => t.includes('=?;'))).toBe(true);
    expect(thinks.some((t) => / ok;/.test(t))).toBe(true);
    // A caught slip: `<lhs>=<wrong>;Wait,<lhs>=<right>;` with different values, in a trace that ends correct.
    const fix = /(^|;)([0-9+*-]+)=(\d+);Wait,\2=(\d+);/;
    const fixedAndRight = rows.filter((r) => {
      const m = fix.exec(extractThink(r.completion) ?? '');
      return m !== null && m[3] !== m[4] && r.w.intendedCorrect;
    });
    expect(fixedAndRight.length).toBeGreaterThan(10);
    const lengths = rows.map((r) => thinkingTokens(r.completion));
    expect(Math.max(...lengths)).toBeGreaterThan(2.5 * Math.min(...lengths.filter((x) => x > 20)));
  });

  it('fits the documented sequence bound (<= 256 for the 3-digit default)', () => {
    const bound = maxSequenceTokens(DEFAULT_ARITHMETIC_CONFIG);
    expect(bound).toBe(221);
    expect(bound).toBeLessThanOrEqual(256);
    const longest = Math.max(...rows.map((r) => r.seq));
    expect(longest).toBeLessThanOrEqual(bound);
    expect(longest).toBeGreaterThan(150);
    for (const r of rows.slice(0, 200)) expect(() => encode(renderPrompt(r.prob, 'long') + r.completion)).not.toThrow();
  });
});

describe('arithmetic: bounds and length/correctness coupling', () => {
  it('the sequence bound holds under a slip-heavy style, where slipped products gain a digit', () => {
    // Uncaught slips on the largest partial product can carry the written result to 2L+1 digits (e.g. 1008001 for
    // 999*999); the guaranteed bound must cover that, for any trace style.
    const stress: ArithmeticConfig = {
      ...DEFAULT_ARITHMETIC_CONFIG,
      trace: { ...DEFAULT_ARITHMETIC_CONFIG.trace, slipProb: 0.3, catchProb: 0, rambleMax: 6 },
    };
    const bound = maxSequenceTokens(stress);
    const rng = createRng(5);
    let longest = 0;
    let longestAnswer = 0;
    for (const [a, b] of [
      [999, 999],
      [998, 997],
      [989, 999],
    ]) {
      for (let i = 0; i < 4000; i++) {
        const w = writeTrace(p(a as number, '*', b as number), rng, stress);
        longest = Math.max(
          longest,
          countTokens(renderPrompt(p(a as number, '*', b as number), 'long') + wrapTarget(w)),
        );
        longestAnswer = Math.max(longestAnswer, w.answer.length);
      }
    }
    expect(longestAnswer).toBe(7);
    expect(longest).toBeLessThanOrEqual(bound);
  });

  it('for the same question, wrong traces are longer than right ones (not only across ops)', () => {
    // The pooled comparison above could come from a confound (multiplication is both longer and more error-prone);
    // here the problem is fixed, so only the writer's length/slip coupling can make wrong traces longer.
    const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
    for (const prob of [p(987, '*', 654), p(123, '+', 989), p(502, '-', 397)]) {
      const rng = createRng(prob.a);
      const right: number[] = [];
      const wrong: number[] = [];
      for (let i = 0; i < 4000; i++) {
        const w = writeTrace(prob, rng);
        (w.intendedCorrect ? right : wrong).push(thinkingTokens(wrapTarget(w)));
      }
      expect(wrong.length).toBeGreaterThan(40);
      expect(mean(wrong)).toBeGreaterThan(1.1 * mean(right));
      // Long traces go with wrong answers: the error rate in the longest quarter exceeds that of the shortest quarter.
      const all = [...right.map((n) => [n, 0]), ...wrong.map((n) => [n, 1])].sort(
        (x, y) => (x[0] as number) - (y[0] as number),
      );
      const q = Math.floor(all.length / 4);
      const errRate = (rows: number[][]) => mean(rows.map((r) => r[1] as number));
      expect(errRate(all.slice(-q))).toBeGreaterThan(2 * errRate(all.slice(0, q)));
    }
  });

  it('concise style never rambles: its trace length is a function of the problem alone', () => {
    const rng = createRng(17);
    for (let i = 0; i < 100; i++) {
      const prob = generate(rng, CONCISE);
      const first = writeTrace(prob, createRng(i), CONCISE).think;
      expect(writeTrace(prob, createRng(i + 1000), CONCISE).think).toBe(first);
      expect(first).not.toMatch(/Wait|chk|so |\?/);
    }
  });
});

describe('arithmetic: variants, keys, determinism', () => {
  it('each variant changes what it claims', () => {
    const rng = createRng(5);
    for (let i = 0; i < 200; i++) {
      expect(generate(rng, DEFAULT_ARITHMETIC_CONFIG, { variant: 'add' }).op).toBe('+');
      expect(generate(rng, DEFAULT_ARITHMETIC_CONFIG, { variant: 'sub' }).op).toBe('-');
      expect(generate(rng, DEFAULT_ARITHMETIC_CONFIG, { variant: 'mul' }).op).toBe('*');
      const m = generate(rng, DEFAULT_ARITHMETIC_CONFIG, { variant: 'more_digits' });
      expect(String(m.a)).toHaveLength(4);
      expect(String(m.b)).toHaveLength(4);
      const d = generate(rng);
      expect(String(d.a).length).toBeLessThanOrEqual(3);
    }
  });

  it('single-op variants change only the operator; more_digits only the digit count', () => {
    for (let seed = 0; seed < 100; seed++) {
      const base = generate(createRng(seed));
      for (const [variant, op] of [
        ['add', '+'],
        ['sub', '-'],
        ['mul', '*'],
      ] as const) {
        const v = generate(createRng(seed), DEFAULT_ARITHMETIC_CONFIG, { variant });
        expect(v).toEqual({ ...base, op, variant });
        expect(renderPrompt(v)).toBe(`${base.a}${op}${base.b}=`);
      }
      const more = generate(createRng(seed), DEFAULT_ARITHMETIC_CONFIG, { variant: 'more_digits' });
      expect(more.op).toBe(base.op);
    }
  });

  it('problem keys identify commuted questions, but not a-b with b-a', () => {
    expect(problemKey(p(123, '+', 45))).toBe(problemKey(p(45, '+', 123)));
    expect(problemKey(p(12, '*', 7))).toBe(problemKey(p(7, '*', 12)));
    expect(problemKey(p(12, '-', 7))).not.toBe(problemKey(p(7, '-', 12)));
    expect(problemKey(p(12, '+', 7))).not.toBe(problemKey(p(12, '*', 7)));
    expect(problemKey(p(1, '+', 23))).not.toBe(problemKey(p(12, '+', 3)));
  });

  it('same seed, same data; accept filter is honoured', () => {
    const a = Array.from({ length: 50 }, (_, i) => {
      const r = createRng(i);
      const prob = generate(r);
      return [prob, writeTrace(prob, r)];
    });
    const b = Array.from({ length: 50 }, (_, i) => {
      const r = createRng(i);
      const prob = generate(r);
      return [prob, writeTrace(prob, r)];
    });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    const rng = createRng(3);
    for (let i = 0; i < 50; i++) {
      expect(
        problemKey(generate(rng, DEFAULT_ARITHMETIC_CONFIG, { accept: (k) => k.includes('+') })).includes('+'),
      ).toBe(true);
    }
  });

  it('verifier rejects malformed answers with a reason', () => {
    const prob = p(12, '+', 30);
    expect(verify(prob, '<answer>42</answer>').correct).toBe(true);
    expect(verify(prob, '<think>x</think><answer> 42 </answer><eos>').correct).toBe(true);
    expect(verify(prob, '<answer>41</answer>').reason).toBe('wrong-value: got 41 want 42');
    expect(verify(prob, '<answer>4 2</answer>').reason).toBe('not-an-integer');
    expect(verify(prob, '<answer>42.0</answer>').reason).toBe('not-an-integer');
    expect(verify(prob, '42').reason).toBe('no-answer');
    expect(verify(prob, `<answer>${'9'.repeat(100)}</answer>`).reason).toBe('too-long');
  });
});

describe("arithmetic: the 'review' style, where stopping before the review costs accuracy", () => {
  const config: ArithmeticConfig = {
    ...DEFAULT_ARITHMETIC_CONFIG,
    maxDigits: 2,
    maxThinkTokens: 90,
    trace: REVIEW_STYLE,
  };
  const rng = createRng(31);
  const rows = Array.from({ length: 4000 }, () => {
    const prob = generate(rng, config);
    const w = writeTrace(prob, rng, config);
    const think = w.think ?? '';
    const at = think.indexOf('Wait,chk;');
    // The answer a model would give if it stopped before the review: the first pass's result.
    const firstPass = at < 0 ? w.answer : /=(-?\d+);$/.exec(think.slice(0, at))?.[1];
    return { prob, w, think, reviewed: at >= 0, firstPass };
  });

  it('never catches a slip inline, and reviews about half the traces', () => {
    // An inline catch is `a+b=w;Wait,a+b=c;` (ends in a number); a false alarm `Wait,a+b=c ok;` ends in 'ok'.
    expect(rows.filter((r) => /Wait,\d[^;]*\d(;|$)/.test(r.think))).toEqual([]);
    expect(rows.some((r) => /Wait,\d[^;]* ok/.test(r.think))).toBe(true);
    const reviewed = rows.filter((r) => r.reviewed).length / rows.length;
    expect(reviewed).toBeGreaterThan(0.45);
    expect(reviewed).toBeLessThan(0.55);
  });

  it('a review redoes the working and its result is the answer; it fixes most slipped first passes', () => {
    for (const r of rows.filter((x) => x.reviewed)) {
      const review = r.think.slice(r.think.indexOf('Wait,chk;') + 'Wait,chk;'.length);
      expect(review.startsWith('swap;') || /^\d/.test(review), review).toBe(true);
      expect(review).toMatch(new RegExp(`=${r.w.answer}(;|$)`));
    }
    const slipped = rows.filter((r) => r.reviewed && r.firstPass !== String(solve(r.prob)));
    expect(slipped.length).toBeGreaterThan(40);
    const fixed = slipped.filter((r) => r.w.intendedCorrect).length / slipped.length;
    expect(fixed).toBeGreaterThan(0.8);
    expect(fixed).toBeLessThan(0.97);
  });

  it('stopping before the review loses accuracy that the full trace has', () => {
    const full = rows.filter((r) => r.w.intendedCorrect).length;
    const stoppedEarly = rows.filter((r) => r.firstPass === String(solve(r.prob))).length;
    expect(full - stoppedEarly).toBeGreaterThan(40);
    for (const r of rows) expect(verify(r.prob, `<answer>${r.w.answer}</answer>`).correct).toBe(r.w.intendedCorrect);
  });

  it('fits its sequence bound', () => {
    const bound = maxSequenceTokens(config);
    const longest = Math.max(...rows.map((r) => countTokens(renderPrompt(r.prob, 'long') + wrapTarget(r.w))));
    expect(longest).toBeLessThanOrEqual(bound);
    expect(bound).toBeLessThanOrEqual(256);
  });
});
