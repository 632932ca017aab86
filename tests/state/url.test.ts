/**
 * The URL hash codec (src/state/url.ts): every setting round-trips, and hostile or broken hashes are ignored field by
 * field with a notice naming the key, never throwing and never polluting the config.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { configFromHash, configToHash, MAX_HASH_CHARS, SETTINGS } from '../../src/state/url';
import { DEFAULT_RUN_CONFIG, type RunConfig, runConfigIssues } from '../../src/train/run_config';

const changed: RunConfig = {
  ...DEFAULT_RUN_CONFIG,
  seed: 77,
  task: { ...DEFAULT_RUN_CONFIG.task, id: 'sokoban', targetStyle: 'answer', instructions: 'diverse' },
  model: { size: 'tiny' },
  sft: { ...DEFAULT_RUN_CONFIG.sft, steps: 123, learningRate: 0.00125, batchSize: 7 },
  eval: { size: 64, variant: 'size8', seed: 5 },
  decode: {
    ...DEFAULT_RUN_CONFIG.decode,
    temperature: 0.35,
    intervention: 'ts',
    stopTemperature: 0.25,
    stopLogitBias: -2.5,
    topP: 0.9,
  },
};

describe('configToHash / configFromHash', () => {
  it('round-trips a config that differs from the defaults in every section', () => {
    expect(runConfigIssues(changed)).toEqual([]);
    const parsed = configFromHash(configToHash(changed));
    expect(parsed.notices).toEqual([]);
    expect(parsed.found).toBe(true);
    expect(parsed.config).toEqual(changed);
  });

  it('has one entry per leaf of the run config (besides the version), with unique keys', () => {
    const leaves = (o: object, prefix = ''): string[] =>
      Object.entries(o).flatMap(([k, v]) =>
        typeof v === 'object' && v !== null ? leaves(v, `${prefix}${k}.`) : [`${prefix}${k}`],
      );
    const paths = leaves(DEFAULT_RUN_CONFIG).filter((p) => p !== 'version');
    expect(SETTINGS.map((s) => s.path).sort()).toEqual(paths.sort());
    expect(new Set(SETTINGS.map((s) => s.key)).size).toBe(SETTINGS.length);
  });

  it('keeps good fields and ignores bad ones with a notice naming each', () => {
    const parsed = configFromHash('#seed=9&steps=-5&lr=abc&model=huge&topk=1.5&task=sokoban&bogus=1&seed=3');
    expect(parsed.config.seed).toBe(9);
    expect(parsed.config.task.id).toBe('sokoban');
    expect(parsed.config.sft.steps).toBe(DEFAULT_RUN_CONFIG.sft.steps);
    expect(parsed.config.sft.learningRate).toBe(DEFAULT_RUN_CONFIG.sft.learningRate);
    expect(parsed.config.model.size).toBe(DEFAULT_RUN_CONFIG.model.size);
    expect(parsed.config.decode.topK).toBe(DEFAULT_RUN_CONFIG.decode.topK);
    const text = parsed.notices.join('\n');
    for (const key of ['steps', 'lr', 'model', 'topk', 'bogus', "second value for 'seed'"]) expect(text).toContain(key);
    expect(runConfigIssues(parsed.config)).toEqual([]);
  });

  it('reverts settings that break cross-field rules (diverse instructions need Sokoban)', () => {
    const parsed = configFromHash('#task=arithmetic&instr=diverse&evalvar=size8&seed=4');
    expect(parsed.config.task.instructions).toBe('fixed');
    expect(parsed.config.eval.variant).toBe('id');
    expect(parsed.config.seed).toBe(4);
    expect(parsed.notices.some((n) => n.includes('instr'))).toBe(true);
    expect(parsed.notices.some((n) => n.includes('evalvar'))).toBe(true);
  });

  it('ignores hostile input: prototype keys, huge hashes, odd numbers', () => {
    const parsed = configFromHash('#__proto__=1&constructor=x&temp=Infinity&temp2=1&seed=0x10&tau=1e400');
    expect(parsed.config).toEqual(DEFAULT_RUN_CONFIG);
    expect(parsed.notices.length).toBeGreaterThanOrEqual(5);
    const huge = configFromHash(`#seed=${'1'.repeat(MAX_HASH_CHARS + 1)}`);
    expect(huge.config).toEqual(DEFAULT_RUN_CONFIG);
    expect(huge.notices[0]).toMatch(/too long/);
    expect(configFromHash('')).toEqual({ config: DEFAULT_RUN_CONFIG, notices: [], found: false });
  });

  it('never throws and always returns a valid config on arbitrary hashes', () => {
    const keys = ['seed', 'task', 'lr', 'steps', 'temp', 'evalvar', 'instr', 'stop', 'x', '%', '&', '='];
    const part = fc.tuple(fc.constantFrom(...keys), fc.string({ maxLength: 12 })).map(([k, v]) => `${k}=${v}`);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.array(part, { maxLength: 12 }).map((a) => a.join('&')),
        ),
        (h) => {
          const parsed = configFromHash(`#${h}`);
          expect(runConfigIssues(parsed.config)).toEqual([]);
        },
      ),
      { numRuns: 300, seed: 7 },
    );
  });
});
