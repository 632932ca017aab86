/**
 * The GRPO / TLDR session (src/train/grpo.ts) on real backends.
 *
 * Task and model: one-digit arithmetic, answer-only targets (`<answer>6</answer><eos>`, 5–6 tokens after a 4–5 token
 * prompt), on a 1-layer dModel-32 model with a context of 16 (GrpoSessionOptions.model), so a step of 64 rollouts takes
 * about 0.3 s on the CPU backend. The learning check rewards the answer format (rl.reward.formatReward = 1, no length
 * term): after 20 SFT steps the model writes well-formed answers only sometimes, which gives every group a spread of
 * rewards, and GRPO pushes the well-formed rate up within about ten steps, where raising the accuracy of such a model
 * on arithmetic would take hundreds. It runs on the CPU backend (same session code as WebGPU) because ~20 steps of
 * 64 rollouts on SwiftShader would take minutes; the GPU tests take one step each and check it against the CPU step.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, type ModelConfig } from '../../src/model/config';
import { initParams } from '../../src/model/params';
import { LENGTH_TAG_TEXT } from '../../src/tasks/format';
import { encode, vocabSize } from '../../src/tasks/tokenizer';
import type { TrainerState } from '../../src/train/backend';
import { createCpuBackend } from '../../src/train/backend_cpu';
import { createGpuBackend } from '../../src/train/backend_gpu';
import { DEFAULT_OPTIM_CONFIG } from '../../src/train/config';
import { CpuTrainer } from '../../src/train/cpu_trainer';
import { batchAt, buildSftData } from '../../src/train/data';
import { GrpoSession, isWellFormed, type RlSessionEvent, type RolloutsEvent, rlPromptsAt } from '../../src/train/grpo';
import { METRIC, METRIC_KEYS, type MetricKey } from '../../src/train/metrics';
import { DEFAULT_RL_CONFIG, DEFAULT_RUN_CONFIG, parseRunConfig, type RunConfig } from '../../src/train/run_config';
import { gpuContext } from '../helpers/gpu';

const model: ModelConfig = { vocabSize, contextLength: 16, dModel: 32, nLayers: 1, nHeads: 2, mlpRatio: 2, seed: 3 };

const config: RunConfig = {
  ...DEFAULT_RUN_CONFIG,
  seed: 5,
  task: { ...DEFAULT_RUN_CONFIG.task, arithmeticMaxDigits: 1, targetStyle: 'answer' },
  sft: { ...DEFAULT_RUN_CONFIG.sft, batchSize: 16, trainSize: 256 },
  rl: {
    ...DEFAULT_RL_CONFIG,
    steps: 14,
    promptsPerStep: 8,
    generationsPerPrompt: 8,
    learningRate: 1e-2,
    maxCompletionTokens: 8,
    levels: [],
    evalEverySteps: 0,
    checkpointEverySteps: 1000,
    reward: { ...DEFAULT_RL_CONFIG.reward, formatReward: 1, lengthPenalty: 'none' },
  },
};
const rl = config.rl!;

/** 20 SFT steps on the CPU (batch 16, T 16): partly well-formed answers. A pure function of the config. */
async function sftState(steps = 20): Promise<TrainerState> {
  const data = { ...buildSftData(config), seqLen: model.contextLength };
  const optim = { ...DEFAULT_OPTIM_CONFIG, learningRate: 1e-2, warmupSteps: 5, decaySteps: steps };
  const trainer = new CpuTrainer(model, optim, data.batchSize, model.contextLength);
  for (let s = 0; s < steps; s++) await trainer.step(batchAt(data, s));
  return trainer.readState();
}

const rlMetrics = (events: RlSessionEvent[]) =>
  events.flatMap((e) => (e.type === 'metrics' && METRIC.rlRewardMean in e.values ? [e.values] : []));
const rollouts = (events: RlSessionEvent[]) => events.filter((e): e is RolloutsEvent => e.type === 'rollouts');

async function runSession(
  backend: ReturnType<typeof createCpuBackend>,
  c: RunConfig,
  from: TrainerState,
): Promise<{ events: RlSessionEvent[]; params: Float32Array; session: GrpoSession }> {
  const events: RlSessionEvent[] = [];
  const session = new GrpoSession(backend, c, (e) => events.push(e), from, { model, logWindowMs: 0 });
  await session.run();
  const params = (await session.readState()).params;
  return { events, params, session };
}

