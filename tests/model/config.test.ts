import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  checkTokenIds,
  MODEL_PRESETS,
  modelConfigIssues,
  validateModelConfig,
} from '../../src/model/config';
import { vocabSize } from '../../src/tasks/tokenizer';

const good = MODEL_PRESETS.small;

function issuePaths(config: unknown): string[] {
  return modelConfigIssues(config).map((i) => i.path);
}

describe('model config validation', () => {
  it('accepts every preset', () => {
    for (const preset of Object.values(MODEL_PRESETS)) expect(modelConfigIssues(preset)).toEqual([]);
  });

  it('names the field when dModel is not divisible by nHeads', () => {
    const issues = modelConfigIssues({ ...good, dModel: 130, nHeads: 4 });
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toBe('model.nHeads');
    expect(issues[0]!.message).toMatch(/divisible/);
  });

  it('rejects an empty vocabulary, non-integer and non-numeric sizes, naming each field', () => {
    expect(issuePaths({ ...good, vocabSize: 0 })).toContain('model.vocabSize');
    expect(issuePaths({ ...good, dModel: 64.5 })).toEqual(['model.dModel']);
    expect(issuePaths({ ...good, nLayers: '4' })).toEqual(['model.nLayers']);
    expect(issuePaths({ ...good, contextLength: -1 })).toEqual(['model.contextLength']);
    expect(issuePaths({ ...good, mlpRatio: Number.NaN })).toEqual(['model.mlpRatio']);
    expect(issuePaths({ ...good, seed: 1.5 })).toEqual(['model.seed']);
    expect(issuePaths({ ...good, extra: 1 })).toEqual(['model.extra']);
    expect(issuePaths(null)).toEqual(['model']);
  });

  it('rejects sizes beyond the device limits before any allocation', () => {
    const limits = { maxStorageBufferBindingSize: 1 << 20, maxBufferSize: 1 << 21 };
    const issues = modelConfigIssues({ ...good, vocabSize: 1000, dModel: 512, nHeads: 8 }, limits);
    expect(issuePaths({ ...good, vocabSize: 5000 })).toEqual(['model.vocabSize']);
    expect(issues.map((i) => i.message).join()).toMatch(/maxStorageBufferBindingSize/);
    expect(() => validateModelConfig({ ...good, contextLength: 4096 })).toThrow(ConfigError);
    expect(() => validateModelConfig({ ...good, contextLength: 4096 })).toThrow(/model\.contextLength/);
  });

  it('rejects a model whose parameter arena (one buffer) exceeds the device limits, though each tensor fits', () => {
    // 64 layers of C 2048, MLP ×8: the largest tensor (c_fc, 2048 × 16384 f32) is exactly 128 MiB, the arena 21 GB.
    const big = { vocabSize: 1024, contextLength: 1024, dModel: 2048, nLayers: 64, nHeads: 16, mlpRatio: 8, seed: 1 };
    const issues = modelConfigIssues(big);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toBe('model');
    expect(issues[0]!.message).toMatch(
      /parameter arena needs \d+ bytes, over the device's maxStorageBufferBindingSize/,
    );
    // The same small model against a device with a small buffer limit.
    const limits = { maxStorageBufferBindingSize: 1 << 30, maxBufferSize: 1 << 20 };
    expect(modelConfigIssues(good, limits).map((i) => i.message)).toEqual([
      expect.stringMatching(/parameter arena needs \d+ bytes, over the device's maxBufferSize 1048576/),
    ]);
  });

  it('messages are bounded whatever the value', () => {
    const issues = modelConfigIssues({ ...good, dModel: 'x'.repeat(100_000), ['y'.repeat(100_000)]: 1 });
    expect(issues.map((i) => i.path.length + i.message.length)).toEqual([expect.any(Number), expect.any(Number)]);
    for (const i of issues) expect(`${i.path}: ${i.message}`.length).toBeLessThanOrEqual(300);
    expect(() => validateModelConfig({ ...good, dModel: 'x'.repeat(100_000) })).toThrow(/^model\.dModel: must be/);
  });

  it('rejects token ids out of range', () => {
    expect(() => checkTokenIds([0, 5, 64], 64)).toThrow(/tokens\[2\] = 64 is outside the vocabulary \[0, 64\)/);
    expect(() => checkTokenIds([0, -1], 64)).toThrow(/tokens\[1\]/);
    expect(() => checkTokenIds([0, 1.5], 64)).toThrow(/tokens\[1\]/);
    expect(() => checkTokenIds([0, 63], 64)).not.toThrow();
  });
});

describe('MODEL_PRESETS', () => {
  it("takes the tasks' vocabulary from the tokenizer (the benchmark's small keeps 64)", () => {
    for (const name of ['tiny', 'medium', 'narrow'] as const) expect(MODEL_PRESETS[name].vocabSize).toBe(vocabSize);
    expect(MODEL_PRESETS.small.vocabSize).toBe(64);
  });
});
