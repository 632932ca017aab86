import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  checkTokenIds,
  MODEL_PRESETS,
  modelConfigIssues,
  validateModelConfig,
} from '../../src/model/config';

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

  it('rejects token ids out of range', () => {
    expect(() => checkTokenIds([0, 5, 64], 64)).toThrow(/tokens\[2\] = 64 is outside the vocabulary \[0, 64\)/);
    expect(() => checkTokenIds([0, -1], 64)).toThrow(/tokens\[1\]/);
    expect(() => checkTokenIds([0, 1.5], 64)).toThrow(/tokens\[1\]/);
    expect(() => checkTokenIds([0, 63], 64)).not.toThrow();
  });
});
