/**
 * Fresh SFT data (sft.data 'fresh', src/train/data.ts): every row of every step is a new example drawn from the
 * task's generator, a pure function of (seed, step, row), never a held-out problem; examples seen and distinct
 * examples in the run's metrics; the config field's validation, URL and TRL-export handling. CPU only.
 */
import { describe, expect, it } from 'vitest';
import { sftConfigFor } from '../../src/export/trl_config';
import { buildTrlExport } from '../../src/export/trl_export';
import { parseExperiment, runExperiment } from '../../src/headless/experiment';
import { configFromHash, configToHash } from '../../src/state/url';
import { isHeldOut } from '../../src/tasks/datasets';
import { getTask } from '../../src/tasks/index';
import type { TrainerState } from '../../src/train/backend';
import { createCpuBackend } from '../../src/train/backend_cpu';
import {
  buildSftData,
  ExampleTally,
  examplesAt,
  FRESH_MAX_DRAWS,
  fitsContext,
  freshSampleAt,
  freshSeed,
} from '../../src/train/data';
import { METRIC } from '../../src/train/metrics';
import { DEFAULT_RUN_CONFIG, type RunConfig, runConfigIssues, sftDataMode } from '../../src/train/run_config';
import { SftSession } from '../../src/train/sft';
import { tinyOneDigitRun } from '../helpers/tiny_run';

const fresh = (c: RunConfig): RunConfig => ({ ...c, sft: { ...c.sft, data: 'fresh' } });
const ids = (a: Int32Array) => Array.from(a);

