/**
 * Character-level tokenizer shared by every reasoning task.
 *
 * A token is either one special token (written in text as `<think>`, `</think>`, `<answer>`, `</answer>`, `<eos>`,
 * `<pad>`, `<short>`, `<medium>`, `<long>`) or one character from `CHARS`. Special tokens are recognised greedily
 * wherever their exact spelling appears; the characters `<` and `>` are not in the vocabulary, so any other `<` is an
 * unknown character. Ids: special tokens first (PAD_ID = 0), then the characters in `CHARS` order.
 *
 * The character set covers every prompt, trace and answer the generators write: digits, both letter cases (card
 * letters, Sokoban words, "Wait"), the Sokoban board symbols including `√`, the random-symbol action pool and the
 * punctuation used by the compact notations.
 */

export const SPECIAL_TOKENS = [
  '<pad>',
  '<eos>',
  '<think>',
  '</think>',
  '<answer>',
  '</answer>',
  '<short>',
  '<medium>',
  '<long>',
] as const;
export type SpecialToken = (typeof SPECIAL_TOKENS)[number];

export const PAD = '<pad>';
export const EOS = '<eos>';
export const THINK_START = '<think>';
export const THINK_END = '</think>';
export const ANSWER_START = '<answer>';
export const ANSWER_END = '</answer>';
export const SHORT = '<short>';
export const MEDIUM = '<medium>';
export const LONG = '<long>';

export const PAD_ID = 0;
export const EOS_ID = 1;
export const THINK_START_ID = 2;
export const THINK_END_ID = 3;
export const ANSWER_START_ID = 4;
export const ANSWER_END_ID = 5;
export const SHORT_ID = 6;
export const MEDIUM_ID = 7;
export const LONG_ID = 8;

const DIGITS = '0123456789';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
/** Punctuation: arithmetic and formula notation, separators, Sokoban board symbols and the random-symbol pool. */
const PUNCT = ' \n+-*/()=,.:;?!#_@$%&^~|[]√';

/** Every non-special token, one character each. */
export const CHARS: string = DIGITS + LOWER + UPPER + PUNCT;

/** The vocabulary in id order: special tokens, then characters. */
export const VOCAB: readonly string[] = [...SPECIAL_TOKENS, ...Array.from(CHARS)];
export const vocabSize: number = VOCAB.length;

const CHAR_TO_ID = new Map<string, number>();
for (let i = SPECIAL_TOKENS.length; i < VOCAB.length; i++) CHAR_TO_ID.set(VOCAB[i] as string, i);

function formatCodePoint(cp: number): string {
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Id of the special token whose spelling starts at `text[i]`, or -1. */
function specialAt(text: string, i: number): number {
  if (text.charCodeAt(i) !== 60 /* '<' */) return -1;
  for (let s = 0; s < SPECIAL_TOKENS.length; s++) {
    if (text.startsWith(SPECIAL_TOKENS[s] as string, i)) return s;
  }
  return -1;
}

/** Encodes text into token ids. Throws an Error naming the code point and index of the first unknown character. */
export function encode(text: string): number[] {
  const ids: number[] = [];
  let i = 0;
  while (i < text.length) {
    const s = specialAt(text, i);
    if (s >= 0) {
      ids.push(s);
      i += (SPECIAL_TOKENS[s] as string).length;
      continue;
    }
    const ch = text[i] as string;
    const id = CHAR_TO_ID.get(ch);
    if (id === undefined) {
      const cp = text.codePointAt(i) ?? 0;
      const shown = String.fromCodePoint(cp);
      throw new Error(`tokenizer: unknown character ${formatCodePoint(cp)} '${shown}' at index ${i}`);
    }
    ids.push(id);
    i += 1;
  }
  return ids;
}

/** True when `encode(text)` would succeed. */
export function isEncodable(text: string): boolean {
  let i = 0;
  while (i < text.length) {
    const s = specialAt(text, i);
    if (s >= 0) {
      i += (SPECIAL_TOKENS[s] as string).length;
      continue;
    }
    if (!CHAR_TO_ID.has(text[i] as string)) return false;
    i += 1;
  }
  return true;
}

/** Decodes token ids back to text. Throws on a non-integer or out-of-range id, naming the id and its position. */
export function decode(ids: ArrayLike<number>): string {
  let out = '';
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i] as number;
    if (!Number.isInteger(id) || id < 0 || id >= VOCAB.length) {
      throw new Error(`tokenizer: token id ${id} at position ${i} is outside the vocabulary [0, ${VOCAB.length})`);
    }
    out += VOCAB[id] as string;
  }
  return out;
}

/**
 * Number of tokens `text` occupies: special tokens count one, every other UTF-16 unit one (unknown characters
 * included, so it never throws; use it on raw model output).
 */
export function countTokens(text: string): number {
  let n = 0;
  let i = 0;
  while (i < text.length) {
    const s = specialAt(text, i);
    i += s >= 0 ? (SPECIAL_TOKENS[s] as string).length : 1;
    n++;
  }
  return n;
}
