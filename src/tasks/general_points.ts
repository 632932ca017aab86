/**
 * General Points (the 24 game): make the target from the card values, each card used exactly once, with + - * / and
 * parentheses. A = 1; in distribution J, Q, K count as 10.
 *
 * Prompt:  `cards A,7,K,10;A=1,J=Q=K=10;target 24:`
 * Target:  `<think>4,10,8,10;4+10=14:8,10,14 no;4*10=40:8,10,40 no;4-10=-6:8,10,-6;8+10=18:-6,18;18-(-6)=24:24;`
 *          `ok 8+10-(4-10)</think><answer>8+10-(4-10)</answer><eos>` (prompt `cards Q,8,10,4;A=1,J=Q=K=10;target 24:`). The think
 *          text lists the card values (in the order searched), up to maxDeadEnds first moves that were tried and are
 *          dead ends (` no`: the remaining numbers cannot make the target), then the moves of the solution, each as
 *          `a op b=c:remaining` (fractions and negatives parenthesised as operands), and `ok <formula>`: the formula
 *          the steps build, which is the answer.
 * Answer:  a formula over the card values (numbers only, no letters), e.g. `(8-4)*(7-1)`.
 *
 * Variants: 'id' (4 cards, J/Q/K=10); 'face_11_12_13', 'face_5', 'face_7', 'face_12' (face-card rule changes, hands
 * always contain a face card); 'high_card' (one card is a number 14..19); 'five_cards'; 'fake_face' (the prompt states
 * J=11,Q=12,K=13 but the verifier applies J=Q=K=10; hands contain a face card and are solvable under the verifier's
 * rule); 'diverse' (diverse-rule training data: each problem draws its own face rule from a pool that shares no value
 * with any other variant's rule, so every evaluation rule stays unseen; the problem carries the rule in `rule`, the
 * prompt states it and the verifier applies it; hands contain a face card). Only hands solvable under the verifier's
 * rule are generated.
 *
 * Solver: exhaustive search over all expression trees (every pair of the current numbers combined with every operator
 * in both orders, recursively), exact rational arithmetic, memoised on the sorted multiset of current values.
 *
 * Lengths: maxSequenceTokens(config) = config.maxSequenceTokens (256 by default) is guaranteed: hands whose
 * minimal CoT (no dead ends) would not fit are rejected, and dead ends are dropped until the sequence fits. Measured
 * longest CoT sequences over 600 samples per variant (seed 777, length tag included): id 200, face_11_12_13 218,
 * face_5 189, face_7 197, face_12 201, high_card 210, five_cards 246, fake_face 214, diverse 203 (table in
 * docs/tasks.md).
 */
import type { Rng } from '../util/rng';
import { shuffleInPlace } from '../util/rng';
import { buildPrompt, correctResult, extractAnswer, guardVerify, incorrect, wrapTarget } from './format';
import { add, div, eq, mul, type Rat, rat, ratToString, sub } from './rational';
import { countTokens } from './tokenizer';
import type { GenerateOptions, LengthTag, VerifyResult, WrittenTarget } from './types';

export type GpVariant =
  | 'id'
  | 'face_11_12_13'
  | 'face_5'
  | 'face_7'
  | 'face_12'
  | 'high_card'
  | 'five_cards'
  | 'fake_face'
  | 'diverse';

export const GP_VARIANTS: readonly GpVariant[] = [
  'id',
  'face_11_12_13',
  'face_5',
  'face_7',
  'face_12',
  'high_card',
  'five_cards',
  'fake_face',
  // Last, so the eval-suite seeds of the variants above (seed + index) are what they were before it existed.
  'diverse',
];

/** Values of J, Q, K. */
export interface FaceRule {
  J: number;
  Q: number;
  K: number;
}

