/**
 * Matrix presets with seeds (src/headless/experiment.ts): every method once per seed, seed after seed, one run file
 * each; --seeds keeps some of them; and the report's results-matrix section over the run files (src/headless/report.ts):
 * a method's seeds in one row, mean [95% interval] · seeds × episodes, also for a one-seed matrix.
 */
import { describe, expect, it } from 'vitest';
import { matrixForSeeds, parseMatrixPreset } from '../../src/headless/experiment';
import { renderMarkdownReport, renderMatrixSections } from '../../src/headless/report';
import { ConfigError } from '../../src/model/config';
import { clusteredInterval } from '../../src/runs/matrix';
import type { RunRecord } from '../../src/runs/run_record';
import { labMethodsFor } from '../../src/train/lab_presets';
import type { SuiteResult } from '../../src/train/suite_types';
import { wilsonInterval } from '../../src/util/stats';

const methods = labMethodsFor('sokoban').map((m) => m.id);

describe('matrix presets with seeds', () => {
  it('expand into every method for each seed, seed after seed, with a run file per method and seed', () => {
    const p = parseMatrixPreset({ name: 'm', matrix: { task: 'sokoban', scale: 'smoke', seeds: [3, 1, 2] } });
    expect(p.seeds).toEqual([3, 1, 2]);
    expect(p.experiments.map((e) => e.config.seed)).toEqual([3, 1, 2].flatMap((s) => methods.map(() => s)));
    expect(p.experiments.slice(0, methods.length).map((e) => e.out)).toEqual(
      methods.map((m) => `experiments/out/m/${m}-seed-3.stoptime.json`),
    );
    // A method's runs share their name (the matrix's row) and differ only in the seed.
    const answer = p.experiments.filter((e) => e.out.includes('/answer-seed-'));
    expect(new Set(answer.map((e) => e.name)).size).toBe(1);
    expect(new Set(answer.map((e) => JSON.stringify({ ...e.config, seed: 0 }))).size).toBe(1);
    expect(new Set(p.experiments.map((e) => e.out)).size).toBe(p.experiments.length);
  });

  it('keep the one-seed form: `seed` (default 1) and run files named by method alone', () => {
    for (const matrix of [{ task: 'sokoban' }, { task: 'sokoban', seed: 1 }, { task: 'sokoban', seeds: [1] }]) {
      const p = parseMatrixPreset({ name: 'one', matrix: { ...matrix, scale: 'smoke' } });
      expect(p.seeds).toEqual([1]);
      expect(p.experiments.map((e) => e.out)).toEqual(methods.map((m) => `experiments/out/one/${m}.stoptime.json`));
    }
  });

  it('name bad seeds; --seeds keeps some of them and refuses others', () => {
    const paths = (matrix: object) => {
      try {
        parseMatrixPreset({ name: 'x', matrix: { task: 'sokoban', ...matrix } });
      } catch (e) {
        if (e instanceof ConfigError) return e.issues.map((i) => `${i.path}: ${i.message}`).join('; ');
        throw e;
      }
      return '';
    };
    expect(paths({ seeds: [1, 1] })).toMatch(/matrix\.seeds: lists a seed twice/);
    expect(paths({ seeds: [] })).toMatch(/matrix\.seeds/);
    expect(paths({ seed: 1, seeds: [1, 2] })).toMatch(/matrix\.seeds: give 'seed' or 'seeds', not both/);
    const p = parseMatrixPreset({ name: 'x', matrix: { task: 'sokoban', scale: 'smoke', seeds: [1, 2, 3] } });
    const only = matrixForSeeds(p, [3, 1]);
    expect(only.seeds).toEqual([1, 3]);
    expect(only.experiments.map((e) => e.config.seed)).toEqual([1, 3].flatMap((s) => methods.map(() => s)));
    expect(matrixForSeeds(p, null)).toBe(p);
    expect(() => matrixForSeeds(p, [4])).toThrow(/--seeds: 4 not among the matrix's seeds \(1, 2, 3\)/);
  });
});

describe("the report's results matrix", () => {
  const preset = parseMatrixPreset({
    name: 'r',
    matrix: { task: 'sokoban', scale: 'smoke', methods: ['answer', 'cot'], seeds: [1, 2] },
  });
  /** A finished run of a preset experiment with `id` solved `s` of 8 episodes, `fake` 0 of 8. */
  const record = (k: number, s: number): RunRecord => {
    const e = preset.experiments[k]!;
    const suite = (name: string, kind: SuiteResult['kind'], successes: number): SuiteResult => ({
      task: 'sokoban',
      suite: name,
      kind,
      unit: 'episode',
      problems: 8,
      successes,
      meanThinkingTokens: 0,
      meanActions: 2,
      evalTimeMs: 1,
      samples: [],
    });
    return {
      id: `run-${k}`,
      name: e.name,
      createdAt: k,
      updatedAt: k,
      config: e.config,
      status: 'finished',
      adapter: 'CPU reference',
      stepsDone: e.config.sft.steps,
      timeline: [],
      evalPoints: [],
      samples: null,
      checkpointStep: null,
      suiteResults: [suite('id', 'id', s), suite('fake_numeric', 'fake', 0)],
    };
  };
  // Experiments: seed 1 (answer, cot), then seed 2 (answer, cot).
  const runs = [record(0, 2), record(1, 6), record(2, 4), record(3, 8)];

  it('prints one row per method over its seeds: mean [low, high] · seeds × episodes', () => {
    const [section, ...more] = renderMatrixSections(runs);
    expect(more).toEqual([]);
    expect(section).toContain('## Results matrix: sokoban (seeds 1, 2)');
    const answer = clusteredInterval([
      { successes: 2, problems: 8 },
      { successes: 4, problems: 8 },
    ]).ci.map((x) => x.toFixed(2));
    const zero = wilsonInterval(0, 16).high.toFixed(2);
    expect(section).toContain(
      `| SFT answer-only | 1, 2 | 0.38 [${answer[0]}, ${answer[1]}] · 2 × 8 | 0.00 [0.00, ${zero}] · 2 × 8 |`,
    );
    expect(section).toContain('| SFT chain-of-thought | 1, 2 | 0.88 [');
  });

  it('prints a one-seed matrix with the Wilson interval of each run', () => {
    const [section] = renderMatrixSections([runs[0]!, runs[1]!]);
    expect(section).toContain('## Results matrix: sokoban (seed 1)');
    const { low, high } = wilsonInterval(2, 8);
    const [lo, hi] = [low, high].map((x) => x.toFixed(2));
    expect(section).toContain(`| SFT answer-only | 1 | 0.25 [${lo}, ${hi}] · 1 × 8 |`);
  });

  it('makes a page of the matrix alone when the runs have no evaluation points', () => {
    const page = renderMarkdownReport({
      title: 'Results matrix',
      subtitle: [],
      svgFileName: '',
      series: [],
      notes: [],
      sections: renderMatrixSections(runs),
    });
    expect(page).not.toContain('![');
    expect(page).toContain('## Results matrix: sokoban');
    expect(renderMatrixSections([{ ...runs[0]!, suiteResults: null }])).toEqual([]);
  });
});
