/**
 * Multi-digit arithmetic with thinking (the efficient-reasoning setting).
 *
 * Prompt `123+456=`; target `<think>3+6=9;2+5=7;1+4=5;=579</think><answer>579</answer><eos>`.
 * Working notation (terse, one token per character):
 *   add  column by column from the right, carry written as a third term: `8+7=15;5+6+1=12;7+0+1=8;=825`
 *   sub  borrow shown by the leading 1: `13-7=6;12-8-1=3;5-1-1=3;=336`; if a<b the trace starts `swap;` and the
 *        answer is negative.
 *   mul  one partial product per non-zero multiplier digit, then running sums:
 *        `123*6=738;123*50=6150;123*400=49200;738+6150=6888;6888+49200=56088;=56088`
 *
 * WHY THE "DISTILLED" STYLE PRODUCES OVER-THINKING AND "LONGER WHEN WRONG"
 * The distilled trace writer mimics what the efficient-reasoning papers observe in traces distilled from large
 * reasoning models. Each required step may be followed by extras that carry no information: a redundant re-check
 * (`chk 3+6=9;`), a restatement (`123+456=?;` or `so 79;`) or a false-alarm "Wait" (`Wait,3+6=9 ok;`). A per-trace
 * "ramble" scale, drawn uniformly from [0, rambleMax], multiplies those probabilities, so trace lengths vary widely for
 * the same problem: a model trained on them learns to sometimes think far longer than needed (over-thinking).
 * Each step may be written wrong (a slip). A slip is caught with a "Wait" self-correction (`3+6=8;Wait,3+6=9;`) with
 * probability catchProb / (1 + tokensSoFar / catchHalfTokens); otherwise the wrong value is used downstream and the
 * final answer is wrong. Three couplings make wrong traces longer than right ones:
 *   1. the slip probability grows with the tokens already written (slipGrowthPerToken), so long, meandering traces
 *      (high ramble) collect more slips;
 *   2. catching gets less likely the longer the trace already is, so slips in long traces stay uncorrected;
 *   3. after any slip the writer becomes "unsure" and multiplies its extra re-check/restate/"Wait" rates by
 *      postSlipBoost for the rest of the trace, and an uncaught slip is even re-checked and falsely confirmed.
 * Hence, in the training data, trace length correlates with a wrong final answer, and "Wait" appears both in
 * traces that fix a mistake and in traces that do not. The concise style sets every probability to zero and writes
 * the minimal, always-correct working. `meta.intendedCorrect` records whether the written final answer is correct;
 * `verify` checks the answer of any completion exactly.
 *
 * Lengths (measured over 5000 default samples, seed 777, length tag included; table in docs/tasks.md): distilled CoT
 * longest 220 tokens (guaranteed bound maxSequenceTokens = 221 <= 256: extras are trimmed to maxThinkTokens = 200,
 * required working and the answer are bounded analytically); concise CoT longest 103; answer-only longest 18. About 4%
 * of distilled traces end wrong.
 */
import type { Rng } from '../util/rng';
import { pick } from '../util/rng';
import { buildPrompt, correctResult, extractAnswer, guardVerify, incorrect, parseIntStrict } from './format';
import type { GenerateOptions, LengthTag, VerifyResult, WrittenTarget } from './types';

export type ArithOp = '+' | '-' | '*';

export interface TraceStyle {
  /** Per step: probability (times ramble and boost) of a redundant re-check `chk <step>;`. */
  recheckProb: number;
  /** Per step: probability (times ramble and boost) of a restatement `a+b=?;` or `so <partial>;`. */
  restateProb: number;
  /** Per step: probability (times ramble and boost) of a false-alarm `Wait,<step> ok;`. */
  falseAlarmProb: number;
  /** Base probability that a step's value is written wrong. */
  slipProb: number;
  /** Added to the slip probability per think token already written. */
  slipGrowthPerToken: number;
  /** Probability that a slip is caught (at an empty trace); decays as catchProb / (1 + tokens / catchHalfTokens). */
  catchProb: number;
  catchHalfTokens: number;
  /** Multiplier on the extra rates after any slip. */
  postSlipBoost: number;
  /** Probability (times ramble) of a final `Wait,chk <inverse> ok;` after the result. */
  finalCheckProb: number;
  /** Per-trace ramble scale is uniform in [0, rambleMax]; it multiplies every extra rate. */
  rambleMax: number;
  /**
   * Probability of a review pass after the result: `Wait,chk;` then the whole working again and the result again
   * (the 'review' style; 0 elsewhere). A review of a trace with an uncaught slip redoes the working correctly with
   * probability reviewCatchProb (and the answer follows it); otherwise it repeats the working as written.
   */
  reviewProb: number;
  reviewCatchProb: number;
}