export interface GpVariantSpec {
  numCards: number;
  /** Rule stated in the prompt; null when each problem draws its own (GpProblem.rule, see drawDiverseRule). */
  promptRule: FaceRule | null;
  /** Rule the verifier applies; null when each problem draws its own (stated and applied alike). */
  verifierRule: FaceRule | null;
  /** One card is replaced by a number 14..19. */
  highCard: boolean;
  /** Every hand contains at least one J, Q or K. */
  requireFace: boolean;
}

const TEN: FaceRule = { J: 10, Q: 10, K: 10 };
const SEQ: FaceRule = { J: 11, Q: 12, K: 13 };
const same = (v: number): FaceRule => ({ J: v, Q: v, K: v });

export const GP_VARIANT_SPECS: Record<GpVariant, GpVariantSpec> = {
  id: { numCards: 4, promptRule: TEN, verifierRule: TEN, highCard: false, requireFace: false },
  face_11_12_13: { numCards: 4, promptRule: SEQ, verifierRule: SEQ, highCard: false, requireFace: true },
  face_5: { numCards: 4, promptRule: same(5), verifierRule: same(5), highCard: false, requireFace: true },
  face_7: { numCards: 4, promptRule: same(7), verifierRule: same(7), highCard: false, requireFace: true },
  face_12: { numCards: 4, promptRule: same(12), verifierRule: same(12), highCard: false, requireFace: true },
  high_card: { numCards: 4, promptRule: TEN, verifierRule: TEN, highCard: true, requireFace: false },
  five_cards: { numCards: 5, promptRule: TEN, verifierRule: TEN, highCard: false, requireFace: false },
  fake_face: { numCards: 4, promptRule: SEQ, verifierRule: TEN, highCard: false, requireFace: true },
  diverse: { numCards: 4, promptRule: null, verifierRule: null, highCard: false, requireFace: true },
};

/**
 * Face values the diverse variant draws from. The evaluation variants use 10 (id, high_card, five_cards, fake_face's
 * verifier), 11/12/13 (face_11_12_13, fake_face's prompt), 5, 7 and 12; none is here, so no drawn rule is ever an
 * evaluation rule, nor shares a face value with one.
 */
export const DIVERSE_FACE_VALUES: readonly number[] = [2, 3, 4, 6, 8, 9];

/**
 * Share of diverse problems that state the training rule J=Q=K=10 itself, so diverse training keeps the in-distribution
 * prompt (as Sokoban's diverse lines keep the plain training line).
 */
export const GP_DIVERSE_ID_SHARE = 0.2;

/**
 * A face rule for one diverse problem: GP_DIVERSE_ID_SHARE of the time the training rule J=Q=K=10; otherwise half the
 * time J=Q=K=v (like face_5/7/12), otherwise J, Q, K three distinct
 * values in random order (like face_11_12_13), all from DIVERSE_FACE_VALUES: 6 + 120 rules besides the training one.
 */
export function drawDiverseRule(rng: Rng): FaceRule {
  if (rng.next() < GP_DIVERSE_ID_SHARE) return TEN;
  if (rng.int(2) === 0) return same(DIVERSE_FACE_VALUES[rng.int(DIVERSE_FACE_VALUES.length)] as number);
  const [J, Q, K] = shuffleInPlace(rng, [...DIVERSE_FACE_VALUES]) as [number, number, number];
  return { J, Q, K };
}

export interface GeneralPointsConfig {
  target: number;
  /** Most dead-end first moves shown in a CoT trace. */
  maxDeadEnds: number;
  /** Budget for prompt (with length tag) + CoT target, in tokens. */
  maxSequenceTokens: number;
}

export const DEFAULT_GENERAL_POINTS_CONFIG: GeneralPointsConfig = {
  target: 24,
  maxDeadEnds: 3,
  maxSequenceTokens: 256,
};

