/**
 * Sizing the page's default run to the adapter. The full-size default (DEFAULT_RUN_CONFIG: small model, batch 32, 3000
 * steps) trains in about 20 s on an H200 and for days on a software adapter. On load the page times a few steps of a
 * small run (`quickConfig`: tiny model, one-digit sums, batch 8) on the engine, extrapolates the default's time from
 * the cost of a step (`stepCost`, multiply-adds ∝ parameters × tokens plus attention), and when the default would
 * take more than FULL_RUN_LIMIT_S opens with the small run instead, its steps chosen to train in about
 * QUICK_TRAIN_S, saying so in one line with the full-size default one click away. A config from a link is kept.
 */
import { buildParamLayout } from '../model/params';
import { contextLengthFor, DEFAULT_RUN_CONFIG, modelConfigFor, type RunConfig } from '../train/run_config';
import type { StepTiming } from '../train/step_timer';
import type { StateHandle } from './playground_state';

/** The default run is replaced when it would take longer than this (s) on the adapter. */
export const FULL_RUN_LIMIT_S = 300;
/** Training time (s) the small default is sized to; its boundary work (held-out loss, samples) comes on top. */
export const QUICK_TRAIN_S = 100;
/** Fewest steps the small default trains (fewer teach nothing); the most are the full default's. */
export const QUICK_MIN_STEPS = 20;
/** Steps timed after the warm-up step. */
export const PROBE_STEPS = 2;

/** The small run's shape: tiny model, one-digit sums with traces that fit its context, batch 8, `steps` steps. */
export function quickConfig(full: RunConfig, steps: number): RunConfig {
  const every = Math.max(1, Math.ceil(steps / 4));
  return {
    ...full,
    task: { ...full.task, id: 'arithmetic', arithmeticMaxDigits: 1, arithmeticMaxThinkTokens: 24 },
    model: { size: 'tiny' },
    sft: {
      ...full.sft,
      steps,
      batchSize: 8,
      trainSize: 2000,
      warmupSteps: Math.min(full.sft.warmupSteps, Math.ceil(steps / 10)),
      evalLossEverySteps: every,
      samplesEverySteps: steps,
      checkpointEverySteps: every,
    },
    eval: { ...full.eval, size: 64 },
  };
}

/**
 * Relative cost of one training step of `c` at a window of `window` tokens: B·T·(6·P + 12·L·T·d) multiply-adds,
 * forward and backward (P parameters, L layers, width d; the second term is attention's T×T products).
 */
export function stepCost(c: RunConfig, window: number): number {
  const model = modelConfigFor(c);
  const params = buildParamLayout(model).totalElements;
  return c.sft.batchSize * window * (6 * params + 12 * model.nLayers * window * model.dModel);
}

export interface AdapterFit {
  /** Estimated training time (s) of `full` on the adapter. */
  fullSeconds: number;
  /** The config to open with: `full` itself when it is quick enough, else the small run. */
  config: RunConfig;
  /** Estimated training time (s) of `config`. */
  seconds: number;
  /** Whether `config` is the small run. */
  reduced: boolean;
}

/**
 * Decides the opening config from a timing of `quickConfig(full, ·)` (`timing`, its window = tokensPerStep / batch).
 * The full default's window is taken as its model's context (an upper bound: its longest example).
 */
export function fitToAdapter(full: RunConfig, timing: StepTiming): AdapterFit {
  const probe = quickConfig(full, QUICK_MIN_STEPS);
  const probeWindow = timing.tokensPerStep / probe.sft.batchSize;
  const msPerCost = timing.stepMs / stepCost(probe, probeWindow);
  const fullWindow = contextLengthFor(full.model);
  const fullSeconds = (full.sft.steps * stepCost(full, fullWindow) * msPerCost) / 1000;
  if (fullSeconds <= FULL_RUN_LIMIT_S) return { fullSeconds, config: full, seconds: fullSeconds, reduced: false };
  const steps = Math.max(
    QUICK_MIN_STEPS,
    Math.min(full.sft.steps, Math.floor((QUICK_TRAIN_S * 1000) / Math.max(timing.stepMs, 1e-3))),
  );
  return {
    fullSeconds,
    config: quickConfig(full, steps),
    seconds: (steps * timing.stepMs) / 1000,
    reduced: true,
  };
}

/** "45 s", "4 min", "63 h" */
export function roughDuration(seconds: number): string {
  if (seconds < 90) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}

/** The one line the page shows when it opened with the small run. */
export function adapterFitMessage(fit: AdapterFit, adapter: string): string {
  const s = fit.config.sft;
  return (
    `On this adapter (${adapter}) the full-size default would train for about ${roughDuration(fit.fullSeconds)}: ` +
    `opened with a run of about ${roughDuration(fit.seconds)} instead (${fit.config.model.size} model, ` +
    `${fit.config.task.arithmeticMaxDigits}-digit sums, batch ${s.batchSize}, ${s.steps} steps).`
  );
}

/**
 * On load, with no config from a link: times the small run on the engine and, when the full-size default would take
 * too long, makes the small run the config being edited (unless it was edited meanwhile) and records the notice.
 * `measuringAdapter` is true while the timing runs (Start waits for it). A failed timing keeps the default.
 */
export async function sizeDefaultToAdapter(
  state: StateHandle,
  timeSteps: (config: RunConfig, steps: number) => Promise<StepTiming>,
  adapter: string,
  full: RunConfig = DEFAULT_RUN_CONFIG,
): Promise<AdapterFit | null> {
  const opened = state.getState().config;
  state.setState({ measuringAdapter: true });
  try {
    const timing = await timeSteps(quickConfig(full, QUICK_MIN_STEPS), PROBE_STEPS);
    const fit = fitToAdapter(full, timing);
    if (fit.reduced && state.getState().config === opened) {
      state.setState({ config: fit.config, adapterFit: { message: adapterFitMessage(fit, adapter), full } });
    }
    return fit;
  } catch {
    return null;
  } finally {
    state.setState({ measuringAdapter: false });
  }
}
