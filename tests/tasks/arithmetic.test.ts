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
    expect(bound).toBe(220);
    expect(bound).toBeLessThanOrEqual(256);
    const longest = Math.max(...rows.map((r) => r.seq));
    expect(longest).toBeLessThanOrEqual(bound);
    expect(longest).toBeGreaterThan(150);
    for (const r of rows.slice(0, 200)) expect(() => encode(renderPrompt(r.prob, 'long') + r.completion)).not.toThrow();
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