export interface GpProblem {
  /** Cards as shown: 'A', '2'..'10', 'J', 'Q', 'K', or '14'..'19' in the high-card variant. */
  cards: string[];
  /** Card values under the verifier's rule, same order as cards. */
  values: number[];
  target: number;
  variant: GpVariant;
  /** The problem's own face rule, stated in the prompt and applied by the verifier: set only by the variants that
   * draw one per problem ('diverse'); the others' rules are in GP_VARIANT_SPECS. */
  rule?: FaceRule;
  /** One solution formula (found by the solver, canonical search order). */
  solution: string;
}

export const RANKS: readonly string[] = ['A', '2', '3', '4', '5', '6', '7', '8', '9', '10', 'J', 'Q', 'K'];

export function cardValue(card: string, rule: FaceRule): number {
  if (card === 'A') return 1;
  if (card === 'J') return rule.J;
  if (card === 'Q') return rule.Q;
  if (card === 'K') return rule.K;
  const n = Number(card);
  if (!Number.isInteger(n) || n < 1) throw new Error(`general_points: bad card '${card}'`);
  return n;
}

export function faceRuleText(rule: FaceRule): string {
  return rule.J === rule.Q && rule.Q === rule.K ? `A=1,J=Q=K=${rule.J}` : `A=1,J=${rule.J},Q=${rule.Q},K=${rule.K}`;
}

// ---------------------------------------------------------------- expressions and solver

export type Op = '+' | '-' | '*' | '/';
export type Expr = { kind: 'num'; value: number } | { kind: 'op'; op: Op; left: Expr; right: Expr };

interface Item {
  v: Rat;
  e: Expr;
}

export interface SolveStep {
  left: Rat;
  op: Op;
  right: Rat;
  result: Rat;
  /** All values after this step (the result included), in order. */
  rest: Rat[];
}

function combine(a: Item, b: Item): Item[] {
  const out: Item[] = [];
  const mk = (op: Op, l: Item, r: Item, v: Rat | null): void => {
    if (v !== null) out.push({ v, e: { kind: 'op', op, left: l.e, right: r.e } });
  };
  mk('+', a, b, add(a.v, b.v));
  mk('*', a, b, mul(a.v, b.v));
  mk('-', a, b, sub(a.v, b.v));
  mk('-', b, a, sub(b.v, a.v));
  mk('/', a, b, div(a.v, b.v));
  mk('/', b, a, div(b.v, a.v));
  return out;
}

function multisetKey(items: readonly Item[]): string {
  return items
    .map((it) => ratToString(it.v))
    .sort()
    .join(',');
}

/** Memo of multisets (by key) known to be unable to reach a target; one per target. */
export type SolverMemo = Map<string, boolean>;

function canReach(items: Item[], target: Rat, memo: SolverMemo): boolean {
  if (items.length === 1) return eq((items[0] as Item).v, target);
  const key = multisetKey(items);
  const hit = memo.get(key);
  if (hit !== undefined) return hit;
  let ok = false;
  for (let i = 0; i < items.length && !ok; i++) {
    for (let j = i + 1; j < items.length && !ok; j++) {
      const rest = items.filter((_, k) => k !== i && k !== j);
      for (const c of combine(items[i] as Item, items[j] as Item)) {
        if (canReach([...rest, c], target, memo)) {
          ok = true;
          break;
        }
      }
    }
  }
  memo.set(key, ok);
  return ok;
}

/** All first moves (pair i<j in the given order, each operator and order), with the remaining items. */
function firstMoves(items: Item[]): { step: Item; a: Item; b: Item; rest: Item[] }[] {
  const out: { step: Item; a: Item; b: Item; rest: Item[] }[] = [];
  for (let i = 0; i < items.length; i++) {
    for (let j = i + 1; j < items.length; j++) {
      const rest = items.filter((_, k) => k !== i && k !== j);
      for (const c of combine(items[i] as Item, items[j] as Item)) {
        if (c.e.kind !== 'op') continue;
        const a = c.e.left === (items[i] as Item).e ? (items[i] as Item) : (items[j] as Item);
        const b = a === items[i] ? (items[j] as Item) : (items[i] as Item);
        out.push({ step: c, a, b, rest: [...rest, c] });
      }
    }
  }
  return out;
}