describe('RL config', () => {
  it('validates rl, naming the field', () => {
    expect(parseRunConfig(config)).toBe(config);
    expect(parseRunConfig({ ...config, rl: undefined })).toBeTruthy(); // optional
    const bad = (rlPatch: object) => () => parseRunConfig({ ...config, rl: { ...rl, ...rlPatch } });
    expect(bad({ temperature: 0.7 })).toThrow(/rl\.temperature/);
    expect(bad({ generationsPerPrompt: 1 })).toThrow(/rl\.generationsPerPrompt/);
    expect(bad({ levels: ['short', 'short'] })).toThrow(/rl\.levels/);
    expect(bad({ promptsPerStep: 2, levels: ['short', 'medium', 'long'] })).toThrow(/rl\.promptsPerStep/);
    expect(bad({ loss: { ...rl.loss, lossType: 'ppo' } })).toThrow(ConfigError);
    expect(bad({ reward: { ...rl.reward, budgets: { short: 40, medium: 32, long: 64 } } })).toThrow(
      /rl\.reward\.budgets/,
    );
    // A state of another model's size is refused by the session's constructor.
    const state = { params: new Float32Array(5), m: null, v: null, step: 0 };
    expect(() => new GrpoSession(createCpuBackend(), config, () => {}, state, { model })).toThrow(/params/);
  });

  it('isWellFormed follows the target style, token by token', () => {
    expect(isWellFormed(encode('<answer>6</answer><eos>'), 'answer')).toBe(true);
    expect(isWellFormed(encode('<answer></answer><eos>'), 'answer')).toBe(false);
    expect(isWellFormed(encode('<answer>6</answer>'), 'answer')).toBe(false);
    expect(isWellFormed(encode('<answer>6</answer><eos><eos>'), 'answer')).toBe(false);
    expect(isWellFormed(encode('<think>6=6</think><answer>6</answer><eos>'), 'cot')).toBe(true);
    expect(isWellFormed(encode('<think>6<answer>6</answer><eos>'), 'cot')).toBe(false);
    expect(isWellFormed(encode('<answer>6</answer><eos>'), 'cot')).toBe(false);
  });
});

describe('levels', () => {
  it('every batch mixes all levels, each prompt carrying its tag; prompts are a pure function of (seed, step)', async () => {
    const c: RunConfig = { ...config, rl: { ...rl, promptsPerStep: 4, levels: ['short', 'medium', 'long'] } };
    for (let step = 0; step < 6; step++) {
      const items = rlPromptsAt(c, step);
      expect(items).toHaveLength(4);
      expect(new Set(items.map((it) => it.level))).toEqual(new Set(['short', 'medium', 'long']));
      for (const it of items) expect(it.prompt.startsWith(LENGTH_TAG_TEXT[it.level!])).toBe(true);
      expect(rlPromptsAt(c, step)).toEqual(items);
    }
    expect(rlPromptsAt(c, 0).map((it) => it.prompt)).not.toEqual(rlPromptsAt(c, 1).map((it) => it.prompt));
    // Without levels: plain prompts.
    expect(rlPromptsAt(config, 0).every((it) => it.level === null && !it.prompt.startsWith('<'))).toBe(true);
    // A session step reports the thinking length of every level (the CPU backend, one step of 4 × 2 rollouts). It
    // also takes the β > 0 path (a frozen reference trainer) and μ = 2 (old log-probs, two optimiser steps).
    const one: RunConfig = {
      ...c,
      rl: { ...c.rl!, steps: 1, generationsPerPrompt: 2, numIterations: 2, loss: { ...rl.loss, beta: 0.04 } },
    };
    const { events, session } = await runSession(createCpuBackend(), one, await sftState(2));
    const [values] = rlMetrics(events);
    for (const key of [METRIC.rlThinkingTokensShort, METRIC.rlThinkingTokensMedium, METRIC.rlThinkingTokensLong]) {
      expect(values![key]).toBeGreaterThanOrEqual(0);
    }
    // Before the first update the policy is the reference, computed by the same CPU arithmetic: KL exactly 0.
    expect(values![METRIC.rlKl]).toBe(0);
    expect(values![METRIC.rlClipFraction]).toBeGreaterThanOrEqual(0);
    expect((await session.readState()).step).toBe(2);
    await session.destroy();
  });
});

