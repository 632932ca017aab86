/**
 * The URL hash codec (src/state/url.ts): every setting round-trips, and hostile or broken hashes are ignored field by
 * field with a notice naming the key, never throwing and never polluting the config.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { configFromHash, configToHash, MAX_HASH_CHARS, SETTINGS } from '../../src/state/url';
import {
  DEFAULT_RL_CONFIG,
  DEFAULT_RUN_CONFIG,
  type RlConfig,
  type RunConfig,
  runConfigIssues,
} from '../../src/train/run_config';

const changed: RunConfig = {
  ...DEFAULT_RUN_CONFIG,
  seed: 77,
  task: { ...DEFAULT_RUN_CONFIG.task, id: 'sokoban', targetStyle: 'answer', instructions: 'diverse' },
  model: { size: 'tiny', contextLength: 128 },
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

/** Every RL field (but temperature, which must be 1) away from its default, and still valid. */
const changedRl: RlConfig = {
  steps: 345,
  promptsPerStep: 12,
  generationsPerPrompt: 4,
  learningRate: 2.5e-5,
  gradClipNorm: 0.5,
  temperature: 1,
  maxCompletionTokens: 64,
  loss: { lossType: 'dr_grpo', epsilon: 0.15, epsilonHigh: 0.28, beta: 0.04, maskTruncatedCompletions: true },
  numIterations: 2,
  scaleRewards: 'batch',
  stdFloor: 0.001,
  reward: { formatReward: 0.25, lengthPenalty: 'group', lambda: 0.2, budgets: { short: 12, medium: 24, long: 48 } },
  levels: ['long', 'short'],
  evalEverySteps: 0,
  checkpointEverySteps: 25,
};

const rlKeys = SETTINGS.filter((s) => s.path.startsWith('rl.')).map((s) => s.key);
const hashKeys = (hash: string) => [...new URLSearchParams(hash.slice(1)).keys()];