interface SearchResult {
  deadEnds: SolveStep[];
  path: SolveStep[];
  expr: Expr;
}

function toStep(a: Item, b: Item, c: Item, rest: Item[]): SolveStep {
  const op = (c.e as { op: Op }).op;
  return { left: a.v, op, right: b.v, result: c.v, rest: rest.map((r) => r.v) };
}

/**
 * Depth-first search in the order of `values`: records every first move that is a dead end before the first that
 * works, then follows the solution down. Null when the values cannot make the target.
 */
function search(values: number[], target: number, memo: SolverMemo): SearchResult | null {
  const t = rat(target);
  let items: Item[] = values.map((v) => ({ v: rat(v), e: { kind: 'num', value: v } }));
  if (!canReach(items, t, memo)) return null;
  const deadEnds: SolveStep[] = [];
  const path: SolveStep[] = [];
  let first = true;
  while (items.length > 1) {
    let moved = false;
    for (const m of firstMoves(items)) {
      if (canReach(m.rest, t, memo)) {
        path.push(toStep(m.a, m.b, m.step, m.rest));
        items = m.rest;
        moved = true;
        break;
      }
      if (first) deadEnds.push(toStep(m.a, m.b, m.step, m.rest));
    }
    if (!moved) throw new Error('general_points: solver inconsistency');
    first = false;
  }
  return { deadEnds, path, expr: (items[0] as Item).e };
}

/** A solution expression for the values, or null when none exists. */
export function solve(values: number[], target = 24, memo: SolverMemo = new Map()): Expr | null {
  const r = search(values, target, memo);
  return r ? r.expr : null;
}

export function isSolvable(values: number[], target = 24, memo: SolverMemo = new Map()): boolean {
  const items: Item[] = values.map((v) => ({ v: rat(v), e: { kind: 'num', value: v } }));
  return canReach(items, rat(target), memo);
}

const PREC: Record<Op, number> = { '+': 1, '-': 1, '*': 2, '/': 2 };

/** Formula with the fewest parentheses that keep the tree's meaning. */
export function formatExpr(e: Expr): string {
  if (e.kind === 'num') return String(e.value);
  const wrap = (child: Expr, right: boolean): string => {
    const s = formatExpr(child);
    if (child.kind === 'num') return s;
    const pc = PREC[child.op];
    const pp = PREC[e.op];
    if (pc < pp || (right && pc === pp && (e.op === '-' || e.op === '/'))) return `(${s})`;
    return s;
  };
  return `${wrap(e.left, false)}${e.op}${wrap(e.right, true)}`;
}

// ---------------------------------------------------------------- generation, prompts, traces

/**
 * Canonical problem key: the target and the sorted multiset of card values under the verifier's rule. The verifier
 * depends on nothing else, so hands that differ only in how a value is drawn (`J,3,4,6` and `10,3,4,6` when J=10, or
 * a face_5 hand `K,3,4,6` and the in-distribution `5,3,4,6`) are one problem: they have the same correct answers and
 * must fall on the same side of the train/eval split.
 */
export function problemKey(p: GpProblem): string {
  return `gp:${p.target}:${[...p.values].sort((x, y) => x - y).join(',')}`;
}

function ruleOf(p: GpProblem, fixed: FaceRule | null): FaceRule {
  const r = fixed ?? p.rule;
  if (!r) throw new Error(`general_points: problem of variant '${p.variant}' carries no face rule (field 'rule')`);
  return r;
}

/** Face rule the prompt states for this problem. */
export function promptRuleOf(p: GpProblem): FaceRule {
  return ruleOf(p, GP_VARIANT_SPECS[p.variant].promptRule);
}

/** Face rule the verifier applies to this problem (its `values` are the cards under it). */
export function verifierRuleOf(p: GpProblem): FaceRule {
  return ruleOf(p, GP_VARIANT_SPECS[p.variant].verifierRule);
}

