import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { extractAnswer, extractThink, wrapTarget } from '../../src/tasks/format';
import {
  cardValue,
  DEFAULT_GENERAL_POINTS_CONFIG,
  DIVERSE_FACE_VALUES,
  type Expr,
  evaluate,
  type FaceRule,
  faceValuesText,
  formatExpr,
  GP_DIVERSE_ID_SHARE,
  GP_VARIANT_SPECS,
  GP_VARIANTS,
  type GpProblem,
  generate,
  isSolvable,
  leaves,
  MAX_FORMULA_CHARS,
  parseFormula,
  problemKey,
  promptRuleOf,
  RANKS,
  renderPrompt,
  solve,
  verify,
  writeAnswerOnly,
  writeTrace,
} from '../../src/tasks/general_points';
import { countTokens, decode, encode } from '../../src/tasks/tokenizer';
import { createRng, type Rng } from '../../src/util/rng';

const hand = (values: number[], target = 24): GpProblem => ({
  cards: values.map(String),
  values,
  target,
  variant: 'id',
  solution: '',
});

/** Independent exact evaluation with bigint fractions (not the module's rational code). */
function bigEval(e: Expr): [bigint, bigint] | null {
  if (e.kind === 'num') return [BigInt(e.value), 1n];
  const l = bigEval(e.left);
  const r = bigEval(e.right);
  if (!l || !r) return null;
  const [a, b] = l;
  const [c, d] = r;
  if (e.op === '+') return [a * d + c * b, b * d];
  if (e.op === '-') return [a * d - c * b, b * d];
  if (e.op === '*') return [a * c, b * d];
  if (c === 0n) return null;
  return [a * d, b * c];
}
const equals24 = (e: Expr, t = 24): boolean => {
  const v = bigEval(e);
  return v !== null && v[0] === BigInt(t) * v[1];
};

function randomTree(rng: Rng, values: number[]): Expr {
  let items: Expr[] = values.map((value) => ({ kind: 'num', value }));
  const ops = ['+', '-', '*', '/'] as const;
  while (items.length > 1) {
    const i = rng.int(items.length);
    const left = items.splice(i, 1)[0] as Expr;
    const j = rng.int(items.length);
    const right = items.splice(j, 1)[0] as Expr;
    items = [...items, { kind: 'op', op: ops[rng.int(4)] as (typeof ops)[number], left, right }];
  }
  return items[0] as Expr;
}

describe('general points: solver', () => {
  it('solves known hands and rejects unsolvable ones', () => {
    for (const values of [
      [4, 7, 8, 8],
      [3, 3, 8, 8],
      [1, 5, 5, 5],
      [10, 10, 4, 4],
    ]) {
      const e = solve(values);
      expect(e).not.toBeNull();
      expect(equals24(e as Expr)).toBe(true);
      expect(leaves(e as Expr).sort((a, b) => a - b)).toEqual([...values].sort((a, b) => a - b));
    }
    expect(solve([1, 1, 1, 1])).toBeNull();
    expect(isSolvable([1, 1, 1, 2])).toBe(false);
    expect(isSolvable([3, 3, 8, 8])).toBe(true); // needs a fraction: 8/(3-8/3)
    expect(isSolvable([1, 2, 3, 4, 5], 24)).toBe(true);
  });

  it('solver and verifier agree on random hands and random formulas (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), (seed) => {
        const rng = createRng(seed);
        const values = Array.from({ length: 4 }, () => 1 + rng.int(13));
        const prob = hand(values);
        const e = solve(values);
        if (e) {
          const v = verify(prob, `<answer>${formatExpr(e)}</answer>`);
          expect(v.correct).toBe(true);
        }
        for (let k = 0; k < 5; k++) {
          const tree = randomTree(rng, values);
          const text = formatExpr(tree);
          const v = verify(prob, `<answer>${text}</answer>`);
          expect(v.correct).toBe(equals24(tree));
          if (v.correct) expect(e).not.toBeNull();
          // formatExpr keeps the meaning: parse gives the same leaves and value.
          const back = parseFormula(text);
          expect(leaves(back)).toEqual(leaves(tree));
          expect(JSON.stringify(bigEval(back)?.map(String))).toBe(JSON.stringify(bigEval(tree)?.map(String)));
        }
      }),
      { numRuns: 300 },
    );
  });
});

