/**
 * Text-format helpers shared by the tasks: wrapping targets, building prompts, and pulling the think text and answer
 * out of raw model output.
 *
 * Robustness rule for raw output: only the first `MAX_COMPLETION_CHARS` characters of a completion are examined
 * (the models have a context of a few hundred tokens, so anything beyond is junk). All scanning is `indexOf`-based
 * and linear; no regular expressions run on model output.
 */
import { ANSWER_END, ANSWER_START, countTokens, EOS, LONG, MEDIUM, SHORT, THINK_END, THINK_START } from './tokenizer';
import type { LengthTag, VerifyResult, WrittenTarget } from './types';

export const MAX_COMPLETION_CHARS = 8192;

export const LENGTH_TAG_TEXT: Record<LengthTag, string> = { short: SHORT, medium: MEDIUM, long: LONG };

/** prompt = optional length tag + question. */
export function buildPrompt(question: string, lengthTag: LengthTag | null = null): string {
  return (lengthTag ? LENGTH_TAG_TEXT[lengthTag] : '') + question;
}

/** `<think>t</think><answer>a</answer><eos>` or `<answer>a</answer><eos>`. */
export function wrapTarget(w: WrittenTarget): string {
  const think = w.think === null ? '' : `${THINK_START}${w.think}${THINK_END}`;
  return `${think}${ANSWER_START}${w.answer}${ANSWER_END}${EOS}`;
}

/** How length tags are assigned to SFT prompts (TLDR warm start); see `tagFor`. */
export interface LengthTagRule {
  shortBelow: number;
  longFrom: number;
  /** Percent of prompts (0–100) left untagged, chosen by problem key and seed, so the model keeps its untagged mode. */
  untaggedPercent?: number;
}

/**
 * The tag an SFT prompt gets under `rule`: its own trace's level, or null for the `untaggedPercent` of problems whose
 * hash of (seed, problem key) falls below it (deterministic, independent of draw order).
 */
export function tagFor(
  rule: LengthTagRule,
  thinkingTokens: number,
  problemKey: string,
  seed: number,
): LengthTag | null {
  const untagged = rule.untaggedPercent ?? 0;
  if (untagged > 0 && hashKey(`untagged:${seed}:${problemKey}`) % 100 < untagged) return null;
  return lengthTagFor(thinkingTokens, rule.shortBelow, rule.longFrom);
}

/** Tag for a thinking length: short below `shortBelow`, long at or above `longFrom`, medium between. */
export function lengthTagFor(thinkingTokens: number, shortBelow: number, longFrom: number): LengthTag {
  if (thinkingTokens < shortBelow) return 'short';
  if (thinkingTokens >= longFrom) return 'long';
  return 'medium';
}

function capped(completion: unknown): string {
  if (typeof completion !== 'string') return '';
  return completion.length > MAX_COMPLETION_CHARS ? completion.slice(0, MAX_COMPLETION_CHARS) : completion;
}

function firstOf(text: string, from: number, needles: readonly string[]): number {
  let best = text.length;
  for (const n of needles) {
    const i = text.indexOf(n, from);
    if (i >= 0 && i < best) best = i;
  }
  return best;
}

/**
 * Think text of a completion: after the first `<think>`, up to the first `</think>`, `<answer>` or `<eos>` (or the
 * end of the examined window). Null when there is no `<think>`.
 */
export function extractThink(completion: string): string | null {
  const text = capped(completion);
  const start = text.indexOf(THINK_START);
  if (start < 0) return null;
  const from = start + THINK_START.length;
  return text.slice(from, firstOf(text, from, [THINK_END, ANSWER_START, EOS]));
}

/** Tokens of think text in a completion (0 when there is none). Counted on the examined window. */
export function thinkingTokens(completion: string): number {
  const t = extractThink(completion);
  return t === null ? 0 : countTokens(t);
}

/**
 * The answer of a completion: the search starts after the first `</think>` if there is one (so an `<answer>` written
 * inside the thinking is ignored), else at the start. The answer is the text after the next `<answer>` up to the first
 * `</answer>` or `<eos>` (or the end of the window), trimmed of spaces and newlines. Null when no `<answer>` follows,
 * or the answer is empty.
 */
export function extractAnswer(completion: string): string | null {
  const text = capped(completion);
  const thinkEnd = text.indexOf(THINK_END);
  const searchFrom = thinkEnd >= 0 ? thinkEnd + THINK_END.length : 0;
  const start = text.indexOf(ANSWER_START, searchFrom);
  if (start < 0) return null;
  const from = start + ANSWER_START.length;
  const end = firstOf(text, from, [ANSWER_END, EOS]);
  const a = text.slice(from, end).trim();
  return a.length === 0 ? null : a;
}

export function incorrect(reason: string, answer: string | null = null): VerifyResult {
  return { reward: 0, correct: false, reason, answer };
}

export function correctResult(answer: string): VerifyResult {
  return { reward: 1, correct: true, reason: 'ok', answer };
}

/** Runs a verifier body, turning any exception into an 'incorrect' result (verifiers must never throw). */
export function guardVerify(body: () => VerifyResult): VerifyResult {
  try {
    return body();
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    return incorrect(`verifier-error: ${msg.slice(0, 120)}`);
  }
}

/** FNV-1a 32-bit hash of a string (used for the deterministic train/eval split). */
export function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Parses a plain integer (optional leading '-', 1..maxDigits digits). Null for anything else. */
export function parseIntStrict(text: string, maxDigits: number): bigint | null {
  let i = 0;
  if (text[0] === '-') i = 1;
  const digits = text.length - i;
  if (digits < 1 || digits > maxDigits) return null;
  for (let j = i; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c < 48 || c > 57) return null;
  }
  return BigInt(text);
}
