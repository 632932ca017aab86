/**
 * The headless experiment runner: experiment files are validated field by field (they are untrusted), every preset
 * in experiments/ parses, and a small experiment runs on the real adapter and writes a run file the playground's
 * importer accepts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type Experiment,
  isMatrixPreset,
  parseExperiment,
  parseMatrixPreset,
  runExperiment,
} from '../../src/headless/experiment';
import { ConfigError } from '../../src/model/config';
import { exportRunFile, parseRunFile } from '../../src/runs/run_file';
import { createCpuBackend } from '../../src/train/backend_cpu';
import { createGpuBackend } from '../../src/train/backend_gpu';
import { buildEvalSet } from '../../src/train/data';
import { LAB_METHODS, LAB_TASKS, labConfig, labMethodsFor } from '../../src/train/lab_presets';
import { DEFAULT_RUN_CONFIG, modelConfigFor, parseRunConfig } from '../../src/train/run_config';
import { gpuContext } from '../helpers/gpu';

const preset = (name: string): unknown => JSON.parse(readFileSync(`experiments/${name}`, 'utf8'));

function issuesOf(input: unknown): string[] {
  try {
    parseExperiment(input);
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map((i) => `${i.path}: ${i.message}`);
    throw e;
  }
  return [];
}

describe('experiment files', () => {
  it('every preset parses', () => {
    const files = readdirSync('experiments').filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const f of files) {
      const doc = preset(f);
      if (isMatrixPreset(doc)) expect(() => parseMatrixPreset(doc), f).not.toThrow();
      else expect(issuesOf(doc), f).toEqual([]);
    }
  });

  it("every experiment preset's evaluation sets can be drawn (runExperiment checks it before training)", () => {
    const files = readdirSync('experiments').filter((f) => f.endsWith('.json'));
    let checked = 0;
    for (const f of files) {
      const doc = preset(f);
      if (isMatrixPreset(doc)) continue;
      const { config, evaluations } = parseExperiment(doc);
      for (const lengthTag of new Set(evaluations.map((ev) => ev.lengthTag ?? null))) {
        expect(() => buildEvalSet(config, { ...config.eval, lengthTag }), `${f} ${lengthTag}`).not.toThrow();
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(files.length / 2);
  });

  it('a matrix preset expands into one run per lab method, each with its suites, and names bad fields', () => {
    const all = parseMatrixPreset(preset('generalization-sokoban.json'));
    // Seeds 1, 2, 3, seed after seed: every method once per seed.
    expect(all.experiments.map((e) => e.config.seed)).toEqual([1, 2, 3].flatMap((s) => LAB_METHODS.map(() => s)));
    const m = { ...all, experiments: all.experiments.filter((e) => e.config.seed === 1) };
    expect(m.experiments.map((e) => e.config.task.id)).toEqual(LAB_METHODS.map(() => 'sokoban'));
    expect(m.experiments.map((e) => [e.config.task.targetStyle, e.config.task.instructions, !!e.config.rl])).toEqual([
      ['answer', 'fixed', false],
      ['answer', 'diverse', false],
      ['cot', 'fixed', false],
      ['cot', 'diverse', false],
      ['cot', 'fixed', true],
    ]);
    // Methods differ only in what they change: same model, seed and evaluation settings.
    expect(new Set(m.experiments.map((e) => JSON.stringify([e.config.model, e.config.seed, e.config.eval]))).size).toBe(
      1,
    );
    expect(
      m.experiments.every((e) => e.suites?.size === 64 && e.out.startsWith('experiments/out/generalization-sokoban/')),
    ).toBe(true);
    const bad = (matrix: object) => {
      try {
        parseMatrixPreset({ name: 'x', matrix });
      } catch (e) {
        if (e instanceof ConfigError) return e.issues.map((i) => i.path).join();
        throw e;
      }
      return '';
    };
    expect(bad({ task: 'arithmetic' })).toMatch(/matrix\.task/);
    expect(bad({ task: 'sokoban', methods: ['sft'] })).toMatch(/matrix\.methods\.0/);
    expect(bad({ task: 'sokoban', methods: ['cot', 'cot'] })).toMatch(/matrix\.methods/);
    expect(bad({ task: 'sokoban', suiteSize: 0 })).toMatch(/matrix\.suiteSize/);
    expect(
      issuesOf({ name: 'x', config: { task: { id: 'sokoban' } }, suites: { size: 2, variants: ['size99'] } }).join(),
    ).toMatch(/^suites\.variants\[0\]:/);
  });

  it("the 'software' scale keeps the paper's context, so every method of both tasks keeps its training data", () => {
    for (const task of LAB_TASKS) {
      for (const m of labMethodsFor(task)) {
        const software = parseRunConfig(labConfig(task, m.id, 'software'));
        const paper = labConfig(task, m.id, 'paper');
        expect(software.model.size, `${task} ${m.id}`).toBe('narrow');
        expect(modelConfigFor(software).contextLength).toBe(modelConfigFor(paper).contextLength);
        // What the scale changes is how much is trained, not the method: task settings and decoding are the paper's.
        expect(software.task).toEqual(paper.task);
        expect(software.decode).toEqual(paper.decode);
        expect(software.sft.steps).toBeLessThan(paper.sft.steps);
        expect(!!software.rl).toBe(!!paper.rl);
      }
    }
  });

  it('merges the config over the defaults and expands sweeps into decode settings', () => {
    const e = parseExperiment(preset('quick.json'));
    expect(e.config.model.size).toBe('tiny');
    expect(e.config.sft.learningRate).toBe(DEFAULT_RUN_CONFIG.sft.learningRate);
    expect(e.config.rl?.steps).toBe(1);
    expect(e.config.rl?.loss.lossType).toBe('dapo'); // from the RL defaults
    // Listed order: evaluations, then sweep points; each with its stage (default: the last one, here 'rl').
    expect(e.evaluations.map((x) => [x.stage, x.lengthTag])).toEqual([
      ['sft', null],
      ['rl', 'short'],
      ['sft', null],
    ]);
    expect(e.evaluations[2]!.decode).toMatchObject({ intervention: 'cap', thinkingBudgetTokens: 2, maxNewTokens: 8 });
    expect(e.out).toBe('experiments/out/quick.stoptime.json');
  });

  it('names every bad field and never pollutes prototypes', () => {
    expect(issuesOf({ name: 'x', extra: 1 }).join()).toMatch(/extra/);
    expect(issuesOf({ name: 'a b' }).join()).toMatch(/^name:/);
    expect(issuesOf({ name: 'x', config: { sft: { batchSize: 0 } } }).join()).toMatch(/^config\.sft\.batchSize:/);
    expect(issuesOf({ name: 'x', sweeps: [{ series: 'ts', values: [-1] }] }).join()).toMatch(
      /^sweeps\[0\]\.values\[0\]\.stopTemperature:/,
    );
    expect(issuesOf({ name: 'x', sweeps: [{ series: 'nope', values: [1] }] }).join()).toMatch(/sweeps\.0\.series/);
    expect(issuesOf({ name: 'x', evaluations: [{ decode: {}, stage: 'rl' }] }).join()).toMatch(
      /^evaluations\[0\]\.stage:/,
    );
    expect(issuesOf({ name: 'x', sweeps: [{ series: 'ts', values: [1], stage: 'rl' }] }).join()).toMatch(
      /^sweeps\[0\]\.stage:/,
    );
    expect(issuesOf({ name: 'x', config: { rl: { temperature: 0.5 } } }).join()).toMatch(/^config\.rl\.temperature:/);
    const hostile = JSON.parse('{"name":"x","config":{"__proto__":{"polluted":true},"seed":2}}');
    expect(parseExperiment(hostile).config.seed).toBe(2);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

/**
 * The runner is backend-agnostic: the full preset (SFT, an RL stage, evaluations, a sweep, suites) runs on the CPU
 * backend, where it takes seconds; on the adapter a smaller experiment (SFT, one evaluation) checks the same runner
 * drives the GPU backend (an RL step alone costs half a minute on a software adapter, and GRPO on the GPU has its own
 * tests in tests/train/grpo.test.ts).
 */
