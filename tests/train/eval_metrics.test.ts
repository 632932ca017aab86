import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { countTokens, decode, EOS_ID, encode, THINK_END_ID, THINK_START_ID } from '../../src/tasks/tokenizer';
import {
  aggregateTraces,
  HISTOGRAM_BINS,
  opensThinking,
  REPETITION_NGRAM,
  repeatedNgramFraction,
  type SpecialIds,
  type TraceStats,
  thinkingHistogram,
  thinkingSlice,
  thinkingSpan,
} from '../../src/train/eval_metrics';
import { METRIC_KEYS } from '../../src/train/metrics';
import { createRng } from '../../src/util/rng';

const IDS: SpecialIds = { thinkStartId: THINK_START_ID, thinkEndId: THINK_END_ID, eosId: EOS_ID };

describe('thinking span', () => {
  it('counts the tokens between <think> and </think>, else up to <eos> or the end; 0 without <think>', () => {
    // Each case: completion text → thinking text written out by hand.
    const cases: [string, string | null][] = [
      ['<think>1+2=3;=3</think><answer>3</answer><eos>', '1+2=3;=3'],
      ['<think>12</think>9<think>77</think>', '12'], // only the first span
      ['<think>1+2=3;<answer>3</answer><eos>', '1+2=3;<answer>3</answer>'], // never closed: to <eos>
      ['<think>1+2=3;=3', '1+2=3;=3'], // never closed, no <eos>: to the end
      ['<think></think><answer>3</answer>', ''],
      ['<answer>3</answer><eos>', null],
      ['abc<think>x<eos>', 'x'],
    ];
    for (const [text, thinking] of cases) {
      const ids = encode(text);
      const slice = thinkingSlice(ids, IDS);
      expect(decode(slice), text).toBe(thinking ?? '');
      expect(slice.length, text).toBe(thinking === null ? 0 : countTokens(thinking));
      expect(thinkingSpan(ids, IDS) === null, text).toBe(thinking === null);
    }
    expect(thinkingSpan(encode('<think>ab</think>'), IDS)).toEqual({ start: 1, end: 3, closed: true });
    expect(thinkingSpan(encode('<think>ab<eos>'), IDS)).toEqual({ start: 1, end: 3, closed: false });
  });

  it('starts at the first completion token when the prompt opened thinking', () => {
    expect(opensThinking(encode('1+2=<think>'), IDS)).toBe(true);
    expect(opensThinking(encode('<think>a</think>1+2='), IDS)).toBe(false);
    expect(opensThinking(encode('1+2='), IDS)).toBe(false);
    expect(decode(thinkingSlice(encode('ab</think>c'), IDS, true))).toBe('ab');
    expect(decode(thinkingSlice(encode('ab</think>c'), IDS, false))).toBe('');
  });
});

/** The definition, spelled out: n-gram i is repeated iff some j < i has the same n tokens. O(L²·n). */
function bruteForceRepetition(tokens: number[], n: number): number | null {
  const count = tokens.length - n + 1;
  if (count < 1) return null;
  let repeated = 0;
  for (let i = 0; i < count; i++) {
    let seenBefore = false;
    for (let j = 0; j < i && !seenBefore; j++) {
      let same = true;
      for (let k = 0; k < n; k++) if (tokens[i + k] !== tokens[j + k]) same = false;
      seenBefore = same;
    }
    if (seenBefore) repeated++;
  }
  return repeated / count;
}

describe('repetition rate', () => {
  it('is 8 by default (documented in docs/metrics.md)', () => {
    expect(REPETITION_NGRAM).toBe(8);
  });

  it('crafted cases', () => {
    // "abcabcab", n = 3: n-grams abc bca cab abc bca cab → the last three repeat earlier ones: 3/6.
    expect(repeatedNgramFraction(encode('abcabcab'), 3)).toBe(0.5);
    // "aaaa", n = 2: aa aa aa → the 2nd and 3rd overlap an earlier one: 2/3.
    expect(repeatedNgramFraction(encode('aaaa'), 2)).toBeCloseTo(2 / 3, 15);
    // no repeats; exactly n tokens → one n-gram, never repeated; fewer than n → undefined (null).
    expect(repeatedNgramFraction(encode('abcdefgh'), 8)).toBe(0);
    expect(repeatedNgramFraction(encode('abcdefg'), 8)).toBeNull();
  });

  it('matches brute-force counting on seeded random traces (small alphabets make repeats common)', () => {
    const rng = createRng(11);
    for (let trial = 0; trial < 300; trial++) {
      const alphabet = 1 + rng.int(4);
      const n = 1 + rng.int(9);
      const tokens = Array.from({ length: rng.int(40) }, () => 10 + rng.int(alphabet));
      expect(repeatedNgramFraction(tokens, n), `trial ${trial}`).toBe(bruteForceRepetition(tokens, n));
    }
  });
});