/** Independent reference solver (bigint fractions, its own recursion): can `values` make `target`? */
function refSolvable(values: [bigint, bigint][], target: bigint): boolean {
  if (values.length === 1) {
    const [n, d] = values[0] as [bigint, bigint];
    return n === target * d;
  }
  for (let i = 0; i < values.length; i++) {
    for (let j = 0; j < values.length; j++) {
      if (i === j) continue;
      const [a, b] = values[i] as [bigint, bigint];
      const [c, d] = values[j] as [bigint, bigint];
      const rest = values.filter((_, k) => k !== i && k !== j);
      const results: [bigint, bigint][] = [
        [a * d + c * b, b * d],
        [a * d - c * b, b * d],
        [a * c, b * d],
      ];
      if (c !== 0n) results.push(c < 0n ? [-a * d, -b * c] : [a * d, b * c]);
      for (const r of results) if (refSolvable([...rest, r], target)) return true;
    }
  }
  return false;
}

describe('general points: solver completeness', () => {
  it('finds every solvable 4-card hand over 1..13: 1362 of the 1820 multisets (the published count)', () => {
    const memo = new Map();
    let total = 0;
    let solvable = 0;
    for (let a = 1; a <= 13; a++)
      for (let b = a; b <= 13; b++)
        for (let c = b; c <= 13; c++)
          for (let d = c; d <= 13; d++) {
            total++;
            if (isSolvable([a, b, c, d], 24, memo)) solvable++;
          }
    expect(total).toBe(1820);
    expect(solvable).toBe(1362);
  });

  it('agrees with an independent reference solver on random 4- and 5-card hands and other targets', () => {
    const rng = createRng(404);
    for (let i = 0; i < 120; i++) {
      const n = i % 3 === 0 ? 5 : 4;
      const values = Array.from({ length: n }, () => 1 + rng.int(19));
      const target = i % 4 === 0 ? 1 + rng.int(60) : 24;
      const ref = refSolvable(
        values.map((v) => [BigInt(v), 1n]),
        BigInt(target),
      );
      expect(isSolvable(values, target)).toBe(ref);
      const e = solve(values, target);
      expect(e !== null).toBe(ref);
      if (e) expect(equals24(e, target)).toBe(true);
    }
  });
});

describe('general points: generation and traces', () => {
  it('every generated hand is solvable under the verifier rule and every trace verifies (all variants)', () => {
    const rng = createRng(99);
    for (const variant of GP_VARIANTS) {
      let longest = 0;
      for (let i = 0; i < 60; i++) {
        const prob = generate(rng, DEFAULT_GENERAL_POINTS_CONFIG, { variant });
        expect(isSolvable(prob.values, prob.target)).toBe(true);
        const w = writeTrace(prob, rng);
        const target = wrapTarget(w);
        expect(verify(prob, target)).toMatchObject({ correct: true, reward: 1, reason: 'ok' });
        expect(verify(prob, wrapTarget(writeAnswerOnly(prob))).correct).toBe(true);
        const seq = 1 + countTokens(renderPrompt(prob)) + countTokens(target);
        longest = Math.max(longest, seq);
        expect(() => encode(renderPrompt(prob, 'short') + target)).not.toThrow();
      }
      expect(longest).toBeLessThanOrEqual(DEFAULT_GENERAL_POINTS_CONFIG.maxSequenceTokens);
    }
  });

  it('the trace is a true search: dead ends cannot reach the target, the path steps are exact', () => {
    const rng = createRng(7);
    let deadEndsSeen = 0;
    const parseRat = (s: string): number => {
      const [n, d] = s.split('/');
      return Number(n) / Number(d ?? '1');
    };
    for (let i = 0; i < 150; i++) {
      const prob = generate(rng);
      const completion = wrapTarget(writeTrace(prob, rng));
      const think = extractThink(completion) as string;
      const parts = think.split(';');
      // With face cards the trace first restates their values (J=Q=K=10 here), each face once.
      const faces = [...new Set(prob.cards.filter((c) => c === 'J' || c === 'Q' || c === 'K'))];
      if (faces.length > 0) expect(parts.shift()).toBe(faces.map((c) => `${c}=10`).join(','));
      else expect(faceValuesText(prob)).toBe('');
      expect((parts[0] as string).split(',').map(Number).sort()).toEqual([...prob.values].sort());
      // The trace ends with the formula it found: the answer, an exact 24 over the hand's values.
      const found = parseFormula((parts.at(-1) as string).replace(/^ok /, ''));
      expect(parts.at(-1)).toBe(`ok ${extractAnswer(completion)}`);
      expect(equals24(found)).toBe(true);
      expect(leaves(found).sort()).toEqual([...prob.values].sort());
      for (const part of parts.slice(1, -1)) {
        const [step, rest] = part.replace(/ no$/, '').split(':') as [string, string];
        const restValues = rest.split(',');
        if (part.endsWith(' no')) {
          deadEndsSeen++;
          // Dead end: the remaining numbers can't make 24 (only integer rests can be re-checked via isSolvable).
          if (restValues.every((v) => !v.includes('/'))) expect(isSolvable(restValues.map(Number))).toBe(false);
        }
        expect(step).toMatch(/=/);
      }
      const last = (parts.at(-2) as string).split(':');
      expect(parseRat(last[1] as string)).toBe(24);
    }
    expect(deadEndsSeen).toBeGreaterThan(50);
  });

  it('prints default-config lengths within 256 tokens', () => {
    const rng = createRng(2024);
    let longest = 0;
    let five = 0;
    for (let i = 0; i < 400; i++) {
      const prob = generate(rng);
      longest = Math.max(longest, 1 + countTokens(renderPrompt(prob)) + countTokens(wrapTarget(writeTrace(prob, rng))));
      const p5 = generate(rng, DEFAULT_GENERAL_POINTS_CONFIG, { variant: 'five_cards' });
      five = Math.max(five, 1 + countTokens(renderPrompt(p5)) + countTokens(wrapTarget(writeTrace(p5, rng))));
    }
    expect(longest).toBeLessThanOrEqual(256);
    expect(five).toBeLessThanOrEqual(256);
    expect(longest).toBeGreaterThan(80);
  });
});

