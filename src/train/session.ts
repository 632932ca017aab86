/**
 * What the SFT session (sft.ts) and the GRPO session (grpo.ts) share: the training loop's control (run, pause,
 * resume, stop), the mutex that keeps evaluations and weight reads between steps, evaluation, the work done at step
 * boundaries (greedy samples, checkpoints), the metrics window, the session's state and its events.
 *
 * A session is a `TrainingSessionBase`; the subclass supplies the model (`trainBackend`, `getDecoder`), one step
 * (`trainStep`, run under the lock), the schedule (`totalSteps`, `samplesEverySteps`, `checkpointEverySteps`) and the
 * sample prompts. The loop (`train`):
 *
 *   ready → 'running' → until totalSteps steps are started, or a stop:
 *     wait for a free slot of `queueDepth()` queued steps → honour pause / stop → under the lock: trainStep()
 *   → every queued step settled → under the lock: closing samples (not after a stop) and checkpoint
 *   → 'finished' or 'stopped'
 *
 * Steps may be queued without awaiting their stats (`pending`, up to `maxInFlight`): the SFT session does that, the
 * GRPO session runs one step at a time and leaves `pending` empty. A step queued on the device cannot be taken back,
 * so the loop queues ahead only once steps are measured fast (under `queueAheadBelowMs`): on a slow adapter
 * (SwiftShader, seconds a step) one step runs at a time and a pause or stop lands at the end of the step in progress;
 * on a fast one it waits for at most `maxInFlight` steps of milliseconds.
 *
 * The event and summary types here are the worker's (src/worker/api.ts `WorkerEvent`, `TrainSummary`), declared on
 * this side so that imports keep flowing worker → train.
 */

import { ConfigError } from '../model/config';
import type { DecodeBackend, TrainBackend, TrainerState } from './backend';
import { buildEvalSet, type EvalItem, type EvalSet } from './data';
import { checkEvalRequest, evaluateModel, generateTraces, traceSample } from './evaluate';
import { METRIC, type MetricKey } from './metrics';
import { computeOracle, type OracleOptions, type OracleResult } from './oracle';
import type { EvalPoint, TraceSample } from './results';
import {
  DEFAULT_DECODE_CONFIG,
  type DecodeConfig,
  type EvalConfig,
  parseRunConfig,
  type RunConfig,
} from './run_config';
import { Mutex, RunControl } from './run_control';
import type { SuiteResult } from './suite_types';
import { checkSuiteOptions, evaluateSuites, type SuiteEvalOptions } from './suites';

export type SessionState = 'running' | 'paused' | 'stopped' | 'finished' | 'error';

export type SessionEvent =
  /** The session changed state; `step` = steps done. */
  | { type: 'status'; state: SessionState; step: number; message: string | null }
  /** Metric values at a step (only the keys measured at that step). */
  | { type: 'metrics'; step: number; values: Partial<Record<MetricKey, number>> }
  /** Greedy generations on a few held-out prompts with the current weights. */
  | { type: 'samples'; step: number; samples: TraceSample[] }
  /** Weights, moments and step counter to persist; resuming from it continues the same run. */
  | { type: 'checkpoint'; step: number; state: TrainerState };

export interface SessionSummary {
  state: 'finished' | 'stopped';
  /** Steps done (counting the steps of the state resumed from). */
  steps: number;
}

/** What the worker holds of the current model's session, SFT or GRPO alike. */
export interface TrainingSession {
  readonly config: RunConfig;
  /** The model's trainer (for the worker: exports, memory reports). Don't step it while the session runs. */
  readonly trainBackend: TrainBackend;
  /** Steps done. */
  readonly step: number;
  /** 'idle' before the first run. */
  readonly status: SessionState | 'idle';
  run(): Promise<SessionSummary>;
  pause(): void;
  resume(): void;
  stop(): void;
  evaluate(decode: DecodeConfig, evalCfg: EvalConfig): Promise<EvalPoint>;
  evaluateSuites(opts: SuiteEvalOptions): Promise<SuiteResult[]>;
  computeOracle(evalCfg: EvalConfig, options: SessionOracleOptions): Promise<OracleResult>;
  readState(): Promise<TrainerState>;
  destroy(): Promise<void>;
}

/** computeOracle's options that a session's caller chooses (the step is the session's own). */
export type SessionOracleOptions = Omit<OracleOptions, 'step' | 'stage'>;

/** Default shortest wall time (ms) a metrics event averages over. */
export const LOG_WINDOW_MS = 100;

/**
 * Steps are queued ahead (more than one in flight) only while the last step took less than this (ms). Queueing
 * ahead saves the readback gap between steps (about a millisecond), which matters only for fast steps; a queued step
 * runs to its end even after a stop, so on a slow adapter it would delay a pause or stop by a whole step.
 */
