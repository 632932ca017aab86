/**
 * Sizing the default run to the adapter (src/state/adapter_fit.ts): the decision from one timing of the small run,
 * and the load-time flow with a fake engine (a link's config is the store's business: it never calls this).
 */
import { describe, expect, it } from 'vitest';
import {
  adapterFitMessage,
  FULL_RUN_LIMIT_S,
  fitToAdapter,
  QUICK_MIN_STEPS,
  QUICK_TRAIN_S,
  quickConfig,
  sizeDefaultToAdapter,
  stepCost,
} from '../../src/state/adapter_fit';
import { buildSftData } from '../../src/train/data';
import { DEFAULT_RUN_CONFIG, isRunConfig, modelConfigFor, type RunConfig } from '../../src/train/run_config';
import type { StepTiming } from '../../src/train/step_timer';
import { testState } from './fakes';

const probe = quickConfig(DEFAULT_RUN_CONFIG, QUICK_MIN_STEPS);
const window = buildSftData(probe).seqLen;
const timing = (stepMs: number): StepTiming => ({ stepMs, firstStepMs: 3 * stepMs, tokensPerStep: 8 * window });

describe('the small run', () => {
  it('is a valid config whose traces fit the tiny model (none dropped), at the full default otherwise', () => {
    const c = quickConfig(DEFAULT_RUN_CONFIG, 120);
    expect(isRunConfig(c)).toBe(true);
    expect([c.model.size, c.sft.batchSize, c.sft.steps, c.task.arithmeticMaxDigits]).toEqual(['tiny', 8, 120, 1]);
    const data = buildSftData(c);
    expect(data.droppedFraction).toBe(0);
    expect(data.seqLen).toBeLessThanOrEqual(modelConfigFor(c).contextLength);
    expect(c.seed).toBe(DEFAULT_RUN_CONFIG.seed);
  });

  it('costs less than the full default per step, by the ratio of their multiply-adds', () => {
    const ratio = stepCost(DEFAULT_RUN_CONFIG, 128) / stepCost(probe, window);
    // small (≈0.8 M parameters) × 32 × 128 tokens against tiny (≈0.1 M) × 8 × ~40 tokens: two orders of magnitude.
    expect(ratio).toBeGreaterThan(50);
    expect(ratio).toBeLessThan(2000);
  });
});

describe('fitToAdapter', () => {
  it('keeps the full default on a fast adapter', () => {
    const fit = fitToAdapter(DEFAULT_RUN_CONFIG, timing(0.05));
    expect(fit.reduced).toBe(false);
    expect(fit.config).toBe(DEFAULT_RUN_CONFIG);
    expect(fit.fullSeconds).toBeLessThanOrEqual(FULL_RUN_LIMIT_S);
  });

  it('on a slow one opens with the small run, its steps sized to about two minutes', () => {
    // About a second a step of the small run: SwiftShader on 2 cores.
    const fit = fitToAdapter(DEFAULT_RUN_CONFIG, timing(800));
    expect(fit.reduced).toBe(true);
    expect(fit.fullSeconds).toBeGreaterThan(3600);
    expect(fit.config.sft.steps).toBe(Math.floor((QUICK_TRAIN_S * 1000) / 800));
    expect(fit.seconds).toBeLessThanOrEqual(QUICK_TRAIN_S);
    expect(adapterFitMessage(fit, 'SwiftShader')).toMatch(
      /^On this adapter \(SwiftShader\) the full-size default would train for about \d+ h: opened with a run of about 2 min instead \(tiny model, 1-digit sums, batch 8, 125 steps\)\.$/,
    );
    // Never fewer than QUICK_MIN_STEPS, however slow.
    expect(fitToAdapter(DEFAULT_RUN_CONFIG, timing(60_000)).config.sft.steps).toBe(QUICK_MIN_STEPS);
  });
});

describe('sizeDefaultToAdapter', () => {
  it('replaces the default and says so; the full default stays one click away', async () => {
    const state = testState();
    const calls: string[] = [];
    const fit = await sizeDefaultToAdapter(
      state,
      async (c: RunConfig, n: number) => {
        calls.push(`${c.model.size} ${c.sft.batchSize} ${n}`);
        expect(state.getState().measuringAdapter).toBe(true);
        return timing(800);
      },
      'SwiftShader',
    );
    expect(calls).toEqual(['tiny 8 2']);
    expect(fit?.reduced).toBe(true);
    const s = state.getState();
    expect(s.measuringAdapter).toBe(false);
    expect(s.config).toEqual(fit!.config);
    expect(s.adapterFit?.full).toBe(DEFAULT_RUN_CONFIG);
    expect(s.adapterFit?.message).toMatch(/SwiftShader/);
  });

  it('keeps a config edited while it measured, and the default when the timing fails', async () => {
    const state = testState();
    const edited = { ...DEFAULT_RUN_CONFIG, seed: 5 };
    await sizeDefaultToAdapter(
      state,
      async () => {
        state.setState({ config: edited });
        return timing(800);
      },
      'x',
    );
    expect(state.getState().config).toBe(edited);
    expect(state.getState().adapterFit).toBeNull();
    const failing = testState();
    expect(
      await sizeDefaultToAdapter(
        failing,
        async () => {
          throw new Error('no');
        },
        'x',
      ),
    ).toBeNull();
    expect(failing.getState().config).toBe(DEFAULT_RUN_CONFIG);
    expect(failing.getState().measuringAdapter).toBe(false);
  });
});