describe('general points: variants', () => {
  const rng = createRng(31);
  const gen = (variant: (typeof GP_VARIANTS)[number]) =>
    Array.from({ length: 80 }, () => generate(rng, DEFAULT_GENERAL_POINTS_CONFIG, { variant }));
  const isFace = (c: string) => c === 'J' || c === 'Q' || c === 'K';

  it('in distribution: 4 cards from A..K, J/Q/K = 10, rule stated', () => {
    for (const prob of gen('id')) {
      expect(prob.cards).toHaveLength(4);
      for (const c of prob.cards) expect(RANKS).toContain(c);
      prob.cards.forEach((c, i) => {
        expect(prob.values[i]).toBe(isFace(c) ? 10 : c === 'A' ? 1 : Number(c));
      });
      expect(renderPrompt(prob)).toBe(`cards ${prob.cards.join(',')};A=1,J=Q=K=10;target 24:`);
    }
  });

  it('face-card variants change only the face values, and hands contain a face card', () => {
    const cases = [
      ['face_11_12_13', { J: 11, Q: 12, K: 13 }, 'A=1,J=11,Q=12,K=13'],
      ['face_5', { J: 5, Q: 5, K: 5 }, 'A=1,J=Q=K=5'],
      ['face_7', { J: 7, Q: 7, K: 7 }, 'A=1,J=Q=K=7'],
      ['face_12', { J: 12, Q: 12, K: 12 }, 'A=1,J=Q=K=12'],
    ] as const;
    for (const [variant, rule, text] of cases) {
      for (const prob of gen(variant)) {
        expect(prob.cards.some(isFace)).toBe(true);
        expect(prob.cards).toHaveLength(4);
        prob.cards.forEach((c, i) => {
          const want = isFace(c) ? rule[c as 'J' | 'Q' | 'K'] : c === 'A' ? 1 : Number(c);
          expect(prob.values[i]).toBe(want);
        });
        expect(renderPrompt(prob)).toContain(text);
      }
    }
  });

  it('high_card has exactly one card 14..19; five_cards has five cards', () => {
    for (const prob of gen('high_card')) {
      const high = prob.cards.filter((c) => !RANKS.includes(c));
      expect(high).toHaveLength(1);
      expect(Number(high[0])).toBeGreaterThanOrEqual(14);
      expect(Number(high[0])).toBeLessThanOrEqual(19);
    }
    for (const prob of gen('five_cards')) {
      expect(prob.cards).toHaveLength(5);
      expect(renderPrompt(prob)).toContain('A=1,J=Q=K=10');
    }
  });

  it('fake_face: its prompt is word for word the face_11_12_13 prompt; only the verifier values differ', () => {
    for (const prob of gen('fake_face')) {
      const honest: GpProblem = {
        ...prob,
        variant: 'face_11_12_13',
        values: prob.cards.map((c) => cardValue(c, GP_VARIANT_SPECS.face_11_12_13.verifierRule as FaceRule)),
      };
      expect(renderPrompt(prob, 'long')).toBe(renderPrompt(honest, 'long'));
      prob.cards.forEach((c, i) => {
        if (isFace(c)) expect(prob.values[i]).not.toBe(honest.values[i]);
        else expect(prob.values[i]).toBe(honest.values[i]);
      });
    }
  });

  it('fake_face: the prompt states J=11,Q=12,K=13 but the verifier counts faces as 10', () => {
    for (const prob of gen('fake_face')) {
      expect(renderPrompt(prob)).toContain('A=1,J=11,Q=12,K=13');
      prob.cards.forEach((c, i) => {
        if (isFace(c)) expect(prob.values[i]).toBe(10);
      });
      expect(verify(prob, `<answer>${prob.solution}</answer>`).correct).toBe(true);
      // The same hand read with the prompt's rule: a solution under 11/12/13 is rejected (wrong cards).
      const promptValues = prob.cards.map((c) =>
        c === 'J' ? 11 : c === 'Q' ? 12 : c === 'K' ? 13 : c === 'A' ? 1 : Number(c),
      );
      const e = solve(promptValues);
      if (e) expect(verify(prob, `<answer>${formatExpr(e)}</answer>`).reason).toMatch(/^wrong-cards/);
    }
  });

  it('keys are the value multiset: card order and J/Q/K-vs-10 spelling do not matter, the rule does', () => {
    const mk = (cards: string[], variant: Exclude<GpProblem['variant'], 'diverse'> = 'id'): GpProblem => {
      const rule = GP_VARIANT_SPECS[variant].verifierRule as FaceRule;
      return { cards, values: cards.map((c) => cardValue(c, rule)), target: 24, variant, solution: '' };
    };
    expect(problemKey(mk(['4', '3', '2', 'A']))).toBe(problemKey(mk(['A', '2', '3', '4'])));
    // Same stated question under J=Q=K=10: one problem, so it cannot be split between train and eval.
    expect(problemKey(mk(['J', '3', '4', '6']))).toBe(problemKey(mk(['10', '3', '4', '6'])));
    expect(problemKey(mk(['Q', 'K', '4', '6']))).toBe(problemKey(mk(['10', 'J', '4', '6'])));
    expect(problemKey(mk(['K', '3', '4', '6'], 'face_5'))).toBe(problemKey(mk(['5', '3', '4', '6'])));
    // The fake variant's answers are those of the in-distribution hand with the same values.
    expect(problemKey(mk(['K', '3', '4', '6'], 'fake_face'))).toBe(problemKey(mk(['10', '3', '4', '6'])));
    // Different values are different problems, even with the same cards.
    expect(problemKey(mk(['J', '3', '4', '6'], 'face_5'))).not.toBe(problemKey(mk(['J', '3', '4', '6'])));
    expect(problemKey(mk(['8', '3', '4', '6']))).not.toBe(problemKey({ ...mk(['8', '3', '4', '6']), target: 25 }));
    const a = Array.from({ length: 20 }, (_, i) => generate(createRng(i)));
    const b = Array.from({ length: 20 }, (_, i) => generate(createRng(i)));
    expect(a).toEqual(b);
  });
});

