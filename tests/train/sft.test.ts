import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/model/config';
import { buildParamLayout } from '../../src/model/params';
import { getTask } from '../../src/tasks/index';
import { createCpuBackend } from '../../src/train/backend_cpu';
import { createGpuBackend } from '../../src/train/backend_gpu';
import { learningRateAt } from '../../src/train/config';
import { buildHeldOutData, buildSftData } from '../../src/train/data';
import { METRIC, METRIC_KEYS, type MetricKey } from '../../src/train/metrics';
import { DEFAULT_RUN_CONFIG, modelConfigFor, optimConfigFor, type RunConfig } from '../../src/train/run_config';
import { MetricsWindow, type SessionEvent } from '../../src/train/session';
import { SftSession } from '../../src/train/sft';
import { gpuContext } from '../helpers/gpu';

describe('MetricsWindow', () => {
  it('averages each key over the steps, leaving NaN out, and derives speed and progress', () => {
    const w = new MetricsWindow(1000);
    expect(w.values(1200, { stepsDone: 0, totalSteps: 10, tokensPerStep: 64 })).toBeNull();
    w.addStep({ [METRIC.trainLoss]: 3, [METRIC.trainGradNorm]: Number.NaN });
    w.addStep({ [METRIC.trainLoss]: Number.NaN, [METRIC.trainGradNorm]: Number.NaN });
    w.addStep({ [METRIC.trainLoss]: 2, [METRIC.trainLearningRate]: 0.5 });
    w.addStep({ [METRIC.trainLoss]: 4 });
    // 4 steps in 200 ms → 50 ms a step; 64 tokens a step → 1280 tokens/s; 6 of 10 done → 4 left · 50 ms = 0.2 s.
    expect(w.values(1200, { stepsDone: 6, totalSteps: 10, tokensPerStep: 64 })).toEqual({
      [METRIC.trainLoss]: 3, // (3 + 2 + 4) / 3
      [METRIC.trainLearningRate]: 0.5,
      [METRIC.stepTimeMs]: 50,
      [METRIC.tokensPerSecond]: 1280,
      [METRIC.progressFraction]: 0.6,
      [METRIC.secondsLeft]: 0.2,
    });
    expect(w.stepCount).toBe(4);
    // Only NaN is left out: a diverged (infinite) loss shows. No elapsed time: no speed to report.
    const w2 = new MetricsWindow(50);
    w2.addStep({ [METRIC.trainLoss]: Number.POSITIVE_INFINITY });
    w2.addStep({ [METRIC.trainLoss]: 1 });
    const v2 = w2.values(50, { stepsDone: 2, totalSteps: 2, tokensPerStep: 8 })!;
    expect(v2[METRIC.trainLoss]).toBe(Number.POSITIVE_INFINITY);
    expect(v2[METRIC.stepTimeMs]).toBe(0);
    expect(METRIC.tokensPerSecond in v2).toBe(false);
  });
});