describe('fresh data', () => {
  it('is a pure function of (seed, step, row): rebuilt data gives the same examples; other seeds and steps differ', () => {
    const c = fresh(tinyOneDigitRun(5, { batchSize: 4, trainSize: 16 }));
    const a = buildSftData(c);
    const b = buildSftData(c);
    expect(a.mode).toBe('fresh');
    for (const step of [0, 1, 7, 123, 5000]) {
      expect(examplesAt(b, step).map((e) => ids(e.ids))).toEqual(examplesAt(a, step).map((e) => ids(e.ids)));
    }
    // Asking out of order (a resume starts mid-stream) does not change a step's rows.
    const later = examplesAt(a, 123).map((e) => ids(e.ids));
    examplesAt(a, 4);
    expect(examplesAt(a, 123).map((e) => ids(e.ids))).toEqual(later);
    const otherSeed = buildSftData({ ...c, seed: 6 });
    const rows = (d: typeof a, s: number) => examplesAt(d, s).map((e) => e.key);
    const stream = (d: typeof a) => Array.from({ length: 30 }, (_, s) => rows(d, s)).flat();
    expect(stream(otherSeed)).not.toEqual(stream(a));
    // Consecutive steps are not copies of each other.
    expect(rows(a, 0)).not.toEqual(rows(a, 1));
    // Distinct seeds for neighbouring (step, row, draw).
    const seeds = new Set<number>();
    for (let s = 0; s < 20; s++)
      for (let r = 0; r < 20; r++) for (let d = 0; d < 3; d++) seeds.add(freshSeed(5, s, r, d));
    expect(seeds.size).toBe(20 * 20 * 3);
  });

  it('never draws a held-out problem (one-digit arithmetic: 400 steps; Sokoban, diverse: 24 steps)', () => {
    const arith = buildSftData(fresh(tinyOneDigitRun(2, { batchSize: 8, trainSize: 16 })));
    const task = getTask('arithmetic');
    const keys = new Set<string>();
    for (let s = 0; s < 400; s++) {
      for (let r = 0; r < 8; r++) {
        const { sample, example } = freshSampleAt(arith, s, r);
        expect(task.splitKeys(sample.problem).some((k) => isHeldOut(k))).toBe(false);
        expect(example.key).toBe(task.problemKey(sample.problem));
        expect(fitsContext(example, arith.seqLen)).toBe(true);
        keys.add(example.key);
      }
    }
    // The one-digit space is small (a few hundred problems, 20% held out): 3,200 draws visit most of its training
    // side, so a generator that leaked held-out problems would have shown one.
    expect(keys.size).toBeGreaterThan(150);
    const sokobanRun: RunConfig = fresh({
      ...DEFAULT_RUN_CONFIG,
      seed: 9,
      task: { ...DEFAULT_RUN_CONFIG.task, id: 'sokoban', targetStyle: 'cot', instructions: 'diverse' },
      model: { size: 'small' },
      sft: { ...DEFAULT_RUN_CONFIG.sft, batchSize: 4, trainSize: 24 },
    });
    const sokoban = buildSftData(sokobanRun);
    const sTask = getTask('sokoban');
    for (let s = 0; s < 24; s++) {
      for (let r = 0; r < 4; r++) {
        const { sample } = freshSampleAt(sokoban, s, r);
        expect(sTask.splitKeys(sample.problem).some((k) => isHeldOut(k))).toBe(false);
        expect(sample.meta.variant).toBe('diverse');
      }
    }
  });

  it('replaces a draw that does not fit the window and names the window when none of them fits', () => {
    const c = fresh(tinyOneDigitRun(3, { batchSize: 4, trainSize: 64 }));
    const data = buildSftData(c);
    const lengths = Array.from({ length: 50 }, (_, s) => examplesAt(data, s).map((e) => e.ids.length)).flat();
    const shortest = Math.min(...lengths);
    // A window that only the shorter examples fit: every row drawn still fits it (long draws were replaced).
    const narrow = { ...data, seqLen: shortest + 1 };
    for (let s = 0; s < 50; s++)
      for (const e of examplesAt(narrow, s)) expect(fitsContext(e, narrow.seqLen)).toBe(true);
    expect(() => examplesAt({ ...data, seqLen: 2 }, 0)).toThrow(
      new RegExp(`${FRESH_MAX_DRAWS} draws in a row for step 0, row 0 do not fit the training window of 2 tokens`),
    );
  });

  it('counts distinct examples: fresh keeps growing, fixed stops at the training set after one epoch', () => {
    const base = tinyOneDigitRun(4, { batchSize: 8, trainSize: 40 });
    base.task = { ...base.task, arithmeticMaxDigits: 2 };
    const fixed = buildSftData(base);
    const freshData = buildSftData(fresh(base));
    const setKeys = new Set(fixed.sequences.map((e) => e.key)).size;
    expect(setKeys).toBeLessThanOrEqual(40);
    const distinct = (d: typeof fixed, steps: number) => ExampleTally.through(d, steps).distinct;
    // 40 examples / 8 rows: the first epoch ends at step 5; later epochs only revisit them.
    expect(distinct(fixed, 2)).toBeLessThan(setKeys);
    expect(distinct(fixed, 5)).toBe(setKeys);
    expect(distinct(fixed, 50)).toBe(setKeys);
    expect(ExampleTally.through(fixed, 50).seen).toBe(400);
    // Fresh: 400 draws from two-digit arithmetic (tens of thousands of problems) are nearly all distinct.
    const f10 = distinct(freshData, 10);
    const f50 = distinct(freshData, 50);
    expect(f10).toBeGreaterThan(setKeys);
    expect(f50).toBeGreaterThan(f10);
    expect(f50).toBeGreaterThan(0.9 * 400);
    // The static tally (a resume's starting point) agrees with adding the steps one by one, in both modes.
    for (const d of [fixed, freshData]) {
      const stepwise = new ExampleTally();
      for (let s = 0; s < 7; s++) stepwise.add(examplesAt(d, s));
      const at7 = ExampleTally.through(d, 7);
      expect([at7.seen, at7.distinct]).toEqual([stepwise.seen, stepwise.distinct]);
    }
  });
});

/** Trains `config` on the CPU backend from `from` (or new weights), stopping once step `stopAt` is done. */
async function train(
  config: RunConfig,
  from: TrainerState | undefined,
  stopAt?: number,
): Promise<{ state: TrainerState; counts: Map<number, [number, number]> }> {
  const counts = new Map<number, [number, number]>();
  let session: SftSession | null = null;
  session = new SftSession(
    createCpuBackend(),
    config,
    (e) => {
      if (e.type !== 'metrics' || !(METRIC.trainLoss in e.values)) return;
      counts.set(e.step, [e.values[METRIC.examplesSeen]!, e.values[METRIC.distinctExamples]!]);
      if (e.step === stopAt) session!.stop();
    },
    from,
    { logWindowMs: 0, decodeRows: 2 },
  );
  await session.run();
  const state = await session.readState();
  await session.destroy();
  return { state, counts };
}