export function questionText(p: GpProblem): string {
  return `cards ${p.cards.join(',')};${faceRuleText(promptRuleOf(p))};target ${p.target}:`;
}

export function renderPrompt(p: GpProblem, lengthTag: LengthTag | null = null): string {
  return buildPrompt(questionText(p), lengthTag);
}

export function writeAnswerOnly(p: GpProblem): WrittenTarget {
  return { think: null, answer: p.solution, intendedCorrect: true };
}

/** A rational as an operand: fractions and negatives in parentheses, so `16/(2/3)` and `10-(-14)` read right. */
function operandText(r: Rat): string {
  return r.den === 1 && r.num >= 0 ? String(r.num) : `(${ratToString(r)})`;
}

function stepText(s: SolveStep): string {
  const rest = s.rest.map(ratToString).join(',');
  return `${operandText(s.left)}${s.op}${operandText(s.right)}=${ratToString(s.result)}:${rest}`;
}

/**
 * The face cards of the hand with the values the verifier gives them, each once in order of appearance (`K=8,J=3`);
 * empty without face cards. The trace starts with it, restating the part of the rule the hand uses.
 */
export function faceValuesText(p: GpProblem): string {
  const seen: string[] = [];
  p.cards.forEach((c, i) => {
    if ((c === 'J' || c === 'Q' || c === 'K') && !seen.some((t) => t.startsWith(`${c}=`)))
      seen.push(`${c}=${p.values[i]}`);
  });
  return seen.join(',');
}

/** Face values (when the hand has face cards); values; dead ends; solution steps; `ok <formula>` (the formula the
 * steps build, i.e. the answer). */
function traceText(faces: string, values: number[], deadEnds: SolveStep[], path: SolveStep[], formula: string): string {
  const parts = faces === '' ? [values.join(',')] : [faces, values.join(',')];
  for (const d of deadEnds) parts.push(`${stepText(d)} no`);
  for (const s of path) parts.push(stepText(s));
  parts.push(`ok ${formula}`);
  return parts.join(';');
}

function cotSequenceTokens(p: GpProblem, w: WrittenTarget): number {
  return 1 + countTokens(questionText(p)) + countTokens(wrapTarget(w));
}

/**
 * Chain-of-thought trace: the search runs over the card values in a random order (so traces vary), shows up to
 * maxDeadEnds dead-end first moves (randomly chosen among those tried before the solution, in the order tried) and the
 * solution path. Dead ends are dropped until the sequence fits config.maxSequenceTokens; if even none fit, the
 * canonical-order search (checked at generation) is used.
 */
export function writeTrace(
  p: GpProblem,
  rng: Rng,
  config: GeneralPointsConfig = DEFAULT_GENERAL_POINTS_CONFIG,
): WrittenTarget {
  const memo: SolverMemo = new Map();
  const order = shuffleInPlace(rng, [...p.values]);
  let r = search(order, p.target, memo);
  if (!r) throw new Error('general_points: unsolvable problem');
  let shown = pickDeadEnds(rng, r.deadEnds, config.maxDeadEnds);
  const build = (vals: number[], res: SearchResult, dead: SolveStep[]): WrittenTarget => ({
    think: traceText(faceValuesText(p), vals, dead, res.path, formatExpr(res.expr)),
    answer: formatExpr(res.expr),
    intendedCorrect: true,
  });
  let values = order;
  let w = build(values, r, shown);
  while (cotSequenceTokens(p, w) > config.maxSequenceTokens && shown.length > 0) {
    shown = shown.slice(0, -1);
    w = build(values, r, shown);
  }
  if (cotSequenceTokens(p, w) > config.maxSequenceTokens) {
    values = [...p.values];
    r = search(values, p.target, memo);
    if (!r) throw new Error('general_points: unsolvable problem');
    w = build(values, r, []);
  }
  return w;
}