// One-digit arithmetic with short concise traces on the 'tiny' model (context 64). A step of batch 2 takes about 2 s
// on SwiftShader (2 cores), so the run is 8 steps at a high learning rate.
const config: RunConfig = {
  ...DEFAULT_RUN_CONFIG,
  seed: 2,
  task: {
    ...DEFAULT_RUN_CONFIG.task,
    arithmeticMaxDigits: 1,
    arithmeticTraceStyle: 'concise',
    arithmeticMaxThinkTokens: 16,
  },
  model: { size: 'tiny' },
  sft: {
    ...DEFAULT_RUN_CONFIG.sft,
    steps: 8,
    batchSize: 2,
    trainSize: 64,
    learningRate: 1e-2,
    warmupSteps: 2,
    evalLossEverySteps: 5,
    samplesEverySteps: 8,
    checkpointEverySteps: 4,
  },
  eval: { size: 4, variant: 'id', seed: 11 },
  decode: { ...DEFAULT_RUN_CONFIG.decode, maxNewTokens: 8 },
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitFor(what: string, condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  const t0 = performance.now();
  while (!condition()) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const trainSteps = (events: SessionEvent[]) =>
  events.flatMap((e) => (e.type === 'metrics' && METRIC.trainLoss in e.values ? [e] : []));

describe('SftSession (WebGPU backend; the CPU backend where noted)', () => {
  const events: SessionEvent[] = [];
  let session: SftSession;
  let stoppedAt = 0;
  const destroyLater: SftSession[] = [];
  afterAll(async () => {
    for (const s of destroyLater) await s.destroy();
  });

  it('rejects a bad config or resume state, naming the field', async () => {
    // Checked before any step; the CPU backend keeps this quick (the GPU trainer shares the state check).
    const backend = createCpuBackend();
    const bad = { ...config, sft: { ...config.sft, batchSize: 0 } };
    expect(() => new SftSession(backend, bad, () => {})).toThrow(ConfigError);
    expect(() => new SftSession(backend, bad, () => {})).toThrow(/sft\.batchSize/);
    const state = { params: new Float32Array(1), m: null, v: null, step: -1 };
    expect(() => new SftSession(backend, config, () => {}, state)).toThrow(/resumeFrom\.step/);
    // A state of another model's size is refused up front (the trainer's check names the field).
    expect(() => new SftSession(backend, config, () => {}, { ...state, step: 0 })).toThrow(/params/);
  });

  it('pauses (taking no steps, evaluating on request), resumes and stops between steps', async () => {
    const backend = createGpuBackend(await gpuContext());
    session = new SftSession(backend, config, (e) => events.push(e), undefined, { decodeRows: 4, logWindowMs: 0 });
    destroyLater.push(session);
    const run = session.run();
    await waitFor('a step', () => session.step >= 1);
    session.pause();
    await waitFor('paused', () => session.status === 'paused');
    const pausedAt = session.step;
    const eventsAtPause = events.length;
    const point = await session.evaluate({ ...config.decode, maxNewTokens: 4 }, { size: 2, variant: 'add', seed: 5 });
    expect(point.step).toBe(pausedAt);
    expect(point.problems).toBe(2);
    await sleep(1000); // about half a step's time: nothing moves while paused
    expect(session.step).toBe(pausedAt);
    expect(events.length).toBe(eventsAtPause);
    session.resume();
    // A step here takes seconds, so none is queued behind the one running: the stop lands at its end, before 8.
    await waitFor('a step more', () => session.step >= pausedAt + 1);
    session.stop();
    const summary = await run;
    stoppedAt = session.step;
    expect(summary).toEqual({ state: 'stopped', steps: stoppedAt });
    expect(stoppedAt).toBeLessThan(8);
    expect(session.status).toBe('stopped');
  });

  it('continues to the end; events are well formed and in order; the loss falls', async () => {
    const summary = await session.run();
    expect(summary).toEqual({ state: 'finished', steps: 8 });
    // Status sequence across both runs.
    const statuses = events.flatMap((e) => (e.type === 'status' ? [e.state] : []));
    expect(statuses).toEqual(['running', 'paused', 'running', 'stopped', 'running', 'finished']);
    expect(events[0]).toEqual({ type: 'status', state: 'running', step: 0, message: null });
    expect(events[1]).toEqual({ type: 'metrics', step: 0, values: { [METRIC.droppedFraction]: 0 } });
    expect(events[events.length - 1]).toEqual({ type: 'status', state: 'finished', step: 8, message: null });
    // Every event's step is a step count reached by then.
    const stepsSeen = events.map((e) => e.step);
    expect(stepsSeen.every((s, i) => i === 0 || s >= stepsSeen[i - 1]!)).toBe(true);
    for (const e of events)
      if (e.type === 'metrics')
        expect(Object.keys(e.values).every((k) => METRIC_KEYS.includes(k as MetricKey))).toBe(true);

    // Training metrics: one event per step (the log window is 0 ms), with every key; the learning rate is the
    // schedule's at that step, across the stop and the continuation.
    const perStep = trainSteps(events);
    expect(perStep.map((e) => e.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const optim = optimConfigFor(config);
    // A step processes B rows of the training window (the longest example), not of the whole context.
    const window = buildSftData(config).seqLen;
    expect(window).toBeLessThan(modelConfigFor(config).contextLength);
    for (const e of perStep) {
      const v = e.values;
      expect(v[METRIC.trainLearningRate]).toBeCloseTo(learningRateAt(optim, e.step - 1), 9);
      expect(v[METRIC.trainGradNorm]).toBeGreaterThan(0);
      expect(v[METRIC.stepTimeMs]).toBeGreaterThan(0);
      expect(v[METRIC.tokensPerSecond]).toBeCloseTo((2 * window * 1000) / v[METRIC.stepTimeMs]!, 6);
      expect(v[METRIC.progressFraction]).toBe(e.step / 8);
      expect(v[METRIC.secondsLeft]).toBeCloseTo(((8 - e.step) * v[METRIC.stepTimeMs]!) / 1000, 9);
    }
    const losses = perStep.map((e) => e.values[METRIC.trainLoss]!);
    // ln 98 ≈ 4.58 at initialisation; eight steps learn at least the token statistics of the traces.
    expect(losses[0]).toBeGreaterThan(4);
    expect((losses[6]! + losses[7]!) / 2).toBeLessThan(losses[0]! - 0.5);

    // Held-out loss every 5 steps and at the end of the run, falling too (a stop skips the closing work: it gives the
    // controls back within one step).
    const evalLoss = events.flatMap((e) => (e.type === 'metrics' && METRIC.evalLoss in e.values ? [e] : []));
    const evalSteps = evalLoss.map((e) => e.step);
    expect(evalSteps).toEqual([5, 8]);
    expect(evalLoss[evalLoss.length - 1]!.values[METRIC.evalLoss]!).toBeLessThan(4);

    // Checkpoints every 4 steps, at the stop and at the end; each holds the state at its step.
    const checkpoints = events.flatMap((e) => (e.type === 'checkpoint' ? [e] : []));
    expect(checkpoints.map((e) => e.step)).toEqual([...new Set([4, stoppedAt, 8])].sort((a, b) => a - b));
    const n = buildParamLayout(modelConfigFor(config)).totalElements;
    for (const c of checkpoints) {
      expect(c.state.step).toBe(c.step);
      expect([c.state.params.length, c.state.m?.length, c.state.v?.length]).toEqual([n, n, n]);
    }

    // Samples at the end of the run (not at the stop): greedy completions of 4 fixed held-out prompts, verified.
    const samples = events.flatMap((e) => (e.type === 'samples' ? [e] : []));
    expect(samples.map((e) => e.step)).toEqual([8]);
    const held = buildHeldOutData(config).samplePrompts;
    const task = getTask('arithmetic');
    for (const e of samples) {
      expect(e.samples.map((s) => s.prompt)).toEqual(held.map((h) => h.prompt));
      e.samples.forEach((s, i) => {
        const verdict = task.verify(held[i]!.problem, s.completion);
        expect([s.correct, s.reason]).toEqual([verdict.correct, verdict.reason]);
      });
    }
  });

  it('a session resumed from a checkpoint takes the same steps as the uninterrupted run', async () => {
    const backend = createGpuBackend(await gpuContext());
    const at4 = events.find((e) => e.type === 'checkpoint' && e.step === 4);
    if (at4?.type !== 'checkpoint') throw new Error('no checkpoint at step 4');
    const resumedEvents: SessionEvent[] = [];
    // Same training settings; no samples or held-out losses (they don't touch the weights) to keep it quick.
    const quiet = { ...config, sft: { ...config.sft, samplesEverySteps: 0, evalLossEverySteps: 0 } };
    const resumed = new SftSession(backend, quiet, (e) => resumedEvents.push(e), at4.state, {
      maxInFlight: 1,
      logWindowMs: 0,
    });
    destroyLater.push(resumed);
    const run = resumed.run();
    await waitFor('step 5', () => resumed.step >= 5);
    resumed.stop();
    await run;
    const original = trainSteps(events).find((e) => e.step === 5)!;
    const again = trainSteps(resumedEvents).find((e) => e.step === 5)!;
    // Same weights, moments, step counter and batch on the same adapter: the same numbers, bit for bit.
    expect(again.values[METRIC.trainLoss]).toBe(original.values[METRIC.trainLoss]);
    expect(again.values[METRIC.trainGradNorm]).toBe(original.values[METRIC.trainGradNorm]);
  });

  it('evaluates the trained model: accuracy re-verifies from its completions', async () => {
    const point = await session.evaluate(config.decode, config.eval);
    expect(point.step).toBe(8);
    expect(point.problems).toBe(4);
    expect(point.series).toBe('temperature');
    expect(point.samples.length).toBe(4); // ≤ 4 correct + ≤ 4 wrong of 4 problems: all of them
    const { buildEvalSet } = await import('../../src/train/data');
    const set = buildEvalSet(config, config.eval);
    const task = getTask('arithmetic');
    let correct = 0;
    for (const s of point.samples) {
      const item = set.items.find((it) => it.prompt === s.prompt)!;
      const verdict = task.verify(item.problem, s.completion);
      expect(s.correct).toBe(verdict.correct);
      if (verdict.correct) correct++;
    }
    expect(point.accuracy).toBe(correct / 4);
    // A loaded copy of the final checkpoint evaluates to the same point (greedy decoding, same weights).
    const final = events.find((e) => e.type === 'checkpoint' && e.step === 8);
    if (final?.type !== 'checkpoint') throw new Error('no final checkpoint');
    const loaded = SftSession.load(createGpuBackend(await gpuContext()), config, final.state, { decodeRows: 4 });
    destroyLater.push(loaded);
    const same = await loaded.evaluate(config.decode, config.eval);
    expect(same.step).toBe(8);
    expect(same.samples).toEqual(point.samples);
  });

  it('the CPU backend runs the same session: its first steps match the GPU run, its loss falls over 30 steps', async () => {
    // 30 steps of batch 2 take a few seconds on the CPU reference (about 0.1 s a step for this model).
    const longer: RunConfig = {
      ...config,
      sft: { ...config.sft, steps: 30, evalLossEverySteps: 10, samplesEverySteps: 0, checkpointEverySteps: 30 },
    };
    const cpuEvents: SessionEvent[] = [];
    const cpu = new SftSession(createCpuBackend(), longer, (e) => cpuEvents.push(e), undefined, { logWindowMs: 0 });
    destroyLater.push(cpu);
    expect(await cpu.run()).toEqual({ state: 'finished', steps: 30 });
    const losses = trainSteps(cpuEvents).map((e) => e.values[METRIC.trainLoss]!);
    expect(losses.length).toBe(30);
    // Steps 1–3 see the same weights, batches and learning rates as the GPU run (warmup ends at step 2, where the
    // cosine of both schedules starts at the peak). f32 GPU vs the CPU reference: ~1e-5 relative per step.
    const gpu = trainSteps(events).map((e) => e.values[METRIC.trainLoss]!);
    for (let i = 0; i < 3; i++) expect(Math.abs(losses[i]! - gpu[i]!)).toBeLessThan(1e-3 * gpu[i]!);
    const meanOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(meanOf(losses.slice(25))).toBeLessThan(meanOf(losses.slice(0, 3)) - 1.5);
    const evalLoss = cpuEvents.flatMap((e) =>
      e.type === 'metrics' && METRIC.evalLoss in e.values ? [e.values[METRIC.evalLoss]!] : [],
    );
    expect(evalLoss.length).toBe(3); // steps 10, 20, 30
    expect(evalLoss[2]!).toBeLessThan(evalLoss[0]!);
  });
});
