/**
 * The playground's SFT session: trains a model on a RunConfig and holds it for evaluation afterwards. One training
 * step reads top to bottom:
 *
 *   batch (data.ts: a pure function of seed and step) → trainer.step (forward, loss, backward, AdamW, on the backend)
 *   → when its stats arrive: log (averaged over a ≥ LOG_WINDOW_MS window)
 *
 * and around it, at step boundaries: held-out loss, greedy samples of a few held-out prompts, checkpoints (the
 * TrainerState, which resumes the same run: the batch of step s does not depend on the steps before it).
 *
 * Steps are queued without waiting for their stats (up to `maxInFlight` ahead), so the backend never idles on a
 * readback. Everything that needs the weights at a step boundary (samples, checkpoints, `evaluate`, `readState`)
 * runs under one mutex that the loop also takes around each step, after draining the queued steps: an evaluation
 * requested while training runs lands between two steps and sees the weights of the last one.
 *
 * The event and summary types here are the worker's (src/worker/api.ts `WorkerEvent`, `TrainSummary`), declared on
 * this side so that imports keep flowing worker → train; tests/train/sft.test.ts checks that they stay identical.
 */

import type { Backend, DecodeBackend, TrainBackend, TrainerState } from './backend';
import {
  batchAt,
  buildEvalSet,
  buildHeldOutData,
  buildSftData,
  type EvalSet,
  type HeldOutData,
  type SftData,
} from './data';
import { checkEvalRequest, evaluateModel, generateTraces, traceSample } from './evaluate';
import { METRIC, type MetricKey } from './metrics';
import type { EvalPoint, TraceSample } from './results';
import {
  DEFAULT_DECODE_CONFIG,
  type DecodeConfig,
  type EvalConfig,
  modelConfigFor,
  optimConfigFor,
  parseRunConfig,
  type RunConfig,
} from './run_config';
import { Mutex, RunControl } from './run_control';
import type { SuiteResult } from './suite_types';
import { checkSuiteOptions, evaluateSuites, type SuiteEvalOptions } from './suites';

export type SessionState = 'running' | 'paused' | 'stopped' | 'finished' | 'error';

export type SessionEvent =
  /** The session changed state; `step` = optimiser steps done. */
  | { type: 'status'; state: SessionState; step: number; message: string | null }
  /** Metric values at a step (only the keys measured at that step). */
  | { type: 'metrics'; step: number; values: Partial<Record<MetricKey, number>> }
  /** Greedy generations on a few held-out prompts with the current weights. */
  | { type: 'samples'; step: number; samples: TraceSample[] }
  /** Weights, moments and step counter to persist; resuming from it continues the same run. */
  | { type: 'checkpoint'; step: number; state: TrainerState };

export interface SessionSummary {
  state: 'finished' | 'stopped';
  /** Optimiser steps done (counting the steps of the state resumed from). */
  steps: number;
}

export interface SftSessionOptions {
  /** Prompts per generate call of the session's decoder (samples and evaluations). Default 32. */
  decodeRows?: number;
  /**
   * Most training steps queued and not yet finished (1: one at a time). Default 2 on WebGPU (the next step is queued
   * while one runs, so the GPU never waits for a readback), 1 on the CPU backend (a step takes seconds there, and
   * every queued step delays a pause or stop by that much).
   */
  maxInFlight?: number;
  /** Shortest wall time (ms) a metrics event averages over; slower steps are reported one by one. Default 100. */
  logWindowMs?: number;
  /**
   * 'fit' (default): the trainer's window T is the longest training example (buildSftData), built with the session.
   * 'context': T is the model's context and the training set is built only if `run` is called (`SftSession.load`,
   * which mostly evaluates).
   */
  trainingWindow?: 'fit' | 'context';
}

export const DEFAULT_DECODE_ROWS = 32;
export const DEFAULT_MAX_IN_FLIGHT = { webgpu: 2, cpu: 1 } as const;
export const LOG_WINDOW_MS = 100;

