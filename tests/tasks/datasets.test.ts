import { describe, expect, it } from 'vitest';
import {
  buildEvalSuite,
  buildEvalSuites,
  buildRlPrompts,
  buildSftSet,
  DEFAULT_HELD_OUT_PERCENT,
  isHeldOut,
} from '../../src/tasks/datasets';
import { extractAnswer, thinkingTokens } from '../../src/tasks/format';
import { getTask, TASK_IDS } from '../../src/tasks/index';
import { type Action, optimalActions, type SokobanProblem, solve } from '../../src/tasks/sokoban';
import { countTokens, decode, encode } from '../../src/tasks/tokenizer';
import type { TaskId } from '../../src/tasks/types';

const EVAL_SIZE: Record<TaskId, number> = { arithmetic: 40, general_points: 25, sokoban: 12 };

describe('datasets', () => {
  it('SFT sets are deterministic from the seed and differ across seeds', () => {
    for (const task of TASK_IDS) {
      const a = buildSftSet({ task, size: 20, seed: 1, style: 'cot' });
      const b = buildSftSet({ task, size: 20, seed: 1, style: 'cot' });
      const c = buildSftSet({ task, size: 20, seed: 2, style: 'cot' });
      expect(JSON.stringify(a)).toBe(JSON.stringify(b));
      expect(JSON.stringify(a)).not.toBe(JSON.stringify(c));
    }
  });

  it('samples follow the text format, encode, fit the bound, and their targets verify as intended', () => {
    for (const task of TASK_IDS) {
      const def = getTask(task);
      for (const style of ['cot', 'answer'] as const) {
        for (const s of buildSftSet({ task, size: 40, seed: 3, style })) {
          expect(s.target.endsWith('<eos>')).toBe(true);
          expect(s.target.startsWith(style === 'cot' ? '<think>' : '<answer>')).toBe(true);
          expect(decode(encode(s.prompt + s.target))).toBe(s.prompt + s.target);
          expect(s.meta.sequenceTokens).toBe(countTokens(s.prompt + s.target));
          expect(s.meta.sequenceTokens).toBeLessThanOrEqual(def.maxSequenceTokens(def.defaultConfig, s.meta.variant));
          expect(s.meta.thinkingTokens).toBe(thinkingTokens(s.target));
          const v = def.verify(s.problem, s.target);
          expect(v.correct).toBe(s.meta.intendedCorrect);
          if (style === 'answer') expect(s.meta.intendedCorrect).toBe(true);
        }
      }
    }
  });

  it('length tags follow the trace length; RL prompts carry the requested tag', () => {
    const set = buildSftSet({
      task: 'arithmetic',
      size: 200,
      seed: 4,
      style: 'cot',
      lengthTags: { shortBelow: 30, longFrom: 80 },
    });
    for (const s of set) {
      const want = s.meta.thinkingTokens < 30 ? 'short' : s.meta.thinkingTokens >= 80 ? 'long' : 'medium';
      expect(s.meta.lengthTag).toBe(want);
      expect(s.prompt.startsWith(`<${want}>`)).toBe(true);
    }
    expect(new Set(set.map((s) => s.meta.lengthTag)).size).toBe(3);
    // untaggedPercent: that share of problems (by key and seed) keeps a plain prompt; the rest are tagged as before,
    // with the same targets (the choice draws nothing from the trace writer's random stream).
    const mixed = buildSftSet({
      task: 'arithmetic',
      size: 400,
      seed: 4,
      style: 'cot',
      lengthTags: { shortBelow: 30, longFrom: 80, untaggedPercent: 25 },
    });
    const tagged400 = buildSftSet({
      task: 'arithmetic',
      size: 400,
      seed: 4,
      style: 'cot',
      lengthTags: { shortBelow: 30, longFrom: 80 },
    });
    expect(mixed.map((s) => s.target)).toEqual(tagged400.map((s) => s.target));
    const untagged = mixed.filter((s) => s.meta.lengthTag === null);
    // Binomial(400, 0.25): mean 100, sd ≈ 8.7; [60, 140] is > 4.5 sd wide either side.
    expect(untagged.length).toBeGreaterThan(60);
    expect(untagged.length).toBeLessThan(140);
    for (const [i, s] of mixed.entries()) {
      if (s.meta.lengthTag === null) expect(s.prompt.startsWith('<')).toBe(false);
      else expect(s.prompt).toBe(tagged400[i]!.prompt);
    }
    // The choice follows the problem, not its position: a repeated problem gets the same treatment.
    const byKey = new Map<string, boolean>();
    for (const s of mixed) {
      const seen = byKey.get(s.meta.key);
      if (seen !== undefined) expect(s.meta.lengthTag === null).toBe(seen);
      byKey.set(s.meta.key, s.meta.lengthTag === null);
    }
    const rl = buildRlPrompts({ task: 'general_points', size: 5, seed: 1, lengthTag: 'short' });
    for (const r of rl) expect(r.prompt.startsWith('<short>cards ')).toBe(true);
  });

  it('diverse instructions exist for Sokoban and General Points, not arithmetic', () => {
    const set = buildSftSet({ task: 'sokoban', size: 10, seed: 1, style: 'answer', instructions: 'diverse' });
    expect(set.every((s) => s.meta.variant === 'diverse')).toBe(true);
    // A mapping line, or (DIVERSE_PLAIN_SHARE of them) the plain training line.
    for (const s of set) expect(s.prompt.includes('=Up') || s.prompt.endsWith('act Up,Down,Left,Right:')).toBe(true);
    // General Points: each prompt states its own face rule, none an evaluation variant's but the training rule
    // (GP_DIVERSE_ID_SHARE of them), on training-side problems.
    const gpSet = buildSftSet({ task: 'general_points', size: 60, seed: 1, style: 'cot', instructions: 'diverse' });
    const gpDef = getTask('general_points');
    const evalRuleTexts = new Set(
      gpDef.variants
        .filter((v) => v !== 'diverse')
        .map(
          (variant) => buildEvalSuite({ task: 'general_points', variant, size: 5, seed: 1 })[0]!.prompt.split(';')[1],
        ),
    );
    expect(evalRuleTexts).toEqual(
      new Set(['A=1,J=Q=K=10', 'A=1,J=11,Q=12,K=13', 'A=1,J=Q=K=5', 'A=1,J=Q=K=7', 'A=1,J=Q=K=12']),
    );
    const ruleTexts = new Set<string>();
    for (const s of gpSet) {
      expect(s.meta.variant).toBe('diverse');
      const ruleText = s.prompt.split(';')[1] as string;
      if (ruleText === 'A=1,J=Q=K=10') continue;
      expect(ruleText).toMatch(/^A=1,J=(Q=K=\d|\d,Q=\d,K=\d)$/);
      expect(evalRuleTexts.has(ruleText)).toBe(false);
      ruleTexts.add(ruleText);
      expect(isHeldOut(s.meta.key)).toBe(false);
      expect(gpDef.verify(s.problem, s.target).correct).toBe(true);
    }
    expect(ruleTexts.size).toBeGreaterThan(15);
    expect(() => buildSftSet({ task: 'arithmetic', size: 1, seed: 1, style: 'cot', instructions: 'diverse' })).toThrow(
      /no diverse/,
    );
    expect(() => buildSftSet({ task: 'arithmetic', size: 1, seed: 1, style: 'cot', variant: 'nope' })).toThrow(
      /no variant/,
    );
  });

  it('RL prompts and SFT sets are training-side; Sokoban RL prompts are states along the plan (starts on request)', () => {
    for (const task of TASK_IDS) {
      const def = getTask(task);
      for (const r of buildRlPrompts({ task, size: 15, seed: 9 })) {
        for (const k of def.splitKeys(r.problem)) expect(isHeldOut(k)).toBe(false);
        expect(extractAnswer(r.prompt)).toBeNull();
      }
    }
    for (const r of buildRlPrompts({ task: 'sokoban', size: 5, seed: 9, atStart: true })) {
      const p = r.problem as { level: unknown; state: unknown };
      expect(p.state).toEqual(p.level);
    }
    // Default: a state along the level's optimal plan, with its own optimal actions (the per-turn reward's answers).
    let midPlan = 0;
    for (const r of buildRlPrompts({ task: 'sokoban', size: 30, seed: 9 })) {
      const p = r.problem as SokobanProblem;
      const fromStart = solve(p.level) as Action[];
      expect(p.plan.length).toBeLessThanOrEqual(fromStart.length);
      if (p.plan.length < fromStart.length) midPlan++;
      expect(p.optimal).toEqual(optimalActions(p.state));
      expect(p.optimal.length).toBeGreaterThan(0);
    }
    expect(midPlan).toBeGreaterThan(10);
  });

  it('evaluation suites per variant share no problem with training sets, and have no duplicates', () => {
    for (const task of TASK_IDS) {
      const def = getTask(task);
      const trainKeys = new Set<string>();
      for (const variant of def.variants) {
        for (const s of buildSftSet({ task, size: 40, seed: 100, style: 'answer', variant })) {
          for (const k of def.splitKeys(s.problem)) trainKeys.add(k);
        }
      }
      for (const r of buildRlPrompts({ task, size: 40, seed: 101 }))
        for (const k of def.splitKeys(r.problem)) trainKeys.add(k);
      const suites = buildEvalSuites({ task, size: EVAL_SIZE[task], seed: 200 });
      expect(Object.keys(suites).sort()).toEqual([...def.variants].sort());
      for (const [variant, suite] of Object.entries(suites)) {
        expect(suite).toHaveLength(EVAL_SIZE[task]);
        const keys = suite.map((s) => s.meta.key);
        expect(new Set(keys).size).toBe(keys.length);
        for (const s of suite) {
          expect(s.meta.variant).toBe(variant);
          for (const k of def.splitKeys(s.problem)) {
            expect(trainKeys.has(k)).toBe(false);
            expect(isHeldOut(k)).toBe(true);
          }
          expect(def.verify(s.problem, s.target).correct).toBe(true);
        }
      }
    }
  });

  it('no eval question is an equivalent restatement of a training question (24: J/Q/K vs 10; arithmetic: a+b vs b+a)', () => {
    // Equivalence is computed here from the prompt text alone, independently of the modules' problem keys.
    const statedValues = (prompt: string): string => {
      const m = /cards ([^;]+);A=1,J=Q=K=(\d+);target (\d+):/.exec(prompt);
      if (!m) throw new Error(`unexpected prompt ${prompt}`);
      const face = Number(m[2]);
      const vals = (m[1] as string).split(',').map((c) => (c === 'A' ? 1 : 'JQK'.includes(c) ? face : Number(c)));
      return `${m[3]}:${vals.sort((x, y) => x - y).join(',')}`;
    };
    const gpTrain = new Set(
      buildSftSet({ task: 'general_points', size: 400, seed: 21, style: 'answer' }).map((s) => statedValues(s.prompt)),
    );
    for (const r of buildRlPrompts({ task: 'general_points', size: 200, seed: 22 }))
      gpTrain.add(statedValues(r.prompt));
    const gpEval = buildEvalSuite({ task: 'general_points', variant: 'id', size: 60, seed: 23 });
    const evalValues = gpEval.map((s) => statedValues(s.prompt));
    expect(new Set(evalValues).size).toBe(evalValues.length);
    for (const v of evalValues) expect(gpTrain.has(v)).toBe(false);

    const commuted = (prompt: string): string => {
      const m = /^(\d+)([-+*])(\d+)=$/.exec(prompt);
      if (!m) throw new Error(`unexpected prompt ${prompt}`);
      const [a, op, b] = [Number(m[1]), m[2], Number(m[3])];
      return op === '-' ? `${a}-${b}` : `${Math.min(a, b)}${op}${Math.max(a, b)}`;
    };
    const arTrain = new Set(
      buildSftSet({ task: 'arithmetic', size: 3000, seed: 31, style: 'answer' }).map((s) => commuted(s.prompt)),
    );
    const arEval = buildEvalSuite({ task: 'arithmetic', variant: 'id', size: 300, seed: 32 });
    for (const s of arEval) expect(arTrain.has(commuted(s.prompt))).toBe(false);
  });

  it('the held-out split is about the configured fraction and eval suites are deterministic', () => {
    let held = 0;
    for (let i = 0; i < 5000; i++) if (isHeldOut(`ar:${i}+${i * 7}`)) held++;
    expect(held / 5000).toBeGreaterThan(DEFAULT_HELD_OUT_PERCENT / 100 - 0.03);
    expect(held / 5000).toBeLessThan(DEFAULT_HELD_OUT_PERCENT / 100 + 0.03);
    const a = buildEvalSuite({ task: 'general_points', variant: 'five_cards', size: 10, seed: 5 });
    const b = buildEvalSuite({ task: 'general_points', variant: 'five_cards', size: 10, seed: 5 });
    expect(a).toEqual(b);
  });
});
