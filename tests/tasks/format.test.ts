import { describe, expect, it } from 'vitest';
import {
  buildPrompt,
  extractAnswer,
  extractThink,
  hashKey,
  lengthTagFor,
  MAX_COMPLETION_CHARS,
  parseIntStrict,
  thinkingTokens,
  wrapTarget,
} from '../../src/tasks/format';

describe('format helpers', () => {
  it('wraps targets and prompts in the documented format', () => {
    expect(wrapTarget({ think: 'a;b', answer: '7', intendedCorrect: true })).toBe(
      '<think>a;b</think><answer>7</answer><eos>',
    );
    expect(wrapTarget({ think: null, answer: '7', intendedCorrect: true })).toBe('<answer>7</answer><eos>');
    expect(buildPrompt('1+2=', 'long')).toBe('<long>1+2=');
    expect(buildPrompt('1+2=')).toBe('1+2=');
  });

  it('extracts think text and counts thinking tokens', () => {
    expect(extractThink('<think>abc</think><answer>1</answer>')).toBe('abc');
    expect(thinkingTokens('<think>abc</think><answer>1</answer>')).toBe(3);
    expect(extractThink('<think>ab<answer>1')).toBe('ab');
    expect(extractThink('no think')).toBeNull();
    expect(thinkingTokens('no think')).toBe(0);
    expect(thinkingTokens('<think>a<pad>b</think>')).toBe(3);
  });

  it('extracts the answer after the thinking, tolerant of junk', () => {
    expect(extractAnswer('<think>x</think><answer> 42 </answer><eos>junk')).toBe('42');
    expect(extractAnswer('<think><answer>1</answer></think><answer>2</answer>')).toBe('2');
    expect(extractAnswer('junk<answer>5<eos>more')).toBe('5');
    expect(extractAnswer('<answer>5')).toBe('5');
    expect(extractAnswer('<answer></answer>')).toBeNull();
    expect(extractAnswer('')).toBeNull();
    expect(extractAnswer(`${'x'.repeat(MAX_COMPLETION_CHARS)}<answer>5</answer>`)).toBeNull();
  });

  it('assigns length tags and parses strict integers', () => {
    expect(lengthTagFor(10, 40, 100)).toBe('short');
    expect(lengthTagFor(40, 40, 100)).toBe('medium');
    expect(lengthTagFor(100, 40, 100)).toBe('long');
    expect(parseIntStrict('-12', 5)).toBe(-12n);
    expect(parseIntStrict('12a', 5)).toBeNull();
    expect(parseIntStrict('-', 5)).toBeNull();
    expect(parseIntStrict('123456', 5)).toBeNull();
    expect(hashKey('a')).not.toBe(hashKey('b'));
  });
});