/**
 * One logging window: the per-step values of the steps since `startMs`, reduced to their means (NaN left out)
 * plus the speed and progress they imply. Times are performance.now() milliseconds.
 */
export class MetricsWindow {
  private steps = 0;
  private readonly sums = new Map<MetricKey, { sum: number; count: number }>();
  constructor(readonly startMs: number) {}

  get stepCount(): number {
    return this.steps;
  }

  /** Records one finished step's values. */
  addStep(values: Partial<Record<MetricKey, number>>): void {
    this.steps++;
    for (const [key, value] of Object.entries(values) as [MetricKey, number][]) {
      if (Number.isNaN(value)) continue;
      const s = this.sums.get(key) ?? { sum: 0, count: 0 };
      s.sum += value;
      s.count++;
      this.sums.set(key, s);
    }
  }

  /**
   * The window's metrics at `nowMs`, or null when it holds no step: the mean of each recorded key (absent when every
   * value was NaN), step time = elapsed / steps, tokens per second = tokensPerStep / step time, progress and the
   * seconds left at that speed.
   */
  values(
    nowMs: number,
    progress: { stepsDone: number; totalSteps: number; tokensPerStep: number },
  ): Partial<Record<MetricKey, number>> | null {
    if (this.steps === 0) return null;
    const out: Partial<Record<MetricKey, number>> = {};
    for (const [key, s] of this.sums) out[key] = s.sum / s.count;
    const stepTimeMs = (nowMs - this.startMs) / this.steps;
    out[METRIC.stepTimeMs] = stepTimeMs;
    if (stepTimeMs > 0) out[METRIC.tokensPerSecond] = (progress.tokensPerStep * 1000) / stepTimeMs;
    out[METRIC.progressFraction] = Math.min(1, progress.stepsDone / progress.totalSteps);
    out[METRIC.secondsLeft] = (Math.max(0, progress.totalSteps - progress.stepsDone) * stepTimeMs) / 1000;
    return out;
  }
}

const newWindow = (): MetricsWindow => new MetricsWindow(performance.now());

export class SftSession {
  readonly config: RunConfig;
  private readonly trainer: TrainBackend;
  private decoder: DecodeBackend | null = null;
  /** Settles once the initial state is loaded (rejects with its error). */
  private readonly ready: Promise<void>;
  private readonly lock = new Mutex();
  private readonly decodeRows: number;
  private readonly maxInFlight: number;
  private readonly logWindowMs: number;
  private readonly contextLength: number;
  private data: SftData | null = null;
  private heldOut: HeldOutData | null = null;
  private evalSetCache: { key: string; set: EvalSet } | null = null;
  private stepsDone: number;
  private stepsQueued: number;
  private state: SessionState | 'idle' = 'idle';
  private destroyed = false;
  private readonly control = new RunControl<SessionSummary>();
  private window: MetricsWindow = newWindow();
  /** Queued steps (and held-out losses) whose results the loop has not awaited yet. */
  private readonly pending: Promise<void>[] = [];
  private lastSamplesStep = -1;
  private lastCheckpointStep = -1;
  private lastEvalLossStep = -1;