export const QUEUE_AHEAD_BELOW_MS = 250;

/**
 * One logging window: the per-step values of the steps since `startMs`, reduced to their means (NaN left out)
 * plus the speed and progress they imply. Times are performance.now() milliseconds.
 */
export class MetricsWindow {
  private steps = 0;
  private readonly sums = new Map<MetricKey, { sum: number; count: number }>();
  /** Running totals (counts through a step): the window reports the last value given, not a mean. */
  private readonly latest = new Map<MetricKey, number>();
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

  /** Records running totals as of the latest finished step (reported as they are, not averaged). */
  setLatest(values: Partial<Record<MetricKey, number>>): void {
    for (const [key, value] of Object.entries(values) as [MetricKey, number][]) this.latest.set(key, value);
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
    for (const [key, value] of this.latest) out[key] = value;
    const stepTimeMs = (nowMs - this.startMs) / this.steps;
    out[METRIC.stepTimeMs] = stepTimeMs;
    if (stepTimeMs > 0) out[METRIC.tokensPerSecond] = (progress.tokensPerStep * 1000) / stepTimeMs;
    out[METRIC.progressFraction] = Math.min(1, progress.stepsDone / progress.totalSteps);
    out[METRIC.secondsLeft] = (Math.max(0, progress.totalSteps - progress.stepsDone) * stepTimeMs) / 1000;
    return out;
  }
}

const newWindow = (): MetricsWindow => new MetricsWindow(performance.now());

/**
 * The shared part of a training session. `E` is the subclass's own events besides SessionEvent (GRPO: rollouts).
 */
export abstract class TrainingSessionBase<E = never> implements TrainingSession {
  readonly config: RunConfig;
  /** Settles once the initial state is loaded (rejects with its error). Set by the subclass's constructor. */
  protected abstract readonly ready: Promise<void>;
  /** The model's context (prompts at least this long are left out of evaluations and samples). */
  protected abstract readonly contextLength: number;
  protected readonly lock = new Mutex();
  protected readonly control = new RunControl<SessionSummary>();
  protected readonly logWindowMs: number;
  /** Most steps queued and not yet finished; 1: one step at a time. */
  protected maxInFlight = 1;
  /** More than one step is queued only while the last step took less than this (ms). */
  protected queueAheadBelowMs = QUEUE_AHEAD_BELOW_MS;
  /** Wall time of the last finished step (ms; from its start or the previous step's end, the later), or null. */
  protected lastStepMs: number | null = null;
  private lastStepEndMs = 0;
  /** Queued steps (and held-out losses) whose results the loop has not awaited yet. */
  protected readonly pending: Promise<void>[] = [];
  protected stepsDone = 0;
  protected destroyed = false;
  protected window: MetricsWindow = newWindow();
  protected lastSamplesStep = -1;
  protected lastCheckpointStep = -1;
  private state: SessionState | 'idle' = 'idle';
  private evalSetCache: { key: string; set: EvalSet } | null = null;

  /** Validates `config` (a ConfigError names every bad field) and `logWindowMs` (default LOG_WINDOW_MS). */
  constructor(
    config: RunConfig,
    private readonly onEvent: (event: SessionEvent | E) => void,
    logWindowMs: number | undefined,
  ) {
    this.config = parseRunConfig(config);
    this.logWindowMs = logWindowMs ?? LOG_WINDOW_MS;
    if (!(this.logWindowMs >= 0)) throw new RangeError(`logWindowMs must be ≥ 0, got ${logWindowMs}`);
  }

  // ---- what a session supplies ----

  abstract get trainBackend(): TrainBackend;
  /** The decoder of samples and evaluations (on the trainer's weights). */
  protected abstract getDecoder(): DecodeBackend;
  /** A new decoder of `rows` prompts per call on the trainer's weights; the caller destroys it. */
  protected abstract createDecoder(rows: number): DecodeBackend;
  /** One step and its periodic boundary work (`periodicWork`); the caller holds the lock. */
  protected abstract trainStep(): Promise<void>;
  /** Frees the models (under the lock, after the trainer drained). */
  protected abstract releaseModels(): void;
  protected abstract get totalSteps(): number;
  /** Tokens one step trains on (for tokens per second). */
  protected abstract get tokensPerStep(): number;
  protected abstract get samplesEverySteps(): number;
  protected abstract get checkpointEverySteps(): number;
  /** The held-out prompts of the greedy samples, and their budget. */
  protected abstract samplePrompts(): readonly EvalItem[];
  protected abstract get sampleMaxNewTokens(): number;