describe('GrpoSession learning (CPU backend)', () => {
  it('raises the mean reward within 14 steps, with the same numbers for the same seed', async () => {
    const from = await sftState();
    const first = await runSession(createCpuBackend(), config, from);
    const second = await runSession(createCpuBackend(), config, from);
    const rewards = rlMetrics(first.events).map((v) => v[METRIC.rlRewardMean]!);
    expect(rewards).toHaveLength(14);
    expect(rlMetrics(second.events).map((v) => v[METRIC.rlRewardMean]!)).toEqual(rewards);
    expect(second.params).toEqual(first.params);
    // Reward = 1[correct] + 1[well-formed]; starting below 0.5, the mean of the last 3 steps gains at least 0.3.
    const head = (rewards[0]! + rewards[1]! + rewards[2]!) / 3;
    const tail = (rewards[11]! + rewards[12]! + rewards[13]!) / 3;
    expect(head).toBeLessThan(0.5);
    expect(tail).toBeGreaterThan(head + 0.3);

    // Events: statuses, one metrics event and one rollouts event per step, every key known, final checkpoint.
    const ev = first.events;
    expect(ev.filter((e) => e.type === 'status').map((e) => (e.type === 'status' ? e.state : ''))).toEqual([
      'running',
      'finished',
    ]);
    expect(rollouts(ev).map((e) => e.step)).toEqual(Array.from({ length: 14 }, (_, i) => i + 1));
    for (const e of ev) {
      if (e.type === 'metrics')
        expect(Object.keys(e.values).every((k) => METRIC_KEYS.includes(k as MetricKey))).toBe(true);
    }
    const last = ev.at(-2);
    expect(last?.type).toBe('checkpoint');
    if (last?.type === 'checkpoint') expect(last.state.step).toBe(14); // μ = 1: one optimiser step per RL step
    for (const r of rollouts(ev)) {
      expect(r.completions).toHaveLength(8);
      // Advantages of a group sum to 0 (group-centred) and are finite.
      expect(Math.abs(r.completions.reduce((a, x) => a + x.advantage, 0))).toBeLessThan(1e-9);
    }
    await first.session.destroy();
    await second.session.destroy();
  }, 60_000);
});

describe('GrpoSession control (CPU backend)', () => {
  it('pauses (no steps), resumes, stops between steps, and continues to the end', async () => {
    const small: RunConfig = { ...config, rl: { ...rl, steps: 6, promptsPerStep: 2, generationsPerPrompt: 2 } };
    const events: RlSessionEvent[] = [];
    const session = new GrpoSession(createCpuBackend(), small, (e) => events.push(e), await sftState(2), {
      model,
      logWindowMs: 0,
    });
    const run = session.run();
    await waitFor(() => session.step >= 1);
    session.pause();
    await waitFor(() => session.status === 'paused');
    const pausedAt = session.step;
    await new Promise((r) => setTimeout(r, 200));
    expect(session.step).toBe(pausedAt);
    session.resume();
    await waitFor(() => session.step > pausedAt);
    session.stop();
    const stopped = await run;
    expect(stopped.state).toBe('stopped');
    expect(stopped.steps).toBeLessThan(6);
    expect(await session.run()).toEqual({ state: 'finished', steps: 6 });
    const statuses = events.flatMap((e) => (e.type === 'status' ? [e.state] : []));
    expect(statuses).toEqual(['running', 'paused', 'running', 'stopped', 'running', 'finished']);
    // Checkpoints at the stop and at the end, each after the step it names.
    const checkpoints = events.flatMap((e) => (e.type === 'checkpoint' ? [[e.step, e.state.step]] : []));
    expect(checkpoints).toEqual([
      [stopped.steps, stopped.steps],
      [6, 6],
    ]);
    await session.destroy();
  }, 30_000);
});