  /**
   * Validates `config` (a ConfigError names every bad field) and creates the model on `backend`: fresh weights from
   * the config's seed, or `resumeFrom`'s weights, moments and step counter.
   */
  constructor(
    private readonly backend: Backend,
    config: RunConfig,
    private readonly onEvent: (event: SessionEvent) => void,
    resumeFrom?: TrainerState,
    options: SftSessionOptions = {},
  ) {
    this.config = parseRunConfig(config);
    const c = this.config;
    const model = modelConfigFor(c);
    this.contextLength = model.contextLength;
    this.decodeRows = checkOption('decodeRows', options.decodeRows ?? DEFAULT_DECODE_ROWS, 1, 4096);
    this.maxInFlight = checkOption('maxInFlight', options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT[backend.kind], 1, 16);
    this.logWindowMs = options.logWindowMs ?? LOG_WINDOW_MS;
    if (!(this.logWindowMs >= 0)) throw new RangeError(`logWindowMs must be ≥ 0, got ${options.logWindowMs}`);
    const start = resumeFrom?.step ?? 0;
    if (!Number.isSafeInteger(start) || start < 0) {
      throw new RangeError(`resumeFrom.step must be a non-negative integer, got ${resumeFrom?.step}`);
    }
    this.stepsDone = start;
    this.stepsQueued = start;
    let window: number = model.contextLength;
    if ((options.trainingWindow ?? 'fit') === 'fit') {
      try {
        this.data = buildSftData(c);
        window = this.data.seqLen;
      } catch {
        // No example fits: `run` builds the set again and reports that as the run's error.
      }
    }
    this.trainer = backend.createTrainer(model, optimConfigFor(c), c.sft.batchSize, window);
    try {
      // A state of the wrong shape throws here (naming the field), not later from the first step.
      this.ready = resumeFrom ? this.trainer.loadState(resumeFrom) : Promise.resolve();
    } catch (e) {
      this.trainer.destroy();
      throw e;
    }
    // Observed here so a failed load is not an unhandled rejection before anything awaits it.
    this.ready.catch(() => {});
  }

  /** A session holding a saved model for evaluation only (it can also `run`, continuing that training). */
  static load(backend: Backend, config: RunConfig, state: TrainerState, options: SftSessionOptions = {}): SftSession {
    return new SftSession(backend, config, () => {}, state, { trainingWindow: 'context', ...options });
  }

  /** The model's trainer (for the worker: exports, memory reports). Don't step it while the session runs. */
  get trainBackend(): TrainBackend {
    return this.trainer;
  }

  /** Optimiser steps done. */
  get step(): number {
    return this.stepsDone;
  }

  /** 'idle' before the first run. */
  get status(): SessionState | 'idle' {
    return this.state;
  }

  /**
   * Trains until sft.steps steps are done or `stop()` is called; settles then (rejects, after an 'error' status
   * event, when a step fails). The model stays loaded for `evaluate`. Calling it again after a stop continues.
   */
  run(): Promise<SessionSummary> {
    if (this.destroyed) return Promise.reject(new Error('the session was destroyed'));
    return this.control.start(() => this.train());
  }

  /** Holds training after the step in progress (no busy wait); a no-op when not running. */
  pause(): void {
    this.control.pause();
  }

  resume(): void {
    this.control.resume();
  }

  /** Ends training after the step in progress (also from pause); `run` then settles with state 'stopped'. */
  stop(): void {
    this.control.stop();
  }

  /**
   * Evaluates the current weights on the evaluation set `evalCfg` names with decode settings `decode`. While training
   * runs or is paused it waits for the step in progress and holds the next one until it is done.
   */
  async evaluate(decode: DecodeConfig, evalCfg: EvalConfig): Promise<EvalPoint> {
    checkEvalRequest(decode, evalCfg);
    return this.atStepBoundary(async () => {
      const set = this.evalSet(evalCfg);
      return evaluateModel(this.getDecoder(), set, decode, { step: this.stepsDone, seed: evalCfg.seed });
    });
  }

  /**
   * Evaluates the current weights on the task's evaluation suites (suites.ts), between two steps like `evaluate`.
   * Bad options throw a ConfigError before anything waits for the step in progress.
   */
  async evaluateSuites(opts: SuiteEvalOptions): Promise<SuiteResult[]> {
    checkSuiteOptions(this.config, opts);
    return this.atStepBoundary(() => evaluateSuites(this.getDecoder(), this.config, opts, this.contextLength));
  }

  /** Weights, AdamW moments and step counter of the current model (between steps while training runs). */
  readState(): Promise<TrainerState> {
    return this.atStepBoundary(() => this.trainer.readState());
  }