export interface ArithmeticConfig {
  ops: ArithOp[];
  /** Each operand has a uniformly drawn digit count in [minDigits, maxDigits] (1-digit operands may be 0). */
  minDigits: number;
  maxDigits: number;
  /** Extras are trimmed (latest first) so the think text fits this many tokens; required working is never cut. */
  maxThinkTokens: number;
  trace: TraceStyle;
}

export const CONCISE_STYLE: TraceStyle = {
  recheckProb: 0,
  restateProb: 0,
  falseAlarmProb: 0,
  slipProb: 0,
  slipGrowthPerToken: 0,
  catchProb: 0,
  catchHalfTokens: 1,
  postSlipBoost: 1,
  finalCheckProb: 0,
  rambleMax: 0,
  reviewProb: 0,
  reviewCatchProb: 0,
};

export const DISTILLED_STYLE: TraceStyle = {
  recheckProb: 0.2,
  restateProb: 0.12,
  falseAlarmProb: 0.12,
  slipProb: 0.03,
  slipGrowthPerToken: 0.0006,
  catchProb: 0.75,
  catchHalfTokens: 60,
  postSlipBoost: 2,
  finalCheckProb: 0.4,
  rambleMax: 2,
  reviewProb: 0,
  reviewCatchProb: 0,
};

/**
 * Distilled, but slips are caught only by a review after the result, never inline: half the traces review their
 * working, and a review fixes an uncaught slip 90% of the time. Stopping before the review keeps the first pass's
 * answer, so here the stop decision costs accuracy when the first pass slipped (the distilled style's extras after
 * the result never change the answer).
 */
export const REVIEW_STYLE: TraceStyle = {
  ...DISTILLED_STYLE,
  catchProb: 0,
  reviewProb: 0.5,
  reviewCatchProb: 0.9,
};

/** The trace styles by name (the run config's `task.arithmeticTraceStyle`). */
export const TRACE_STYLES = { distilled: DISTILLED_STYLE, concise: CONCISE_STYLE, review: REVIEW_STYLE } as const;

export const DEFAULT_ARITHMETIC_CONFIG: ArithmeticConfig = {
  ops: ['+', '-', '*'],
  minDigits: 1,
  maxDigits: 3,
  maxThinkTokens: 200,
  trace: DISTILLED_STYLE,
};

export type ArithmeticVariant = 'id' | 'add' | 'sub' | 'mul' | 'more_digits';
export const ARITHMETIC_VARIANTS: readonly ArithmeticVariant[] = ['id', 'add', 'sub', 'mul', 'more_digits'];

export interface ArithmeticProblem {
  a: number;
  b: number;
  op: ArithOp;
  variant: ArithmeticVariant;
}

/** Config for a variant: single-op variants restrict ops; 'more_digits' uses exactly maxDigits + 1 digits. */
export function variantConfig(config: ArithmeticConfig, variant: ArithmeticVariant): ArithmeticConfig {
  switch (variant) {
    case 'id':
      return config;
    case 'add':
      return { ...config, ops: ['+'] };
    case 'sub':
      return { ...config, ops: ['-'] };
    case 'mul':
      return { ...config, ops: ['*'] };
    case 'more_digits':
      return { ...config, minDigits: config.maxDigits + 1, maxDigits: config.maxDigits + 1 };
  }
}

function validate(config: ArithmeticConfig): void {
  if (!Number.isInteger(config.minDigits) || !Number.isInteger(config.maxDigits))
    throw new Error('digits must be ints');
  if (config.minDigits < 1 || config.maxDigits < config.minDigits || config.maxDigits > 7) {
    throw new Error(`arithmetic: need 1 <= minDigits <= maxDigits <= 7, got ${config.minDigits}..${config.maxDigits}`);
  }
  if (config.ops.length === 0) throw new Error('arithmetic: ops must not be empty');
}