describe('GrpoSession resume (CPU backend)', () => {
  // μ = 2 (old log-probs, two optimiser steps per RL step) and β > 0 (the frozen reference): a resume must keep the
  // moments and optimiser step (learning-rate schedule, bias correction) and the SFT weights as the reference.
  const N = 5;
  const k = 2;
  const resumable: RunConfig = {
    ...config,
    rl: {
      ...rl,
      steps: N,
      promptsPerStep: 4,
      generationsPerPrompt: 4,
      numIterations: 2,
      loss: { ...rl.loss, beta: 0.04 },
      checkpointEverySteps: 1000,
    },
  };
  const perStep = (events: RlSessionEvent[]) =>
    rlMetrics(events).map((v) => [v[METRIC.rlRewardMean], v[METRIC.rlKl], v[METRIC.rlLoss]]);

  it('N steps straight equal k steps, a stop, and a new session resumed from the stop checkpoint for N − k steps', async () => {
    const sft = await sftState();
    const straight = await runSession(createCpuBackend(), resumable, sft);
    expect(rlMetrics(straight.events)).toHaveLength(N);

    // k steps, then a stop (requested while step k reports its rollouts, so it takes effect right after step k).
    const firstEvents: RlSessionEvent[] = [];
    const first: GrpoSession = new GrpoSession(
      createCpuBackend(),
      resumable,
      (e) => {
        firstEvents.push(e);
        if (e.type === 'rollouts' && e.step === k) first.stop();
      },
      sft,
      { model, logWindowMs: 0 },
    );
    expect(await first.run()).toEqual({ state: 'stopped', steps: k });
    await first.destroy();
    const checkpoint = firstEvents.find((e) => e.type === 'checkpoint');
    if (checkpoint?.type !== 'checkpoint') throw new Error('no checkpoint at the stop');
    expect(checkpoint.step).toBe(k);
    expect(checkpoint.state.step).toBe(k * 2); // optimiser steps: μ per RL step

    const resumedEvents: RlSessionEvent[] = [];
    const resumed = new GrpoSession(createCpuBackend(), resumable, (e) => resumedEvents.push(e), checkpoint.state, {
      model,
      logWindowMs: 0,
      resume: { reference: sft },
    });
    expect(resumed.step).toBe(k);
    expect(await resumed.run()).toEqual({ state: 'finished', steps: N });
    const final = await resumed.readState();
    expect(final.step).toBe(N * 2);
    // The CPU backend is deterministic: the same weights to the bit, the same rewards, KL and loss per step.
    expect(final.params).toEqual(straight.params);
    const straightSteps = perStep(straight.events);
    expect([...perStep(firstEvents), ...perStep(resumedEvents)]).toEqual(straightSteps);
    // After k updates the policy has moved away from the reference: a KL of exactly 0 would mean the resumed policy
    // served as its own reference.
    expect(perStep(resumedEvents)[0]![1]).toBeGreaterThan(0);
    expect(rollouts(resumedEvents).map((e) => e.step)).toEqual([3, 4, 5]);
    expect(rollouts(resumedEvents).map((e) => e.completions)).toEqual(
      rollouts(straight.events)
        .slice(k)
        .map((e) => e.completions),
    );
    await resumed.destroy();
    await straight.session.destroy();
  }, 60_000);

  it('refuses a checkpoint that is not a whole number of RL steps within rl.steps, or β > 0 without the reference', async () => {
    const sft = await sftState(2);
    const at = (step: number) => ({ ...sft, step });
    const make = (state: TrainerState, resume: { reference?: TrainerState | null }, c: RunConfig = resumable) =>
      new GrpoSession(createCpuBackend(), c, () => {}, state, { model, resume });
    expect(() => make(at(3), { reference: sft })).toThrow(
      /resume: from\.step = 3 .*not a whole number of RL steps.*rl\.numIterations = 2/,
    );
    expect(() => make(at((N + 1) * 2), { reference: sft })).toThrow(/resume: from\.step = 12 .*exceeds .*rl\.steps/);
    expect(() => make(at(-2), { reference: sft })).toThrow(/from\.step must be a non-negative integer/);
    expect(() => make(at(2), {})).toThrow(/resume\.reference/);
    expect(() => make(at(2), { reference: null })).toThrow(/resume\.reference/);
    // A reference of another model's size is refused like the checkpoint itself.
    expect(() => make(at(2), { reference: { ...sft, params: new Float32Array(5) } })).toThrow(/params/);
    // β = 0 needs no reference; a stage resumed at its end finishes at once with its last checkpoint.
    const noKl: RunConfig = { ...resumable, rl: { ...resumable.rl!, loss: { ...rl.loss, beta: 0 } } };
    const events: RlSessionEvent[] = [];
    const done = new GrpoSession(createCpuBackend(), noKl, (e) => events.push(e), at(N * 2), {
      model,
      resume: {},
    });
    expect(await done.run()).toEqual({ state: 'finished', steps: N });
    expect(rollouts(events)).toEqual([]);
    expect(events.flatMap((e) => (e.type === 'checkpoint' ? [e.step] : []))).toEqual([N]);
    await done.destroy();
  }, 30_000);
});