describe('running an experiment', () => {
  it('on the CPU backend: trains, evaluates every setting and writes a run file the playground imports', async () => {
    const experiment: Experiment = parseExperiment(preset('quick.json'));
    const lines: string[] = [];
    const { run, state } = await runExperiment(createCpuBackend(), experiment, (l) => lines.push(l), 0);
    // 2 SFT steps, then 1 RL step continuing the count. Each stage's evaluations and sweeps run after it.
    expect(run.stepsDone).toBe(3);
    expect(run.rlStartStep).toBe(2);
    expect(run.checkpointStep).toBe(3); // the timeline step, not the RL optimiser's count (1)
    expect(run.evalPoints.map((p) => [p.series, p.step, p.lengthTag ?? null, p.stage ?? 'sft'])).toEqual([
      ['temperature', 2, null, 'sft'],
      ['cap', 2, null, 'sft'],
      ['temperature', 3, 'short', 'rl'],
    ]);
    // The cap forces `</think>` after 2 thinking tokens.
    expect(run.evalPoints[1]!.meanThinkingTokens).toBeLessThanOrEqual(2);
    expect(run.evalPoints[2]!.samples.every((s) => s.prompt.startsWith('<short>'))).toBe(true);
    expect(lines.some((l) => /^step 2\/2/.test(l))).toBe(true);
    expect(lines.some((l) => /^rl step 1\/1/.test(l))).toBe(true);
    expect(lines.filter((l) => / accuracy +[\d.]+%/.test(l))).toHaveLength(3);
    // Suites after the last stage, in the task's variant order, each with its kind and a count it can hold.
    expect(run.suiteResults?.map((r) => [r.suite, r.kind, r.unit, r.problems])).toEqual([
      ['id', 'id', 'answer', 2],
      ['more_digits', 'difficulty', 'answer', 2],
    ]);
    for (const r of run.suiteResults!) expect(r.successes).toBeLessThanOrEqual(r.problems);
    expect(lines.filter((l) => /^suite /.test(l))).toHaveLength(2);
    const back = parseRunFile(exportRunFile(run, state, 'inline').json);
    expect(back.run.evalPoints).toEqual(JSON.parse(JSON.stringify(run.evalPoints)));
    expect(back.run.suiteResults).toEqual(JSON.parse(JSON.stringify(run.suiteResults)));
    expect(back.run.config).toEqual(experiment.config);
    expect(Buffer.from(back.checkpoint!.params.buffer).equals(Buffer.from(state.params.buffer))).toBe(true);
  });

  it('refuses an evaluation set the task cannot draw before training a step', async () => {
    const experiment = parseExperiment({
      name: 'too-many-problems',
      config: { task: { arithmeticMaxDigits: 1 }, sft: { steps: 100000 }, eval: { size: 4000 } },
      evaluations: [{ decode: { temperature: 0 } }],
    });
    const lines: string[] = [];
    const t0 = performance.now();
    await expect(runExperiment(createCpuBackend(), experiment, (l) => lines.push(l), 0)).rejects.toThrow(
      /eval\.size: cannot draw 4000 distinct held-out 'id' problems .*use a smaller evaluation set/,
    );
    expect(lines.filter((l) => /^step /.test(l))).toEqual([]);
    expect(performance.now() - t0).toBeLessThan(60_000);
  });

  it('on the adapter: SFT and an evaluation on the GPU backend, and a run file the playground imports', async () => {
    const ctx = await gpuContext();
    const quick = preset('quick.json') as { config: Record<string, Record<string, unknown>> };
    const { rl: _rl, ...sftOnly } = quick.config;
    // One problem: a generate call costs seconds on a software adapter (suites share the decoder and its chunked
    // generation with evaluations; their orchestration is the CPU test's above).
    const experiment = parseExperiment({
      name: 'quick-gpu',
      config: { ...sftOnly, sft: { ...sftOnly.sft, steps: 1 }, eval: { size: 1 }, decode: { maxNewTokens: 4 } },
      evaluations: [{ decode: { temperature: 0 } }],
    });
    const lines: string[] = [];
    const { run, state } = await runExperiment(createGpuBackend(ctx), experiment, (l) => lines.push(l), 0);
    expect(run.adapter).toBe(ctx.adapterName);
    expect(run.stepsDone).toBe(1);
    expect(run.rlStartStep ?? null).toBeNull();
    expect(run.checkpointStep).toBe(1);
    expect(run.evalPoints.map((p) => [p.series, p.step, p.problems])).toEqual([['temperature', 1, 1]]);
    expect(run.evalPoints[0]!.decode.maxNewTokens).toBe(4);
    expect(run.suiteResults ?? null).toBeNull();
    expect(lines.some((l) => /^step 1\/1/.test(l))).toBe(true);
    const back = parseRunFile(exportRunFile(run, state, 'inline').json);
    expect(back.run.evalPoints).toEqual(JSON.parse(JSON.stringify(run.evalPoints)));
    expect(Buffer.from(back.checkpoint!.params.buffer).equals(Buffer.from(state.params.buffer))).toBe(true);
  });
});