function pickDeadEnds(rng: Rng, all: SolveStep[], k: number): SolveStep[] {
  if (all.length <= k) return all;
  const idx = shuffleInPlace(
    rng,
    all.map((_, i) => i),
  )
    .slice(0, k)
    .sort((x, y) => x - y);
  return idx.map((i) => all[i] as SolveStep);
}

function validate(config: GeneralPointsConfig): void {
  if (!Number.isInteger(config.target) || Math.abs(config.target) > 1_000_000) {
    throw new Error(`general_points: target must be an integer with |target| <= 1e6, got ${config.target}`);
  }
  if (!Number.isInteger(config.maxDeadEnds) || config.maxDeadEnds < 0) {
    throw new Error(`general_points: maxDeadEnds must be a non-negative integer, got ${config.maxDeadEnds}`);
  }
  if (!Number.isInteger(config.maxSequenceTokens) || config.maxSequenceTokens < 1) {
    throw new Error(`general_points: maxSequenceTokens must be a positive integer, got ${config.maxSequenceTokens}`);
  }
}

function drawCard(rng: Rng): string {
  return RANKS[rng.int(RANKS.length)] as string;
}

export function generate(
  rng: Rng,
  config: GeneralPointsConfig = DEFAULT_GENERAL_POINTS_CONFIG,
  opts: GenerateOptions<GpVariant> = {},
): GpProblem {
  const variant = opts.variant ?? 'id';
  const spec = GP_VARIANT_SPECS[variant];
  if (!spec) throw new Error(`general_points: unknown variant '${variant}'`);
  validate(config);
  const memo: SolverMemo = new Map();
  const attempts = opts.maxAttempts ?? 20_000;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const cards = Array.from({ length: spec.numCards }, () => drawCard(rng));
    if (spec.highCard) cards[rng.int(cards.length)] = String(14 + rng.int(6));
    if (spec.requireFace && !cards.some((c) => c === 'J' || c === 'Q' || c === 'K')) continue;
    // Drawn per attempt, so no single rule's held-out or solvable space can exhaust the attempts.
    const rule = spec.verifierRule ?? drawDiverseRule(rng);
    const values = cards.map((c) => cardValue(c, rule));
    const draft: GpProblem = {
      cards,
      values,
      target: config.target,
      variant,
      solution: '',
      ...(spec.verifierRule === null ? { rule } : {}),
    };
    if (opts.accept && !opts.accept(problemKey(draft))) continue;
    const r = search(values, config.target, memo);
    if (!r) continue;
    const p: GpProblem = { ...draft, solution: formatExpr(r.expr) };
    const minimal: WrittenTarget = {
      think: traceText(faceValuesText(p), values, [], r.path, p.solution),
      answer: p.solution,
      intendedCorrect: true,
    };
    if (cotSequenceTokens(p, minimal) > config.maxSequenceTokens) continue;
    return p;
  }
  throw new Error(`general_points: no acceptable hand in ${attempts} attempts (variant ${variant})`);
}

/** Guaranteed maximum tokens of prompt (with a length tag) + CoT target (answer-only targets are shorter). */
export function maxSequenceTokens(config: GeneralPointsConfig = DEFAULT_GENERAL_POINTS_CONFIG): number {
  return config.maxSequenceTokens;
}

// ---------------------------------------------------------------- verifier

export const MAX_FORMULA_CHARS = 100;
const MAX_DEPTH = 16;
const MAX_NUMBER_DIGITS = 3;

class ParseError extends Error {}

/** Recursive-descent parser: expr := term (('+'|'-') term)* ; term := factor (('*'|'/') factor)* ;
 * factor := number | '(' expr ')'. Binary operators only; `×` `÷` `−` are accepted as aliases; spaces are skipped.
 * Refuses text over MAX_FORMULA_CHARS ('too-long') and nesting over MAX_DEPTH, so the tree stays shallow enough for
 * the recursive `leaves` and `evaluate` (10 000 terms would make a 10 000-deep tree and overflow the stack). */