async function waitFor(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const t0 = performance.now();
  while (!condition()) {
    if (performance.now() - t0 > timeoutMs) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('GrpoSession (WebGPU backend)', () => {
  const destroyLater: GrpoSession[] = [];
  afterAll(async () => {
    for (const s of destroyLater) await s.destroy();
  });
  const oneStep: RunConfig = { ...config, rl: { ...rl, steps: 1, promptsPerStep: 3, generationsPerPrompt: 4 } };

  it('a step whose groups all have equal rewards: zero advantages, zero loss, weights unchanged, nothing NaN', async () => {
    // Fresh weights never write a well-formed or correct answer: every reward is 0.
    const params = initParams(model);
    const from: TrainerState = { params, m: null, v: null, step: 0 };
    const { events, params: after, session } = await runSession(createGpuBackend(await gpuContext()), oneStep, from);
    destroyLater.push(session);
    const [values] = rlMetrics(events);
    expect(values![METRIC.rlFracZeroStdGroups]).toBe(1);
    expect(values![METRIC.rlRewardStd]).toBe(0);
    expect(values![METRIC.rlLoss]).toBe(0);
    expect(values![METRIC.trainGradNorm]).toBe(0);
    for (const c of rollouts(events)[0]!.completions) expect(Object.is(c.advantage, 0)).toBe(true);
    expect(after.every(Number.isFinite)).toBe(true);
    // Zero weights → zero gradient → AdamW (fresh moments, no weight decay) moves nothing.
    expect(after).toEqual(params);
  }, 60_000);

  it('one GPU step equals the CPU step: same rollouts for the same seed, close weights after', async () => {
    const from = await sftState();
    const gpu = await runSession(createGpuBackend(await gpuContext()), oneStep, from);
    destroyLater.push(gpu.session);
    const cpu = await runSession(createCpuBackend(), oneStep, from);
    const strip = (e: RolloutsEvent) => e.completions.map(({ text, reward, correct }) => ({ text, reward, correct }));
    expect(strip(rollouts(gpu.events)[0]!)).toEqual(strip(rollouts(cpu.events)[0]!));
    const [g] = rlMetrics(gpu.events);
    const [c] = rlMetrics(cpu.events);
    for (const key of [
      METRIC.rlRewardMean,
      METRIC.rlAccuracy,
      METRIC.rlFracZeroStdGroups,
      METRIC.rlTruncatedFraction,
    ]) {
      expect(g![key]).toBe(c![key]);
    }
    // f32 forward/backward on the GPU vs the reference's f64 accumulation: the loss agrees to ~1e-4 relative.
    expect(g![METRIC.rlLoss]).toBeCloseTo(c![METRIC.rlLoss]!, 3);
    expect(c![METRIC.trainGradNorm]).toBeGreaterThan(0);
    expect(g![METRIC.trainGradNorm]! / c![METRIC.trainGradNorm]!).toBeCloseTo(1, 2);
    // One AdamW step of lr 1e-2 moves a weight by up to ~1e-2; the two backends' updates agree to well under that.
    let maxDiff = 0;
    for (let i = 0; i < gpu.params.length; i++) maxDiff = Math.max(maxDiff, Math.abs(gpu.params[i]! - cpu.params[i]!));
    expect(maxDiff).toBeLessThan(2e-3);
    await cpu.session.destroy();
  }, 60_000);
});