  /** Stops training, waits for it to end and frees the model's memory. The session is unusable afterwards. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.stop();
    this.destroyed = true;
    await this.control.inFlight?.catch(() => {});
    await this.lock.run(async () => {
      await this.trainer.drain().catch(() => {});
      this.decoder?.destroy();
      this.decoder = null;
      this.trainer.destroy();
    });
  }

  // ---- training loop ----

  private async train(): Promise<SessionSummary> {
    const c = this.config;
    const total = c.sft.steps;
    const pending = this.pending;
    try {
      await this.ready;
      this.data ??= buildSftData(c, this.trainer.seqLen);
      this.heldOut ??= buildHeldOutData(c, this.trainer.seqLen);
      const data = this.data;
      const heldOut = this.heldOut;
      this.setState('running', null);
      this.emit({ type: 'metrics', step: this.stepsDone, values: { [METRIC.droppedFraction]: data.droppedFraction } });
      this.window = newWindow();
      while (this.stepsQueued < total) {
        // Wait for a free slot first, so a pause or stop asked for meanwhile takes effect before the next step.
        while (pending.length >= this.maxInFlight) await pending.shift();
        if (this.control.stopping) break;
        if (this.control.pausing) {
          await settleAll(pending);
          this.flushMetrics();
          this.setState('paused', null);
          if (await this.control.waitWhilePaused()) break;
          this.setState('running', null);
          this.window = newWindow();
          continue;
        }
        await this.lock.run(async () => {
          // The step: batch → forward, loss, backward, AdamW (queued) → log when its stats arrive.
          const s = this.stepsQueued++;
          const stepDone = this.trainer.step(batchAt(data, s)).then((stats) => {
            this.stepsDone = s + 1;
            this.window.addStep({
              [METRIC.trainLoss]: stats.loss,
              [METRIC.trainGradNorm]: stats.gradNorm,
              [METRIC.trainLearningRate]: stats.learningRate,
            });
            if (performance.now() - this.window.startMs >= this.logWindowMs || s + 1 === total) this.flushMetrics();
          });
          track(pending, stepDone);
          const k = s + 1;
          if (everyN(c.sft.evalLossEverySteps, k) && heldOut.batch) track(pending, this.evalLoss(k, stepDone));
          if (k < total && everyN(c.sft.samplesEverySteps, k)) await this.boundaryWork(() => this.emitSamples());
          if (k < total && everyN(c.sft.checkpointEverySteps, k)) await this.boundaryWork(() => this.emitCheckpoint());
        });
      }
      await settleAll(pending);
      this.flushMetrics();
      const stopped = this.stepsDone < total;
      // The run's closing held-out loss, samples and checkpoint (skipped when the session is being destroyed).
      await this.lock.run(async () => {
        if (this.destroyed) return;
        const k = this.stepsDone;
        if (heldOut.batch && c.sft.evalLossEverySteps > 0 && this.lastEvalLossStep !== k) {
          await this.evalLoss(k, Promise.resolve());
        }
        if (c.sft.samplesEverySteps > 0 && this.lastSamplesStep !== k)
          await this.boundaryWork(() => this.emitSamples());
        if (this.lastCheckpointStep !== k) await this.boundaryWork(() => this.emitCheckpoint());
      });
      const state = stopped ? 'stopped' : 'finished';
      this.setState(state, null);
      return { state, steps: this.stepsDone };
    } catch (e) {
      // Let every queued step settle before reporting, so nothing touches the trainer after the error surfaces.
      await Promise.allSettled(pending.splice(0));
      this.setState('error', e instanceof Error ? e.message : String(e));
      throw e;
    }
  }

  /** Held-out loss after step k (queued behind it on the backend); reported after step k's own metrics. */
  private async evalLoss(k: number, stepDone: Promise<void>): Promise<void> {
    this.lastEvalLossStep = k;
    const [, loss] = await Promise.all([stepDone, this.trainer.evaluate(this.heldOut!.batch!)]);
    this.flushMetrics();
    this.emit({ type: 'metrics', step: k, values: { [METRIC.evalLoss]: loss } });
  }