const bits = (a: Float32Array | null) =>
  a === null ? null : Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe('a fresh-data SFT run (CPU backend)', () => {
  it('resumed at step 3 trains on the same examples as the uninterrupted run, and reports the same counts', async () => {
    const config = fresh(
      tinyOneDigitRun(8, { steps: 6, batchSize: 3, warmupSteps: 1, evalLossEverySteps: 0, samplesEverySteps: 0 }),
    );
    const straight = await train(config, undefined);
    const at3 = await train(config, undefined, 3);
    expect(at3.state.step).toBe(3);
    const resumed = await train(config, at3.state);
    expect(resumed.state.step).toBe(6);
    // Same weights bit for bit: every batch of steps 4–6 was the uninterrupted run's.
    expect(bits(resumed.state.params)).toEqual(bits(straight.state.params));
    // Examples seen = steps × B; distinct as the data module counts them, before and after the resume.
    const data = buildSftData(config);
    for (let step = 1; step <= 6; step++) {
      const expected = [step * 3, ExampleTally.through(data, step).distinct];
      expect(straight.counts.get(step)).toEqual(expected);
      if (step > 3) expect(resumed.counts.get(step)).toEqual(expected);
    }
    // Different rows: not the fixed set's order (a fixed-data run of the same config trains other weights).
    const fixedRun = await train({ ...config, sft: { ...config.sft, data: 'fixed' } }, undefined);
    expect(bits(fixedRun.state.params)).not.toEqual(bits(straight.state.params));
  });
});

describe('a headless experiment with fresh data', () => {
  it('records the counts on its timeline and logs them when SFT ends', async () => {
    const config = fresh(tinyOneDigitRun(6, { steps: 3, batchSize: 2, evalLossEverySteps: 0, samplesEverySteps: 0 }));
    const lines: string[] = [];
    const { run } = await runExperiment(createCpuBackend(), parseExperiment({ name: 'fresh', config }), (l) =>
      lines.push(l),
    );
    const last = run.timeline.findLast((p) => METRIC.examplesSeen in p.values)!;
    expect(last.step).toBe(3);
    const distinct = ExampleTally.through(buildSftData(config), 3).distinct;
    expect(last.values[METRIC.distinctExamples]).toBe(distinct);
    expect(lines.find((l) => l.startsWith('SFT done'))).toMatch(
      new RegExp(`, 6 examples seen \\(${distinct} distinct, fresh data\\)$`),
    );
  });
});

describe('sft.data in the config', () => {
  it("reads absent as 'fixed', accepts 'fixed' and 'fresh', refuses anything else by path", () => {
    const { data: _absent, ...sft } = DEFAULT_RUN_CONFIG.sft;
    const old: RunConfig = { ...DEFAULT_RUN_CONFIG, sft };
    expect(runConfigIssues(old)).toEqual([]);
    expect(sftDataMode(old)).toBe('fixed');
    expect(
      buildSftData({ ...tinyOneDigitRun(1, {}), sft: { ...tinyOneDigitRun(1, {}).sft, data: undefined } }).mode,
    ).toBe('fixed');
    expect(runConfigIssues(fresh(DEFAULT_RUN_CONFIG))).toEqual([]);
    const bad = { ...DEFAULT_RUN_CONFIG, sft: { ...DEFAULT_RUN_CONFIG.sft, data: 'streaming' } };
    expect(runConfigIssues(bad).map((i) => i.path)).toEqual(['sft.data']);
  });

  it('round-trips through the URL; a link without it keeps fixed data; a bad value is refused with a notice', () => {
    const c = fresh(DEFAULT_RUN_CONFIG);
    const hash = configToHash(c);
    expect(hash).toContain('data=fresh');
    const back = configFromHash(hash);
    expect(back.notices).toEqual([]);
    expect(back.config).toEqual(c);
    expect(configFromHash('#steps=10').config.sft.data).toBe('fixed');
    const bad = configFromHash('#data=stream');
    expect(bad.config.sft.data).toBe('fixed');
    expect(bad.notices.join(' ')).toMatch(/data=stream.*sft\.data/);
  });

  it('is listed in the TRL mapping; the export refuses fresh data by name', () => {
    const c = fresh(DEFAULT_RUN_CONFIG);
    expect(sftConfigFor(c).unmapped.data).toBe('fresh');
    expect(sftConfigFor(DEFAULT_RUN_CONFIG).unmapped.data).toBe('fixed');
    expect(() => buildTrlExport({ name: 'fresh', config: c })).toThrow(/sft\.data 'fresh'.*cannot express/);
  });
});