describe('general points: diverse rules', () => {
  const isFace = (c: string) => c === 'J' || c === 'Q' || c === 'K';
  const ruleKey = (r: FaceRule) => `${r.J},${r.Q},${r.K}`;
  // Every rule another variant states or applies: a diverse rule must be none of them, nor share a face value.
  const evalRules = GP_VARIANTS.filter((v) => v !== 'diverse').flatMap((v) => {
    const spec = GP_VARIANT_SPECS[v];
    return [spec.promptRule, spec.verifierRule] as FaceRule[];
  });
  const evalFaceValues = new Set(evalRules.flatMap((r) => [r.J, r.Q, r.K]));
  const rng = createRng(57);
  const probs = Array.from({ length: 300 }, () => generate(rng, DEFAULT_GENERAL_POINTS_CONFIG, { variant: 'diverse' }));

  const isTrainingRule = (r: FaceRule | undefined) => r !== undefined && r.J === 10 && r.Q === 10 && r.K === 10;
  // Problems stating a pool rule (the others state the training rule J=Q=K=10).
  const poolProbs = probs.filter((p) => !isTrainingRule(p.rule));

  it('each problem carries the training rule (a fifth) or a pool rule that no other variant uses, half uniform and half distinct', () => {
    expect(GP_VARIANT_SPECS.diverse.promptRule).toBeNull();
    expect(evalRules.length).toBeGreaterThanOrEqual(14);
    for (const v of DIVERSE_FACE_VALUES) expect(evalFaceValues.has(v)).toBe(false);
    // Binomial(300, 0.2): mean 60, sd 6.9; the bounds are 4 sd away.
    expect(GP_DIVERSE_ID_SHARE).toBe(0.2);
    const training = probs.length - poolProbs.length;
    expect(training).toBeGreaterThan(32);
    expect(training).toBeLessThan(88);
    for (const prob of probs) expect(prob.rule).toBeDefined();
    const seen = new Set<string>();
    let uniform = 0;
    for (const prob of poolProbs) {
      const rule = prob.rule as FaceRule;
      for (const v of [rule.J, rule.Q, rule.K]) {
        expect(DIVERSE_FACE_VALUES).toContain(v);
        expect(evalFaceValues.has(v)).toBe(false);
      }
      expect(evalRules.map(ruleKey)).not.toContain(ruleKey(rule));
      const distinct = new Set([rule.J, rule.Q, rule.K]).size;
      expect([1, 3]).toContain(distinct);
      if (distinct === 1) uniform++;
      seen.add(ruleKey(rule));
    }
    // Binomial(n ≈ 240, 1/2): mean n/2, sd ≈ 7.7; the bounds are about 4 sd away.
    expect(uniform).toBeGreaterThan(poolProbs.length / 2 - 32);
    expect(uniform).toBeLessThan(poolProbs.length / 2 + 32);
    // 6 uniform + 120 ordered distinct rules: 240 draws show many of them, every pool value among them.
    expect(seen.size).toBeGreaterThan(50);
    const valuesSeen = new Set(poolProbs.flatMap((p) => [p.rule?.J, p.rule?.Q, p.rule?.K]));
    expect([...valuesSeen].sort()).toEqual([...DIVERSE_FACE_VALUES].sort());
  });

  it('the prompt states the rule, hands hold a face card, values follow the rule, and decode(encode(x)) = x', () => {
    for (const prob of probs) {
      const r = prob.rule as FaceRule;
      const text = r.J === r.Q && r.Q === r.K ? `A=1,J=Q=K=${r.J}` : `A=1,J=${r.J},Q=${r.Q},K=${r.K}`;
      expect(renderPrompt(prob)).toBe(`cards ${prob.cards.join(',')};${text};target 24:`);
      expect(promptRuleOf(prob)).toEqual(r);
      expect(prob.cards).toHaveLength(4);
      expect(prob.cards.some(isFace)).toBe(true);
      prob.cards.forEach((c, i) => {
        expect(RANKS).toContain(c);
        expect(prob.values[i]).toBe(isFace(c) ? r[c as 'J' | 'Q' | 'K'] : c === 'A' ? 1 : Number(c));
      });
      const full = renderPrompt(prob, 'medium') + wrapTarget(writeTrace(prob, rng));
      expect(decode(encode(full))).toBe(full);
    }
  });

  it('written answers verify under the stated rule and are rejected when faces count as 10', () => {
    for (const prob of probs) {
      if (isTrainingRule(prob.rule)) {
        expect(verify(prob, wrapTarget(writeTrace(prob, rng)))).toMatchObject({ correct: true, reason: 'ok' });
        continue;
      }
      const target = wrapTarget(writeTrace(prob, rng));
      expect(verify(prob, target)).toMatchObject({ correct: true, reason: 'ok' });
      expect(verify(prob, wrapTarget(writeAnswerOnly(prob))).correct).toBe(true);
      // The same cards read with J=Q=K=10 (as in training): the answer uses the stated face values, so it fails.
      const asTen: GpProblem = {
        ...prob,
        variant: 'id',
        values: prob.cards.map((c) => cardValue(c, GP_VARIANT_SPECS.id.verifierRule as FaceRule)),
      };
      expect(verify(asTen, target).reason).toMatch(/^wrong-cards/);
      // And a solution found under J=Q=K=10, when there is one, fails under the stated rule.
      const e = solve(asTen.values);
      if (e) expect(verify(prob, `<answer>${formatExpr(e)}</answer>`).reason).toMatch(/^wrong-cards/);
    }
  });

  it('is deterministic per seed, and a problem without its rule is refused with a clear error', () => {
    const a = Array.from({ length: 30 }, (_, i) =>
      generate(createRng(i), DEFAULT_GENERAL_POINTS_CONFIG, { variant: 'diverse' }),
    );
    const b = Array.from({ length: 30 }, (_, i) =>
      generate(createRng(i), DEFAULT_GENERAL_POINTS_CONFIG, { variant: 'diverse' }),
    );
    expect(a).toEqual(b);
    expect(new Set(a.map((p) => renderPrompt(p))).size).toBeGreaterThan(25);
    const { rule: _rule, ...bare } = a[0] as GpProblem;
    expect(() => renderPrompt(bare)).toThrow(/variant 'diverse' carries no face rule \(field 'rule'\)/);
    // The fixed-rule variants carry none.
    expect(generate(createRng(1)).rule).toBeUndefined();
  });
});