function operand(rng: Rng, config: ArithmeticConfig): number {
  const d = config.minDigits + rng.int(config.maxDigits - config.minDigits + 1);
  const lo = d === 1 ? 0 : 10 ** (d - 1);
  return lo + rng.int(10 ** d - lo);
}

export function generate(
  rng: Rng,
  config: ArithmeticConfig = DEFAULT_ARITHMETIC_CONFIG,
  opts: GenerateOptions<ArithmeticVariant> = {},
): ArithmeticProblem {
  const variant = opts.variant ?? 'id';
  const c = variantConfig(config, variant);
  validate(c);
  const attempts = opts.maxAttempts ?? 100_000;
  for (let i = 0; i < attempts; i++) {
    const op = pick(rng, c.ops);
    const p: ArithmeticProblem = { a: operand(rng, c), b: operand(rng, c), op, variant };
    if (!opts.accept || opts.accept(problemKey(p))) return p;
  }
  throw new Error(`arithmetic: no acceptable problem in ${attempts} attempts (variant ${variant})`);
}

export function solve(p: ArithmeticProblem): number {
  if (p.op === '+') return p.a + p.b;
  if (p.op === '-') return p.a - p.b;
  return p.a * p.b;
}

/**
 * Canonical problem key. `+` and `*` are commutative, so `a+b` and `b+a` (same column sums, same answer) are one
 * problem and get one key: the train/eval split never separates a question from its mirror image.
 */
export function problemKey(p: ArithmeticProblem): string {
  if (p.op === '-') return `ar:${p.a}-${p.b}`;
  const lo = Math.min(p.a, p.b);
  const hi = Math.max(p.a, p.b);
  return `ar:${lo}${p.op}${hi}`;
}

export function questionText(p: ArithmeticProblem): string {
  return `${p.a}${p.op}${p.b}=`;
}

export function renderPrompt(p: ArithmeticProblem, lengthTag: LengthTag | null = null): string {
  return buildPrompt(questionText(p), lengthTag);
}

export function writeAnswerOnly(p: ArithmeticProblem): WrittenTarget {
  return { think: null, answer: String(solve(p)), intendedCorrect: true };
}

interface Seg {
  text: string;
  /** keep: required; drop: removable extra; collapse: caught slip that may be replaced by `short`. */
  kind: 'keep' | 'drop' | 'collapse';
  short?: string;
}

function digitsOf(n: number): number[] {
  return Array.from(String(n), (ch) => ch.charCodeAt(0) - 48).reverse();
}