  /** Before 'running' (after the initial state loaded): build what the loop needs. */
  protected async prepareRun(): Promise<void> {}
  /** Metrics emitted right after 'running' (at the current step), or null. */
  protected runStartMetrics(): Partial<Record<MetricKey, number>> | null {
    return null;
  }
  /** Steps started (queued), ≥ steps done. */
  protected get stepsStarted(): number {
    return this.stepsDone;
  }
  /** The run's closing work at step k before the closing samples and checkpoint; the caller holds the lock. */
  protected async closingWork(_k: number): Promise<void> {}
  /** After a failed step, before the error is reported: let nothing touch the trainer afterwards. */
  protected async afterError(): Promise<void> {
    await Promise.allSettled(this.pending.splice(0));
  }

  // ---- the public surface ----

  get step(): number {
    return this.stepsDone;
  }

  get status(): SessionState | 'idle' {
    return this.state;
  }

  /**
   * Trains until totalSteps steps are done or `stop()` is called; settles then (rejects, after an 'error' status
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
    return this.atStepBoundary(() =>
      evaluateModel(this.getDecoder(), this.evalSet(evalCfg), decode, { step: this.stepsDone, seed: evalCfg.seed }),
    );
  }

  /**
   * Evaluates the current weights on the task's evaluation suites (suites.ts), between two steps like `evaluate`.
   * Bad options throw a ConfigError before anything waits for the step in progress.
   */
  async evaluateSuites(opts: SuiteEvalOptions): Promise<SuiteResult[]> {
    checkSuiteOptions(this.config, opts);
    return this.atStepBoundary(async () => {
      const own = this.getDecoder();
      if (opts.decodeRows === undefined || opts.decodeRows === own.rows) {
        return evaluateSuites(own, this.config, opts, this.contextLength);
      }
      // A decoder of the asked rows for this evaluation only.
      const wide = this.createDecoder(opts.decodeRows);
      try {
        return await evaluateSuites(wide, this.config, opts, this.contextLength);
      } finally {
        wide.destroy();
      }
    });
  }

  /**
   * The oracle stopping frontier (oracle.ts) of the current weights on the evaluation set `evalCfg` names, with the
   * session's decoder, between two steps like `evaluate` (the lock is held for the whole computation; `options.signal`
   * ends it between batches). The result's step is the session's steps done and its stage 'sft' (callers that know
   * better mark it). Bad settings throw a ConfigError before anything waits.
   */
  async computeOracle(evalCfg: EvalConfig, options: SessionOracleOptions): Promise<OracleResult> {
    const maxNewTokens = options.maxNewTokens ?? DEFAULT_DECODE_CONFIG.maxNewTokens;
    checkEvalRequest({ ...DEFAULT_DECODE_CONFIG, maxNewTokens }, evalCfg);
    const answerTokens = options.answerTokens ?? 16;
    const temperature = options.trace === undefined || options.trace === 'greedy' ? 0 : options.trace.temperature;
    const issues = [
      ...(Number.isInteger(answerTokens) && answerTokens >= 1 && answerTokens <= 1024
        ? []
        : [{ path: 'answerTokens', message: `must be a whole number from 1 to 1024, got ${answerTokens}` }]),
      ...(temperature >= 0 && temperature <= 10
        ? []
        : [{ path: 'trace.temperature', message: `must be from 0 to 10, got ${temperature}` }]),
    ];
    if (issues.length > 0) throw new ConfigError(issues);
    return this.atStepBoundary(() =>
      computeOracle(this.getDecoder(), this.evalSet(evalCfg), { ...options, step: this.stepsDone }),
    );
  }

  /** Weights, AdamW moments and step counter of the current model (between steps while training runs). */
  readState(): Promise<TrainerState> {
    return this.atStepBoundary(() => this.trainBackend.readState());
  }

  /** Stops training, waits for it to end and frees the model's memory. The session is unusable afterwards. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.stop();
    this.destroyed = true;
    await this.control.inFlight?.catch(() => {});
    await this.lock.run(async () => {
      await this.trainBackend.drain().catch(() => {});
      this.releaseModels();
    });
  }

  // ---- the training loop ----

  private async train(): Promise<SessionSummary> {
    const total = this.totalSteps;
    const pending = this.pending;
    try {
      await this.ready;
      await this.prepareRun();
      this.setState('running', null);
      const first = this.runStartMetrics();
      if (first) this.emit({ type: 'metrics', step: this.stepsDone, values: first });
      this.window = newWindow();
      while (this.stepsStarted < total) {
        // Wait for a free slot first, so a pause or stop asked for meanwhile takes effect before the next step.
        while (pending.length >= this.queueDepth()) await pending.shift();
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
        await this.lock.run(() => this.trainStep());
      }
      await settleAll(pending);
      this.flushMetrics();
      const stopped = this.stepsDone < total;
      // The run's closing samples and checkpoint (skipped when the session is being destroyed). After a stop only
      // the checkpoint (to continue from): the closing work and samples would keep the user waiting.
      await this.lock.run(async () => {
        if (this.destroyed) return;
        const k = this.stepsDone;
        if (!stopped) await this.closingWork(k);
        if (!stopped && this.samplesEverySteps > 0 && this.lastSamplesStep !== k) {
          await this.boundaryWork(() => this.emitSamples());
        }
        if (this.lastCheckpointStep !== k) await this.boundaryWork(() => this.emitCheckpoint());
      });
      const state = stopped ? 'stopped' : 'finished';
      this.setState(state, null);
      return { state, steps: this.stepsDone };
    } catch (e) {
      await this.afterError();
      this.setState('error', e instanceof Error ? e.message : String(e));
      throw e;
    }
  }

  /** How many steps may be queued now: maxInFlight once the last step was fast, else 1 (see QUEUE_AHEAD_BELOW_MS). */
  protected queueDepth(): number {
    return this.lastStepMs !== null && this.lastStepMs < this.queueAheadBelowMs ? this.maxInFlight : 1;
  }