describe('general points: config', () => {
  it('rejects configs it cannot honour with a clear error, and honours another target', () => {
    const rng = createRng(1);
    const bad = [{ target: 24.5 }, { target: Number.NaN }, { maxDeadEnds: -1 }, { maxSequenceTokens: 0 }];
    for (const patch of bad) {
      expect(() => generate(rng, { ...DEFAULT_GENERAL_POINTS_CONFIG, ...patch })).toThrow(/general_points: /);
    }
    for (let i = 0; i < 20; i++) {
      const prob = generate(rng, { ...DEFAULT_GENERAL_POINTS_CONFIG, target: 10 });
      expect(renderPrompt(prob)).toMatch(/;target 10:$/);
      expect(equals24(parseFormula(prob.solution), 10)).toBe(true);
      expect(
        verify(prob, wrapTarget(writeTrace(prob, rng, { ...DEFAULT_GENERAL_POINTS_CONFIG, target: 10 }))).correct,
      ).toBe(true);
    }
  });
});

describe('general points: verifier', () => {
  const prob = hand([3, 3, 8, 8]);
  it('parseFormula refuses a formula over MAX_FORMULA_CHARS itself: 10k terms are a parse error, not a stack overflow', () => {
    for (const op of ['+', '*', '-']) {
      const text = Array.from({ length: 10_000 }, () => '1').join(op);
      expect(() => {
        const e = parseFormula(text);
        leaves(e);
        evaluate(e);
      }).toThrow(/^too-long: 19999 characters, at most 100$/);
    }
    const longest = Array.from({ length: 50 }, () => '1').join('+');
    expect(longest.length).toBe(MAX_FORMULA_CHARS - 1);
    expect(leaves(parseFormula(longest))).toHaveLength(50);
  });

  it('checks cards, exact value, and syntax', () => {
    expect(verify(prob, '<answer>8/(3-8/3)</answer>').correct).toBe(true);
    expect(verify(prob, '<answer>8 / ( 3 - 8 / 3 )</answer>').correct).toBe(true);
    expect(verify(prob, '<answer>8÷(3−8÷3)</answer>').correct).toBe(true);
    expect(verify(prob, '<answer>8*3</answer>').reason).toMatch(/^wrong-cards/);
    expect(verify(prob, '<answer>8*3*(8-8)+3</answer>').reason).toMatch(/^wrong-cards/);
    expect(verify(prob, '<answer>8+8+3+3</answer>').reason).toBe('wrong-value: got 22 want 24');
    expect(verify(prob, '<answer>(8+8)/(3-3)</answer>').reason).toBe('division-by-zero');
    expect(verify(prob, '<answer>(8/(3-8/3)</answer>').reason).toMatch(/^parse-error/);
    expect(verify(prob, '<answer>8/(3-8/3))</answer>').reason).toMatch(/^parse-error/);
    expect(verify(prob, '<answer>-8+8+3*3</answer>').reason).toMatch(/^parse-error/);
    expect(verify(prob, '<answer>8/(3-8/3)=24</answer>').reason).toMatch(/^parse-error/);
    expect(verify(prob, '<answer>1000*3</answer>').reason).toMatch(/number-too-large/);
    expect(verify(prob, `<answer>${'('.repeat(30)}8${')'.repeat(30)}</answer>`).reason).toMatch(/too-deep/);
    expect(verify(prob, '').reason).toBe('no-answer');
  });
});