/** Writes a chain-of-thought trace (see the file comment for the style model). */
export function writeTrace(
  p: ArithmeticProblem,
  rng: Rng,
  config: ArithmeticConfig = DEFAULT_ARITHMETIC_CONFIG,
): WrittenTarget {
  const style = config.trace;
  const ramble = rng.next() * style.rambleMax;
  const segs: Seg[] = [];
  let len = 0;
  let boost = 1;
  const push = (s: Seg): void => {
    segs.push(s);
    len += s.text.length;
  };
  const problemText = `${p.a}${p.op}${p.b}`;

  const extras = (stepText: string, partial: string): void => {
    const k = ramble * boost;
    if (rng.next() < style.restateProb * k) {
      push({ text: rng.next() < 0.5 ? `${problemText}=?;` : `so ${partial};`, kind: 'drop' });
    }
    if (rng.next() < style.recheckProb * k) push({ text: `chk ${stepText};`, kind: 'drop' });
    if (rng.next() < style.falseAlarmProb * k) push({ text: `Wait,${stepText} ok;`, kind: 'drop' });
  };

  /** Writes one required step; returns the value as written (wrong when an uncaught slip happened). */
  const step = (render: (v: number) => string, correct: number, slipped: () => number): number => {
    const pSlip = Math.min(0.9, style.slipProb + style.slipGrowthPerToken * len);
    if (rng.next() < pSlip) {
      const w = slipped();
      if (w !== correct) {
        boost = style.postSlipBoost;
        const pCatch = style.catchProb / (1 + len / style.catchHalfTokens);
        if (rng.next() < pCatch) {
          push({ text: `${render(w)};Wait,${render(correct)};`, kind: 'collapse', short: `${render(correct)};` });
          return correct;
        }
        push({ text: `${render(w)};`, kind: 'keep' });
        return w;
      }
    }
    push({ text: `${render(correct)};`, kind: 'keep' });
    return correct;
  };

  if (rng.next() < style.restateProb * ramble) push({ text: `${problemText}=?;`, kind: 'drop' });

  let result: number;
  let lastStep = '';
  if (p.op === '+' || p.op === '-') {
    let x = p.a;
    let y = p.b;
    const swap = p.op === '-' && p.a < p.b;
    if (swap) {
      x = p.b;
      y = p.a;
      push({ text: 'swap;', kind: 'keep' });
    }
    const dx = digitsOf(x);
    const dy = digitsOf(y);
    const cols = Math.max(dx.length, dy.length);
    const out: number[] = [];
    let carry = 0;
    for (let i = 0; i < cols; i++) {
      const u = dx[i] ?? 0;
      const v = dy[i] ?? 0;
      if (p.op === '+') {
        const s = u + v + carry;
        const lhs = carry > 0 ? `${u}+${v}+${carry}` : `${u}+${v}`;
        const render = (w: number): string => `${lhs}=${w}`;
        const w = step(render, s, () => (s >= 19 ? s - 1 : s === 0 ? 1 : s + (rng.next() < 0.5 ? -1 : 1)));
        lastStep = render(w);
        out.push(w % 10);
        carry = Math.floor(w / 10);
      } else {
        const raw = u - v - carry;
        const borrow = raw < 0 ? 1 : 0;
        const lhs = `${borrow ? '1' : ''}${u}-${v}${carry ? '-1' : ''}`;
        const d = raw + 10 * borrow;
        const render = (w: number): string => `${lhs}=${w}`;
        const w = step(render, d, () => (d >= 9 ? 8 : d === 0 ? 1 : d + (rng.next() < 0.5 ? -1 : 1)));
        lastStep = render(w);
        out.push(w);
        carry = borrow;
      }
      const partial = out
        .slice()
        .reverse()
        .map((q) => String(q))
        .join('');
      extras(lastStep, partial);
    }
    if (carry > 0) out.push(carry);
    const mag = Number(
      out
        .slice()
        .reverse()
        .map((q) => String(q))
        .join(''),
    );
    result = swap ? -mag : mag;
  } else {
    const db = digitsOf(p.b);
    const pps: number[] = [];
    for (let i = 0; i < db.length; i++) {
      const d = db[i] as number;
      if (d === 0 && !(db.length === 1)) continue;
      const mult = `${d}${'0'.repeat(i)}`;
      const pp = p.a * d * 10 ** i;
      const render = (w: number): string => `${p.a}*${mult}=${w}`;
      const w = step(render, pp, () => slipNumber(rng, pp));
      lastStep = render(w);
      pps.push(w);
      extras(lastStep, String(w));
    }
    let acc = pps[0] ?? 0;
    for (let i = 1; i < pps.length; i++) {
      const q = pps[i] as number;
      const s = acc + q;
      const before = acc;
      const render = (w: number): string => `${before}+${q}=${w}`;
      acc = step(render, s, () => slipNumber(rng, s));
      lastStep = render(acc);
      extras(lastStep, String(acc));
    }
    result = acc;
  }
  // The working as written: every required step (extras are 'drop' segments; inline catches are off when reviewing).
  const working = segs
    .filter((seg) => seg.kind === 'keep')
    .map((seg) => seg.text)
    .join('');
  push({ text: `=${result};`, kind: 'keep' });
  if (style.reviewProb > 0 && rng.next() < style.reviewProb) {
    const fix = result !== solve(p) && rng.next() < style.reviewCatchProb;
    const redone = fix ? correctWorking(p, rng, config) : working;
    if (fix) result = solve(p);
    push({ text: `Wait,chk;${redone}=${result};`, kind: 'keep' });
  }
  if (rng.next() < style.finalCheckProb * ramble) {
    const inv =
      p.op === '+' ? `${result}-${p.b}=${p.a}` : p.op === '-' ? `${result}+${p.b}=${p.a}` : `${p.b}*${p.a}=${result}`;
    push({ text: `Wait,chk ${inv} ok;`, kind: 'drop' });
  }
  trimToFit(segs, config.maxThinkTokens);
  let think = segs.map((s) => s.text).join('');
  if (think.endsWith(';')) think = think.slice(0, -1);
  return { think, answer: String(result), intendedCorrect: result === solve(p) };
}