describe('thinking-length histogram', () => {
  it('crafted: lengths 0..23 in 12 bins of width 2', () => {
    // max 23 → width ⌈24/12⌉ = 2, 12 bins [0,2) … [22,24). Correct: 0, 1, 5; wrong: 5, 22, 23.
    const h = thinkingHistogram([0, 1, 5], [5, 22, 23]);
    expect(h.length).toBe(12);
    expect(h.every((b, i) => b.startTokens === 2 * i && b.widthTokens === 2)).toBe(true);
    expect(h[0]).toMatchObject({ correct: 2, wrong: 0 });
    expect(h[2]).toMatchObject({ correct: 1, wrong: 1 });
    expect(h[11]).toMatchObject({ correct: 0, wrong: 2 });
    expect(h.reduce((s, b) => s + b.correct + b.wrong, 0)).toBe(6);
  });

  it('puts every length in the one bin covering it, at most HISTOGRAM_BINS equal bins from 0', () => {
    const rng = createRng(5);
    for (let trial = 0; trial < 100; trial++) {
      const max = rng.int(300);
      const correct = Array.from({ length: rng.int(20) }, () => rng.int(max + 1));
      const wrong = Array.from({ length: 1 + rng.int(20) }, () => rng.int(max + 1));
      const h = thinkingHistogram(correct, wrong);
      expect(h.length).toBeLessThanOrEqual(HISTOGRAM_BINS);
      expect(h[0]!.startTokens).toBe(0);
      const last = h[h.length - 1]!;
      expect(last.startTokens + last.widthTokens).toBeGreaterThan(Math.max(...correct, ...wrong));
      for (const [i, b] of h.entries()) {
        expect(b.widthTokens).toBe(h[0]!.widthTokens);
        expect(b.startTokens).toBe(i * b.widthTokens);
        const inBin = (x: number) => x >= b.startTokens && x < b.startTokens + b.widthTokens;
        expect(b.correct).toBe(correct.filter(inBin).length);
        expect(b.wrong).toBe(wrong.filter(inBin).length);
      }
    }
  });

  it('is empty without traces and rejects negative or fractional lengths', () => {
    expect(thinkingHistogram([], [])).toEqual([]);
    expect(thinkingHistogram([0], [])).toEqual([{ startTokens: 0, widthTokens: 1, correct: 1, wrong: 0 }]);
    expect(() => thinkingHistogram([-1], [])).toThrow(/non-negative integers/);
    expect(() => thinkingHistogram([1.5], [])).toThrow(/non-negative integers/);
  });
});

describe('aggregateTraces', () => {
  it('crafted: four traces', () => {
    const t = (
      correct: boolean,
      thinkingTokens: number,
      completionTokens: number,
      finished: boolean,
      repetition: number | null,
    ): TraceStats => ({ correct, thinkingTokens, completionTokens, finished, repetition });
    const traces = [
      t(true, 10, 20, true, 0),
      t(true, 20, 30, true, 0.5),
      t(false, 40, 64, false, 0.25),
      t(false, 2, 8, true, null),
    ];
    const a = aggregateTraces(traces);
    expect(a.accuracy).toBe(0.5); // 2 of 4
    expect(a.meanThinkingTokens).toBe(18); // (10 + 20 + 40 + 2) / 4
    expect(a.meanThinkingTokensCorrect).toBe(15); // (10 + 20) / 2
    expect(a.meanThinkingTokensWrong).toBe(21); // (40 + 2) / 2
    expect(a.meanCompletionTokens).toBe(30.5); // (20 + 30 + 64 + 8) / 4
    expect(a.stopRate).toBe(0.75); // 3 finished
    expect(a.repetitionRate).toBe(0.25); // (0 + 0.5 + 0.25) / 3: the trace shorter than the n-gram is left out
    expect(a.histogram.reduce((s, b) => s + b.correct, 0)).toBe(2);
    expect(a.histogram.reduce((s, b) => s + b.wrong, 0)).toBe(2);
  });

  it('null means when a verdict has no traces; 0 repetition when no trace is long enough', () => {
    const a = aggregateTraces([
      { correct: false, thinkingTokens: 3, completionTokens: 5, finished: false, repetition: null },
    ]);
    expect(a.accuracy).toBe(0);
    expect(a.meanThinkingTokensCorrect).toBeNull();
    expect(a.meanThinkingTokensWrong).toBe(3);
    expect(a.repetitionRate).toBe(0);
    expect(a.stopRate).toBe(0);
  });
});

describe('docs/metrics.md', () => {
  it('has a table row for every metric key', () => {
    const doc = readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
    for (const key of METRIC_KEYS) expect(doc, key).toMatch(new RegExp(`^\\| \`${key}\` +\\|`, 'm'));
    expect(doc).toContain(`\`REPETITION_NGRAM\` = ${REPETITION_NGRAM}`);
    expect(doc).toContain(`at most ${HISTOGRAM_BINS} bins`);
  });
});