describe('configToHash / configFromHash', () => {
  it('round-trips a config that differs from the defaults in every section', () => {
    expect(runConfigIssues(changed)).toEqual([]);
    const parsed = configFromHash(configToHash(changed));
    expect(parsed.notices).toEqual([]);
    expect(parsed.found).toBe(true);
    expect(parsed.config).toEqual(changed);
  });

  it('has one entry per leaf of the run config (besides the version and the fixed RL temperature), with unique keys', () => {
    // Arrays (rl.levels) are one setting each.
    const leaves = (o: object, prefix = ''): string[] =>
      Object.entries(o).flatMap(([k, v]) =>
        typeof v === 'object' && v !== null && !Array.isArray(v) ? leaves(v, `${prefix}${k}.`) : [`${prefix}${k}`],
      );
    const paths = leaves({
      ...DEFAULT_RUN_CONFIG,
      model: { size: 'tiny', contextLength: 128 },
      rl: DEFAULT_RL_CONFIG,
    }).filter((p) => p !== 'version' && p !== 'rl.temperature');
    expect(SETTINGS.map((s) => s.path).sort()).toEqual(paths.sort());
    expect(new Set(SETTINGS.map((s) => s.key)).size).toBe(SETTINGS.length);
  });

  it('writes an absent optional setting as a word and reads it back as absent', () => {
    // The model size's own context ("ctx=size"), and decode settings that configs saved before them lack.
    const { stopLogitTemperature: _, ...decode } = DEFAULT_RUN_CONFIG.decode;
    const config: RunConfig = { ...DEFAULT_RUN_CONFIG, model: { size: 'tiny' }, decode };
    const hash = configToHash(config);
    expect(hash).toContain('ctx=size');
    expect(hash).toContain('tauz=default');
    expect(hash).not.toContain('undefined');
    const parsed = configFromHash(hash);
    expect(parsed.notices).toEqual([]);
    expect(parsed.config).toEqual(config);
    // A link from before the context setting keeps the size's context; a bad context is refused by name.
    expect(configFromHash('#model=tiny').config.model).toEqual({ size: 'tiny' });
    const bad = configFromHash('#model=tiny&ctx=4096');
    expect(bad.config.model).toEqual({ size: 'tiny' });
    expect(bad.notices.join(' ')).toMatch(/ctx=4096.*model\.contextLength/);
  });

  it('round-trips a config whose every RL setting differs from the default', () => {
    const config: RunConfig = { ...changed, rl: changedRl };
    expect(runConfigIssues(config)).toEqual([]);
    const defaults: RunConfig = { ...DEFAULT_RUN_CONFIG, rl: DEFAULT_RL_CONFIG };
    const same = SETTINGS.filter((s) => s.path.startsWith('rl.') && s.get(config) === s.get(defaults));
    expect(same.map((s) => s.key)).toEqual([]);
    const hash = configToHash(config);
    expect(hash.length - 1).toBeLessThanOrEqual(MAX_HASH_CHARS);
    const parsed = configFromHash(hash);
    expect(parsed.notices).toEqual([]);
    expect(parsed.config).toEqual(config);
  });

  it('keeps the longest RL values within the hash limit', () => {
    // 17 significant digits: the longest a finite double prints as without an exponent this size.
    const long = (x: number) => Number(x.toPrecision(17));
    const rl: RlConfig = {
      ...changedRl,
      steps: 999_999,
      learningRate: long(1 / 3e5),
      gradClipNorm: long(1000 / 3.1),
      loss: { ...changedRl.loss, epsilon: long(1 / 3.3), epsilonHigh: long(10 / 3.3), beta: long(100 / 3.3) },
      stdFloor: long(1 / 3.3),
      reward: { ...changedRl.reward, formatReward: long(10 / 3.3), lambda: long(100 / 3.3) },
      levels: ['medium', 'long', 'short'],
      evalEverySteps: 999_999,
      checkpointEverySteps: 999_999,
    };
    const config: RunConfig = { ...changed, rl };
    expect(runConfigIssues(config)).toEqual([]);
    const hash = configToHash(config);
    expect(hash.length - 1).toBeLessThanOrEqual(MAX_HASH_CHARS);
    expect(configFromHash(hash)).toEqual({ config, notices: [], found: true });
  });

  it('writes no RL keys for a config without RL settings, and reads a link without them as before', () => {
    const hash = configToHash(changed);
    expect(hashKeys(hash).filter((k) => rlKeys.includes(k))).toEqual([]);
    const parsed = configFromHash(hash);
    expect('rl' in parsed.config).toBe(false);
    expect(parsed.config).toEqual(changed);
    expect('rl' in configFromHash('#seed=3').config).toBe(false);
    // Present but default RL settings stay present (the RL stage prefers them to the run's own).
    const explicit: RunConfig = { ...DEFAULT_RUN_CONFIG, rl: DEFAULT_RL_CONFIG };
    expect(hashKeys(configToHash(explicit))).toEqual(expect.arrayContaining(rlKeys));
    expect(configFromHash(configToHash(explicit)).config).toEqual(explicit);
  });

  it('starts a partial RL link from the default RL settings', () => {
    const parsed = configFromHash('#rlsteps=50&rllevels=long%2Cshort&rlmasktrunc=1&rlbmedium=40');
    expect(parsed.notices).toEqual([]);
    expect(parsed.config.rl).toEqual({
      ...DEFAULT_RL_CONFIG,
      steps: 50,
      levels: ['long', 'short'],
      loss: { ...DEFAULT_RL_CONFIG.loss, maskTruncatedCompletions: true },
      reward: { ...DEFAULT_RL_CONFIG.reward, budgets: { ...DEFAULT_RL_CONFIG.reward.budgets, medium: 40 } },
    });
    expect(configFromHash('#rllevels=none').config.rl?.levels).toEqual([]);
  });

  it('ignores hostile RL values with a notice naming each key, keeping their defaults', () => {
    const bad: Record<string, string> = {
      rlsteps: '0',
      rlprompts: '2.5',
      rlgens: '1',
      rllr: 'Infinity',
      rlclip: '-1',
      rlmaxnew: '99999',
      rlloss: 'ppo',
      rleps: '1',
      rlepshi: '0x1',
      rlbeta: '1e999',
      rlmasktrunc: 'true',
      rliters: '17',
      rlscale: '__proto__',
      rlstdfloor: '2',
      rlformat: '11',
      rlpenalty: 'Budget',
      rllambda: '',
      rlbshort: '100',
      rllevels: 'short,,long',
      rlsampleevery: '-3',
      rlckptevery: '0',
    };
    expect(Object.keys(bad).sort()).toEqual(rlKeys.filter((k) => k !== 'rlbmedium' && k !== 'rlblong').sort());
    const parsed = configFromHash(`#seed=4&${new URLSearchParams(bad).toString()}`);
    expect(parsed.config).toEqual({ ...DEFAULT_RUN_CONFIG, seed: 4 });
    expect('rl' in parsed.config).toBe(false);
    for (const key of Object.keys(bad)) expect(parsed.notices.some((n) => n.includes(`'${key}=`))).toBe(true);
    expect(parsed.notices).toHaveLength(Object.keys(bad).length);
  });

  it('keeps the valid RL keys of a link when others are refused', () => {
    const parsed = configFromHash('#rlsteps=40&rllevels=short%2Cshort&rlbshort=10&rlbmedium=5&rlscale=none');
    expect(parsed.config.rl).toEqual({ ...DEFAULT_RL_CONFIG, steps: 40, scaleRewards: 'none' });
    const text = parsed.notices.join('\n');
    // A repeated level and budgets out of order are each refused by their rule, naming every key involved.
    expect(text).toMatch(/'rllevels=short,short' \(rl\.levels\): must not repeat a level/);
    expect(text).toMatch(/'rlbshort=10' \(rl\.reward\.budgets\.short\): must satisfy short ≤ medium ≤ long/);
    expect(text).toMatch(/'rlbmedium=5' \(rl\.reward\.budgets\.medium\)/);
    expect(runConfigIssues(parsed.config)).toEqual([]);
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
    const keys = ['seed', 'task', 'lr', 'steps', 'temp', 'evalvar', 'instr', 'stop', 'x', '%', '&', '=', ...rlKeys];
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
