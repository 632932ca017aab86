import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ANSWER_END_ID,
  ANSWER_START_ID,
  CHARS,
  countTokens,
  decode,
  EOS_ID,
  encode,
  isEncodable,
  LONG_ID,
  MEDIUM_ID,
  PAD_ID,
  SHORT_ID,
  THINK_END_ID,
  THINK_START_ID,
  VOCAB,
  vocabSize,
} from '../../src/tasks/tokenizer';

describe('tokenizer', () => {
  it('has a small vocabulary of unique tokens with the documented special ids', () => {
    expect(vocabSize).toBeLessThanOrEqual(100);
    expect(new Set(VOCAB).size).toBe(vocabSize);
    expect(VOCAB[PAD_ID]).toBe('<pad>');
    expect(VOCAB[EOS_ID]).toBe('<eos>');
    expect(VOCAB[THINK_START_ID]).toBe('<think>');
    expect(VOCAB[THINK_END_ID]).toBe('</think>');
    expect(VOCAB[ANSWER_START_ID]).toBe('<answer>');
    expect(VOCAB[ANSWER_END_ID]).toBe('</answer>');
    expect(VOCAB[SHORT_ID]).toBe('<short>');
    expect(VOCAB[MEDIUM_ID]).toBe('<medium>');
    expect(VOCAB[LONG_ID]).toBe('<long>');
    expect(CHARS).toContain('√');
  });

  it('encodes special tokens as single ids', () => {
    expect(encode('<long>1+2=<think>3</think><answer>3</answer><eos><pad>')).toEqual([
      LONG_ID,
      VOCAB.indexOf('1'),
      VOCAB.indexOf('+'),
      VOCAB.indexOf('2'),
      VOCAB.indexOf('='),
      THINK_START_ID,
      VOCAB.indexOf('3'),
      THINK_END_ID,
      ANSWER_START_ID,
      VOCAB.indexOf('3'),
      ANSWER_END_ID,
      EOS_ID,
      PAD_ID,
    ]);
  });

  it('round-trips any sequence of tokens (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: vocabSize - 1 }), { maxLength: 200 }), (ids) => {
        const text = decode(ids);
        expect(encode(text)).toEqual(ids);
        expect(decode(encode(text))).toBe(text);
        expect(countTokens(text)).toBe(ids.length);
        expect(isEncodable(text)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('names the code point and index of an unknown character', () => {
    expect(() => encode('12é3')).toThrow(/U\+00E9 'é' at index 2/);
    expect(() => encode('ab<x')).toThrow(/U\+003C '<' at index 2/);
    expect(() => encode('a😀')).toThrow(/U\+1F600 .* at index 1/);
    expect(isEncodable('12é3')).toBe(false);
  });

  it('rejects out-of-range and non-integer ids on decode', () => {
    expect(() => decode([0, vocabSize])).toThrow(/id .* at position 1 is outside the vocabulary/);
    expect(() => decode([-1])).toThrow(/outside the vocabulary/);
    expect(() => decode([1.5])).toThrow(/outside the vocabulary/);
    expect(decode(new Int32Array([EOS_ID]))).toBe('<eos>');
  });
});
