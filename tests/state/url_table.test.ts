/**
 * The URL's settings table (src/state/url.ts) read against the run config's zod schema: each row gets its form from
 * the schema at its path, and every value a setting can take round-trips through a link on its own.
 */
import { describe, expect, it } from 'vitest';
import { configFromHash, configToHash, SETTINGS, type Setting } from '../../src/state/url';
import {
  DEFAULT_RL_CONFIG,
  DEFAULT_RUN_CONFIG,
  PLAYGROUND_MODEL_SIZES,
  type RunConfig,
  runConfigIssues,
} from '../../src/train/run_config';

const byKey = (key: string): Setting => {
  const s = SETTINGS.find((x) => x.key === key);
  if (!s) throw new Error(`no setting '${key}'`);
  return s;
};

/** Candidate raw values for a setting (numbers: a spread of integers and fractions). */
function candidates(s: Setting): string[] {
  switch (s.kind) {
    case 'number':
      return ['0', '1', '2', '3', '7', '16', '64', '100', '1000', '-2.5', '0.5', '0.25', '0.001', '2.5e-5'];
    case 'enum':
      return [...s.values];
    case 'list':
      return ['none', ...s.values, s.values.join(','), [...s.values].reverse().join(',')];
    case 'name':
      return ['id', 'size8', 'alpha'];
  }
}

describe('the URL settings table', () => {
  it("takes each setting's form from the schema at its path", () => {
    expect(byKey('steps')).toMatchObject({ kind: 'number', integer: true, path: 'sft.steps' });
    expect(byKey('lr')).toMatchObject({ kind: 'number', integer: false });
    expect(byKey('rlbeta')).toMatchObject({ kind: 'number', integer: false, section: 'rl' });
    expect(byKey('model')).toMatchObject({ kind: 'enum', values: PLAYGROUND_MODEL_SIZES });
    expect(byKey('stop').values).toEqual(['none', 'ts', 'bias', 'cap', 'extend', 'ts_logit', 'margin']);
    expect(byKey('rlmasktrunc')).toMatchObject({ kind: 'enum', values: ['0', '1'] });
    expect(byKey('rllevels')).toMatchObject({ kind: 'list', values: ['short', 'medium', 'long'] });
    expect(byKey('evalvar').kind).toBe('name');
    expect(SETTINGS.filter((s) => s.section === 'rl').every((s) => s.path.startsWith('rl.'))).toBe(true);
  });

  it('round-trips every valid value of every setting through a link, one setting at a time', () => {
    const bases: RunConfig[] = [
      { ...DEFAULT_RUN_CONFIG, task: { ...DEFAULT_RUN_CONFIG.task, id: 'sokoban' }, rl: DEFAULT_RL_CONFIG },
      { ...DEFAULT_RUN_CONFIG, rl: DEFAULT_RL_CONFIG },
    ];
    let checked = 0;
    for (const setting of SETTINGS) {
      for (const raw of candidates(setting)) {
        for (const base of bases) {
          const next = setting.parse(base, raw);
          if (typeof next === 'string' || runConfigIssues(next).length > 0) continue;
          expect(setting.get(next), setting.key).toBe(raw === '2.5e-5' ? '0.000025' : raw);
          const parsed = configFromHash(configToHash(next), base);
          expect(parsed.notices, `${setting.key}=${raw}`).toEqual([]);
          expect(parsed.config, `${setting.key}=${raw}`).toEqual(next);
          checked += 1;
        }
      }
    }
    expect(checked).toBeGreaterThan(SETTINGS.length * 2);
  });

  it("refuses a value of the wrong form with the form's own reason", () => {
    expect(byKey('steps').parse(DEFAULT_RUN_CONFIG, '2.5')).toBe('must be an integer');
    expect(byKey('lr').parse(DEFAULT_RUN_CONFIG, '0x10')).toBe('not a number');
    expect(byKey('lr').parse(DEFAULT_RUN_CONFIG, '1e999')).toBe('not a finite number');
    expect(byKey('rlmasktrunc').parse(DEFAULT_RUN_CONFIG, 'true')).toBe('must be one of 0, 1');
    expect(byKey('rllevels').parse(DEFAULT_RUN_CONFIG, 'short,,long')).toBe(
      "must be 'none' or a comma list of short, medium, long",
    );
    expect(byKey('evalvar').parse(DEFAULT_RUN_CONFIG, 'Size 8')).toBe('not a valid name');
  });
});