  private async emitSamples(): Promise<void> {
    const k = this.stepsDone;
    this.lastSamplesStep = k;
    // Greedy, no intervention, as long as the run's own decode settings allow.
    const greedy: DecodeConfig = {
      ...DEFAULT_DECODE_CONFIG,
      temperature: 0,
      intervention: 'none',
      maxNewTokens: this.config.decode.maxNewTokens,
    };
    const traces = await generateTraces(
      this.getDecoder(),
      this.config.task.id,
      this.heldOut!.samplePrompts,
      this.contextLength,
      greedy,
      this.config.seed,
    );
    this.emit({ type: 'samples', step: k, samples: traces.map(traceSample) });
  }

  private async emitCheckpoint(): Promise<void> {
    const k = this.stepsDone;
    this.lastCheckpointStep = k;
    const state = await this.trainer.readState();
    this.emit({ type: 'checkpoint', step: k, state });
  }

  /**
   * Runs `work` between steps: every queued step finished, the metrics so far reported, and the time `work` takes
   * kept out of the step-time average. The caller holds the lock.
   */
  private async boundaryWork<T>(work: () => Promise<T>): Promise<T> {
    await this.trainer.drain();
    // The loop's handlers of the drained steps (step count, metrics) run before the work reads them.
    await Promise.allSettled(this.pending);
    this.flushMetrics();
    try {
      return await work();
    } finally {
      this.window = newWindow();
    }
  }

  /** `boundaryWork` under the lock (for calls from outside the loop). */
  private atStepBoundary<T>(work: () => Promise<T>): Promise<T> {
    if (this.destroyed) return Promise.reject(new Error('the session was destroyed'));
    return this.lock.run(async () => {
      await this.ready;
      return this.boundaryWork(work);
    });
  }

  private getDecoder(): DecodeBackend {
    this.decoder ??= this.backend.createDecoder(this.trainer, this.decodeRows);
    return this.decoder;
  }

  private evalSet(evalCfg: EvalConfig): EvalSet {
    const key = JSON.stringify([evalCfg.size, evalCfg.variant, evalCfg.seed, evalCfg.lengthTag ?? null]);
    if (this.evalSetCache?.key !== key) this.evalSetCache = { key, set: buildEvalSet(this.config, evalCfg) };
    return this.evalSetCache.set;
  }

  // ---- logging ----

  /** Emits the current window's metrics (if it holds any step) and starts a new window. */
  private flushMetrics(): void {
    const now = performance.now();
    const values = this.window.values(now, {
      stepsDone: this.stepsDone,
      totalSteps: this.config.sft.steps,
      tokensPerStep: this.config.sft.batchSize * this.trainer.seqLen,
    });
    if (values === null) return;
    this.window = new MetricsWindow(now);
    this.emit({ type: 'metrics', step: this.stepsDone, values });
  }

  private setState(state: SessionState, message: string | null): void {
    this.state = state;
    this.emit({ type: 'status', state, step: this.stepsDone, message });
  }

  private emit(event: SessionEvent): void {
    this.onEvent(event);
  }
}

/** Adds `p` to `pending`, marked handled so a failure before the loop awaits it is not an unhandled rejection. */
function track(pending: Promise<void>[], p: Promise<void>): void {
  p.catch(() => {});
  pending.push(p);
}

function everyN(n: number, k: number): boolean {
  return n > 0 && k % n === 0;
}

/** Awaits and removes every promise of `pending` (rejecting with the first failure, after all have settled). */
async function settleAll(pending: Promise<void>[]): Promise<void> {
  const all = pending.splice(0);
  const results = await Promise.allSettled(all);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
}

function checkOption(name: string, value: number, lo: number, hi: number): number {
  if (!Number.isInteger(value) || value < lo || value > hi) {
    throw new RangeError(`${name} must be an integer in [${lo}, ${hi}], got ${value}`);
  }
  return value;
}
