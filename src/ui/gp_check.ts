/**
 * The General Points check shown in the matrix view's cell details (src/ui/GpDetail.tsx): the hand and the rule the
 * prompt states, the formula the model answered, and the verifier's verdict taken apart: the numbers the formula uses
 * against the hand's values (under the verifier's rule and under the stated one, which differ in the 'fake_face'
 * suite) and the formula's exact value. Everything goes through the task's own parser and verifier
 * (src/tasks/general_points.ts); nothing is evaluated as code. Pure (no DOM).
 */
import { extractAnswer, LENGTH_TAG_TEXT } from '../tasks/format';
import {
  cardValue,
  evaluate,
  type FaceRule,
  GP_VARIANT_SPECS,
  type GpProblem,
  type GpVariant,
  leaves,
  MAX_FORMULA_CHARS,
  parseFormula,
  verify,
} from '../tasks/general_points';
import { ratToString } from '../tasks/rational';
import type { VerifyResult } from '../tasks/types';

/** The question of a General Points prompt: `[tag]cards A,7,K,10;A=1,J=Q=K=10;target 24:`. */
export interface GpQuestion {
  cards: string[];
  /** The face-card rule as the prompt states it. */
  statedRule: FaceRule;
  ruleText: string;
  target: number;
}

export type ParsedGpQuestion = { ok: true; question: GpQuestion } | { ok: false; reason: string };

function parseRule(text: string): FaceRule | null {
  const same = /^A=1,J=Q=K=(\d{1,3})$/.exec(text);
  if (same) {
    const v = Number(same[1]);
    return { J: v, Q: v, K: v };
  }
  const each = /^A=1,J=(\d{1,3}),Q=(\d{1,3}),K=(\d{1,3})$/.exec(text);
  if (each) return { J: Number(each[1]), Q: Number(each[2]), K: Number(each[3]) };
  return null;
}

/** Parses the prompt a General Points suite sample was asked (the task's `questionText`, maybe after a length tag). */
export function parseGpQuestion(prompt: string): ParsedGpQuestion {
  let text = prompt;
  for (const tag of Object.values(LENGTH_TAG_TEXT)) if (text.startsWith(tag)) text = text.slice(tag.length);
  const m = /^cards ([^;]{1,60});([^;]{1,40});target (-?\d{1,7}):$/.exec(text);
  if (!m) return { ok: false, reason: 'not a General Points prompt (cards …;rule;target N:)' };
  const cards = (m[1] as string).split(',');
  const ruleText = m[2] as string;
  const statedRule = parseRule(ruleText);
  if (!statedRule) return { ok: false, reason: `unknown face-card rule '${ruleText}'` };
  for (const card of cards) {
    try {
      cardValue(card, statedRule);
    } catch {
      return { ok: false, reason: `bad card '${card}'` };
    }
  }
  return { ok: true, question: { cards, statedRule, ruleText, target: Number(m[3]) } };
}

export interface GpCheck {
  question: GpQuestion;
  /**
   * The rule the verifier applies for this suite: the variant's fixed rule, or the stated one where the variant draws a
   * rule per problem (stated and applied alike) or the suite is not a known variant.
   */
  verifierRule: FaceRule;
  /** Whether the suite is a task variant (else the check uses the stated rule). */
  knownSuite: boolean;
  /** The hand's values under the verifier's rule, and under the stated rule. */
  handValues: number[];
  statedValues: number[];
  /** The extracted answer; null when the completion has none. */
  formula: string | null;
  /** Why the formula does not parse (null when it does, or there is none). */
  parseError: string | null;
  /** The numbers the formula uses (null when it does not parse). */
  usedNumbers: number[] | null;
  /** Whether the used numbers are exactly the hand's values under the verifier's rule / the stated rule. */
  usesHand: boolean | null;
  usesStatedValues: boolean | null;
  /** The formula's exact value ('5/3'); null when it does not parse or divides by zero. */
  value: string | null;
  divisionByZero: boolean;
  /** The task verifier's verdict on the completion, recomputed here. */
  verdict: VerifyResult;
}

const sortedKey = (xs: readonly number[]) => [...xs].sort((a, b) => a - b).join(',');

/**
 * Re-checks a General Points completion for suite `suite` (a GpVariant id) asked with `prompt`. Null when the prompt
 * cannot be read (see `parseGpQuestion`).
 */
export function checkGpAnswer(prompt: string, completion: string, suite: string): GpCheck | null {
  const parsed = parseGpQuestion(prompt);
  if (!parsed.ok) return null;
  const q = parsed.question;
  const spec = Object.hasOwn(GP_VARIANT_SPECS, suite) ? GP_VARIANT_SPECS[suite as GpVariant] : null;
  const fixedRule = spec?.verifierRule ?? null;
  const verifierRule = fixedRule ?? q.statedRule;
  const handValues = q.cards.map((c) => cardValue(c, verifierRule));
  const statedValues = q.cards.map((c) => cardValue(c, q.statedRule));
  const problem: GpProblem = {
    cards: q.cards,
    values: handValues,
    target: q.target,
    variant: spec ? (suite as GpVariant) : 'id',
    solution: '',
    ...(fixedRule === null ? { rule: verifierRule } : {}),
  };
  const verdict = verify(problem, completion);
  const formula = extractAnswer(completion);
  let parseError: string | null = null;
  let usedNumbers: number[] | null = null;
  let value: string | null = null;
  let divisionByZero = false;
  if (formula !== null) {
    if (formula.length > MAX_FORMULA_CHARS) parseError = `longer than ${MAX_FORMULA_CHARS} characters`;
    else {
      try {
        const e = parseFormula(formula);
        usedNumbers = leaves(e);
        const v = evaluate(e);
        if (v === null) divisionByZero = true;
        else value = ratToString(v);
      } catch (err) {
        // A parse error, or a rational overflow while evaluating (numbers are at most 3 digits, so the latter is rare).
        if (usedNumbers === null) parseError = err instanceof Error ? err.message : String(err);
      }
    }
  }
  return {
    question: q,
    verifierRule,
    knownSuite: spec !== null,
    handValues,
    statedValues,
    formula,
    parseError,
    usedNumbers,
    usesHand: usedNumbers === null ? null : sortedKey(usedNumbers) === sortedKey(handValues),
    usesStatedValues: usedNumbers === null ? null : sortedKey(usedNumbers) === sortedKey(statedValues),
    value,
    divisionByZero,
    verdict,
  };
}