export function parseFormula(text: string): Expr {
  if (text.length > MAX_FORMULA_CHARS)
    throw new ParseError(`too-long: ${text.length} characters, at most ${MAX_FORMULA_CHARS}`);
  let i = 0;
  const skip = (): void => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t')) i++;
  };
  const peekOp = (): Op | null => {
    skip();
    const c = text[i];
    if (c === '+') return '+';
    if (c === '-' || c === '\u2212') return '-';
    if (c === '*' || c === '\u00d7') return '*';
    if (c === '/' || c === '\u00f7') return '/';
    return null;
  };
  const expr = (depth: number): Expr => {
    if (depth > MAX_DEPTH) throw new ParseError('too-deep');
    let left = term(depth);
    for (let op = peekOp(); op === '+' || op === '-'; op = peekOp()) {
      i++;
      left = { kind: 'op', op, left, right: term(depth) };
    }
    return left;
  };
  const term = (depth: number): Expr => {
    let left = factor(depth);
    for (let op = peekOp(); op === '*' || op === '/'; op = peekOp()) {
      i++;
      left = { kind: 'op', op, left, right: factor(depth) };
    }
    return left;
  };
  const factor = (depth: number): Expr => {
    skip();
    const c = text[i];
    if (c === '(') {
      i++;
      const e = expr(depth + 1);
      skip();
      if (text[i] !== ')') throw new ParseError(`expected ')' at ${i}`);
      i++;
      return e;
    }
    const start = i;
    while (i < text.length && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) {
      i++;
      if (i - start > MAX_NUMBER_DIGITS) throw new ParseError('number-too-large');
    }
    if (i === start) throw new ParseError(i >= text.length ? 'unexpected end' : `unexpected character at ${i}`);
    return { kind: 'num', value: Number(text.slice(start, i)) };
  };
  const e = expr(0);
  skip();
  if (i !== text.length) throw new ParseError(`unexpected character at ${i}`);
  return e;
}

export function leaves(e: Expr, out: number[] = []): number[] {
  if (e.kind === 'num') out.push(e.value);
  else {
    leaves(e.left, out);
    leaves(e.right, out);
  }
  return out;
}

/** Exact value of a formula; null on division by zero. */
export function evaluate(e: Expr): Rat | null {
  if (e.kind === 'num') return rat(e.value);
  const l = evaluate(e.left);
  const r = evaluate(e.right);
  if (l === null || r === null) return null;
  if (e.op === '+') return add(l, r);
  if (e.op === '-') return sub(l, r);
  if (e.op === '*') return mul(l, r);
  return div(l, r);
}

function sortedKey(xs: number[]): string {
  return [...xs].sort((a, b) => a - b).join(',');
}

/** Exact verifier: parses the answer formula, checks the numbers used are the hand's values (verifier rule) each
 * exactly once, and that the exact value equals the target. Never throws. */
export function verify(p: GpProblem, completion: string): VerifyResult {
  return guardVerify(() => {
    const ans = extractAnswer(completion);
    if (ans === null) return incorrect('no-answer');
    if (ans.length > MAX_FORMULA_CHARS) return incorrect('too-long', ans.slice(0, 40));
    let e: Expr;
    try {
      e = parseFormula(ans);
    } catch (err) {
      if (err instanceof ParseError) return incorrect(`parse-error: ${err.message}`, ans);
      throw err;
    }
    const used = leaves(e);
    if (sortedKey(used) !== sortedKey(p.values)) {
      return incorrect(`wrong-cards: used [${sortedKey(used)}] want [${sortedKey(p.values)}]`, ans);
    }
    const v = evaluate(e);
    if (v === null) return incorrect('division-by-zero', ans);
    if (!eq(v, rat(p.target))) return incorrect(`wrong-value: got ${ratToString(v)} want ${p.target}`, ans);
    return correctResult(ans);
  });
}