/** The required steps of a slip-free trace of `p`, each with its ';' (the concise style's working). */
function correctWorking(p: ArithmeticProblem, rng: Rng, config: ArithmeticConfig): string {
  const { think } = writeTrace(p, rng, { ...config, trace: CONCISE_STYLE });
  return think === null ? '' : think.slice(0, think.lastIndexOf(';') + 1);
}

/** A wrong value near `v`: one digit position off by one (never negative, never equal to v). */
function slipNumber(rng: Rng, v: number): number {
  const places = Math.max(1, String(v).length);
  const unit = 10 ** rng.int(places);
  if (v - unit >= 0 && rng.next() < 0.5) return v - unit;
  return v + unit;
}

/** Removes extras (latest first) and collapses caught slips until the joined text fits `maxTokens`. */
function trimToFit(segs: Seg[], maxTokens: number): void {
  let total = segs.reduce((n, s) => n + s.text.length, 0) - 1; // trailing ';' is dropped
  for (let i = segs.length - 1; i >= 0 && total > maxTokens; i--) {
    const s = segs[i] as Seg;
    if (s.kind === 'drop') {
      total -= s.text.length;
      segs.splice(i, 1);
    } else if (s.kind === 'collapse' && s.short !== undefined) {
      total -= s.text.length - s.short.length;
      s.text = s.short;
      s.kind = 'keep';
    }
  }
}

/** Upper bound on the required (untrimmable) think tokens for a config, generous. */
function requiredThinkBound(config: ArithmeticConfig): number {
  const L = config.maxDigits;
  let worst = 0;
  if (config.ops.includes('+')) worst = Math.max(worst, 9 * L + L + 3);
  if (config.ops.includes('-')) worst = Math.max(worst, 5 + 9 * L + L + 3);
  if (config.ops.includes('*')) {
    const num = 2 * L + 2; // digits of a partial product or sum, with a slip
    worst = Math.max(worst, L * (L + 1 + L + 1 + num + 1) + (L - 1) * (3 * num + 3) + num + 2);
  }
  return worst;
}

/** Guaranteed maximum tokens of prompt (with a length tag) + CoT target for a config (see variantConfig). */
export function maxSequenceTokens(config: ArithmeticConfig = DEFAULT_ARITHMETIC_CONFIG): number {
  const L = config.maxDigits;
  const prompt = 1 + L + 1 + L + 1;
  // '+': at most L+1 digits (a slipped top column is at most 19); '-': sign + L digits; '*': an uncaught slip adds at
  // most one unit of the leading place to a partial product or sum (each value at most doubles), so the written result
  // is below 4 * 10^(2L): 2L+1 digits (e.g. 999*999 with a slipped 999*900=909100 gives 1008001).
  const answer = config.ops.includes('*') ? 2 * L + 1 : L + 1;
  // A review repeats the required working, plus `Wait,chk;`, the result and its ';'.
  const required = requiredThinkBound(config);
  const review = config.trace.reviewProb > 0 ? 'Wait,chk;'.length + required + 1 : 0;
  const think = Math.max(config.maxThinkTokens, required + review);
  return prompt + 2 + think + 2 + answer + 1;
}

/** Exact verifier: the answer must be a plain integer (optional '-') equal to the true result. Never throws. */
export function verify(p: ArithmeticProblem, completion: string): VerifyResult {
  return guardVerify(() => {
    const ans = extractAnswer(completion);
    if (ans === null) return incorrect('no-answer');
    const shown = ans.length > 40 ? `${ans.slice(0, 40)}...` : ans;
    if (ans.length > 31) return incorrect('too-long', shown);
    const v = parseIntStrict(ans, 30);
    if (v === null) return incorrect('not-an-integer', shown);
    const want = BigInt(solve(p));
    if (v !== want) return incorrect(`wrong-value: got ${shown} want ${want}`, shown);
    return correctResult(ans);
  });
}
