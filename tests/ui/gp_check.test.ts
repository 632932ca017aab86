/**
 * The General Points check of the matrix view's cell details (src/ui/gp_check.ts): it reads the prompt back, and its
 * verdict, numbers used and value agree with the task's verifier on generated problems of every variant.
 */
import { describe, expect, it } from 'vitest';
import { wrapTarget } from '../../src/tasks/format';
import {
  GP_VARIANTS,
  generate,
  promptRuleOf,
  renderPrompt,
  verify,
  writeAnswerOnly,
  writeTrace,
} from '../../src/tasks/general_points';
import { checkGpAnswer, parseGpQuestion } from '../../src/ui/gp_check';
import { createRng } from '../../src/util/rng';

const answer = (formula: string) => `<answer>${formula}</answer><eos>`;

describe('parseGpQuestion', () => {
  it('reads back the cards, stated rule and target of every variant, with or without a length tag', () => {
    const rng = createRng(5);
    for (const variant of GP_VARIANTS) {
      const p = generate(rng, undefined, { variant });
      for (const tag of [null, 'short', 'long'] as const) {
        const parsed = parseGpQuestion(renderPrompt(p, tag));
        expect(parsed.ok).toBe(true);
        if (!parsed.ok) continue;
        expect(parsed.question.cards).toEqual(p.cards);
        expect(parsed.question.statedRule).toEqual(promptRuleOf(p));
        expect(parsed.question.target).toBe(p.target);
      }
    }
  });

  it('refuses text that is not a General Points prompt, naming why', () => {
    expect(parseGpQuestion('######\n#P_O_#')).toEqual({ ok: false, reason: expect.stringMatching(/not a General/) });
    expect(parseGpQuestion('cards A,2,3,4;A=1,J=Z;target 24:')).toEqual({
      ok: false,
      reason: "unknown face-card rule 'A=1,J=Z'",
    });
    expect(parseGpQuestion('cards A,2,3,B;A=1,J=Q=K=10;target 24:')).toEqual({ ok: false, reason: "bad card 'B'" });
  });
});

describe('checkGpAnswer', () => {
  it("agrees with the task's verifier on correct traces and wrong answers of every variant", () => {
    const rng = createRng(9);
    for (const variant of GP_VARIANTS) {
      for (let k = 0; k < 4; k++) {
        const p = generate(rng, undefined, { variant });
        const prompt = renderPrompt(p);
        const good = wrapTarget(writeTrace(p, rng));
        const c = checkGpAnswer(prompt, good, variant)!;
        expect(c.verdict).toEqual(verify(p, good));
        expect(c.verdict.correct).toBe(true);
        expect(c.handValues).toEqual(p.values);
        expect(c.usesHand).toBe(true);
        expect(c.value).toBe(String(p.target));
        // The same numbers in a sum: right cards, (almost always) wrong value.
        const sum = answer(p.values.join('+'));
        const s = checkGpAnswer(prompt, sum, variant)!;
        expect(s.verdict).toEqual(verify(p, sum));
        expect(s.usesHand).toBe(true);
        expect(s.value).toBe(String(p.values.reduce((a, b) => a + b, 0)));
      }
    }
  });

  it('tells the fake rule apart: the verifier rule and the stated values differ', () => {
    const rng = createRng(13);
    const p = generate(rng, undefined, { variant: 'fake_face' });
    const stated = p.cards.map((c) => (c === 'J' ? 11 : c === 'Q' ? 12 : c === 'K' ? 13 : c === 'A' ? 1 : Number(c)));
    const followsPrompt = answer(stated.join('*'));
    const c = checkGpAnswer(renderPrompt(p), followsPrompt, 'fake_face')!;
    expect(c.statedValues).toEqual(stated);
    expect(c.handValues).toEqual(p.values);
    expect(c.usesStatedValues).toBe(true);
    expect(c.usesHand).toBe(false);
    expect(c.verdict.reason).toMatch(/^wrong-cards/);
    expect(c.verdict).toEqual(verify(p, followsPrompt));
    const right = checkGpAnswer(renderPrompt(p), wrapTarget(writeAnswerOnly(p)), 'fake_face')!;
    expect([right.verdict.correct, right.usesHand, right.usesStatedValues]).toEqual([true, true, false]);
  });

  it('reports no answer, a parse error and division by zero', () => {
    const prompt = 'cards 4,4,6,2;A=1,J=Q=K=10;target 24:';
    const none = checkGpAnswer(prompt, '<think>4,4,6,2</think>', 'id')!;
    expect([none.formula, none.usedNumbers, none.usesHand, none.verdict.reason]).toEqual([
      null,
      null,
      null,
      'no-answer',
    ]);
    const junk = checkGpAnswer(prompt, answer('4*(4+'), 'id')!;
    expect(junk.parseError).toMatch(/unexpected end/);
    expect(junk.verdict.reason).toMatch(/^parse-error/);
    const zero = checkGpAnswer(prompt, answer('4/(4-4)*6*2'), 'id')!;
    expect(zero.divisionByZero).toBe(true);
    expect(zero.value).toBeNull();
    expect(zero.usedNumbers).toEqual([4, 4, 4, 6, 2]);
    expect(zero.usesHand).toBe(false);
    // A suite the task does not know is checked under the stated rule.
    const unknown = checkGpAnswer('cards K,2,2,1;A=1,J=Q=K=10;target 24:', answer('(10+2)*2*1'), 'face_99')!;
    expect([unknown.knownSuite, unknown.verdict.correct]).toEqual([false, true]);
    expect(checkGpAnswer('no prompt', answer('1'), 'id')).toBeNull();
  });
});