  /** Records a step's wall time when its stats arrive; `startedMs` = performance.now() when it was queued. */
  protected noteStepDone(startedMs: number): void {
    const now = performance.now();
    this.lastStepMs = now - Math.max(startedMs, this.lastStepEndMs);
    this.lastStepEndMs = now;
  }

  /** Samples and checkpoints due after step k (none after the last: the run's closing work does those). */
  protected async periodicWork(k: number): Promise<void> {
    const total = this.totalSteps;
    if (k < total && everyN(this.samplesEverySteps, k)) await this.boundaryWork(() => this.emitSamples());
    if (k < total && everyN(this.checkpointEverySteps, k)) await this.boundaryWork(() => this.emitCheckpoint());
  }

  /** Greedy generations, without intervention, of the sample prompts with the current weights. */
  private async emitSamples(): Promise<void> {
    const k = this.stepsDone;
    this.lastSamplesStep = k;
    const greedy: DecodeConfig = {
      ...DEFAULT_DECODE_CONFIG,
      temperature: 0,
      intervention: 'none',
      maxNewTokens: this.sampleMaxNewTokens,
    };
    const traces = await generateTraces(
      this.getDecoder(),
      this.config.task.id,
      this.samplePrompts(),
      this.contextLength,
      greedy,
      this.config.seed,
    );
    this.emit({ type: 'samples', step: k, samples: traces.map(traceSample) });
  }

  private async emitCheckpoint(): Promise<void> {
    const k = this.stepsDone;
    this.lastCheckpointStep = k;
    const state = await this.trainBackend.readState();
    this.emit({ type: 'checkpoint', step: k, state });
  }

  /**
   * Runs `work` between steps: every queued step finished, the metrics so far reported, and the time `work` takes
   * kept out of the step-time average. The caller holds the lock.
   */
  protected async boundaryWork<T>(work: () => Promise<T>): Promise<T> {
    await this.trainBackend.drain();
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

  /**
   * The evaluation set `evalCfg` names, cached for repeated evaluations. The session's model may have a shorter
   * context than the playground size the set is built for (GrpoSessionOptions.model): longer prompts are left out.
   */
  private evalSet(evalCfg: EvalConfig): EvalSet {
    const key = JSON.stringify([evalCfg.size, evalCfg.variant, evalCfg.seed, evalCfg.lengthTag ?? null]);
    if (this.evalSetCache?.key !== key) {
      let set = buildEvalSet(this.config, evalCfg);
      if (set.contextLength > this.contextLength) {
        const items = set.items.filter((it) => it.promptIds.length < this.contextLength);
        if (items.length === 0)
          throw new Error(`every evaluation prompt is at least ${this.contextLength} tokens long`);
        set = {
          ...set,
          contextLength: this.contextLength,
          items,
          skipped: set.skipped + set.items.length - items.length,
        };
      }
      this.evalSetCache = { key, set };
    }
    return this.evalSetCache.set;
  }

  // ---- logging ----

  /** Emits the current window's metrics (if it holds any step) and starts a new window. */
  protected flushMetrics(): void {
    const now = performance.now();
    const values = this.window.values(now, {
      stepsDone: this.stepsDone,
      totalSteps: this.totalSteps,
      tokensPerStep: this.tokensPerStep,
    });
    if (values === null) return;
    this.window = new MetricsWindow(now);
    this.emit({ type: 'metrics', step: this.stepsDone, values });
  }

  private setState(state: SessionState, message: string | null): void {
    this.state = state;
    this.emit({ type: 'status', state, step: this.stepsDone, message });
  }

  protected emit(event: SessionEvent | E): void {
    this.onEvent(event);
  }
}

/** Adds `p` to `pending`, marked handled so a failure before the loop awaits it is not an unhandled rejection. */
export function track(pending: Promise<void>[], p: Promise<void>): void {
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
