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
 * requested while training runs lands between two steps and sees the weights of the last one. The loop, the control,
 * evaluation, boundary work, metrics window, state and events are the sessions' shared base (session.ts).
 */

import type { Backend, DecodeBackend, TrainBackend, TrainerState } from './backend';
import {
  buildHeldOutData,
  buildSftData,
  type EvalItem,
  ExampleTally,
  examplesAt,
  type HeldOutData,
  packBatch,
  type SftData,
} from './data';
import { METRIC, type MetricKey } from './metrics';
import { modelConfigFor, optimConfigFor, type RunConfig } from './run_config';
import { type SessionEvent, TrainingSessionBase, track } from './session';

export interface SftSessionOptions {
  /** Prompts per generate call of the session's decoder (samples and evaluations). Default 32. */
  decodeRows?: number;
  /**
   * Most training steps queued and not yet finished (1: one at a time). Default 2 on WebGPU (the next step is queued
   * while one runs, so the GPU never waits for a readback), 1 on the CPU backend (a step takes seconds there, and
   * every queued step delays a pause or stop by that much).
   */
  maxInFlight?: number;
  /** More than one step is queued only while the last step took less than this (ms). Default QUEUE_AHEAD_BELOW_MS. */
  queueAheadBelowMs?: number;
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

export class SftSession extends TrainingSessionBase {
  private readonly trainer: TrainBackend;
  private decoder: DecodeBackend | null = null;
  protected readonly ready: Promise<void>;
  protected readonly contextLength: number;
  private readonly decodeRows: number;
  private data: SftData | null = null;
  private heldOut: HeldOutData | null = null;
  /** Examples seen and distinct examples through the steps queued (rebuilt from the steps before a resume). */
  private tally: ExampleTally | null = null;
  private stepsQueued: number;
  private lastEvalLossStep = -1;

  /**
   * Validates `config` (a ConfigError names every bad field) and creates the model on `backend`: fresh weights from
   * the config's seed, or `resumeFrom`'s weights, moments and step counter.
   */
  constructor(
    private readonly backend: Backend,
    config: RunConfig,
    onEvent: (event: SessionEvent) => void,
    resumeFrom?: TrainerState,
    options: SftSessionOptions = {},
  ) {
    super(config, onEvent, options.logWindowMs);
    const c = this.config;
    const model = modelConfigFor(c);
    this.contextLength = model.contextLength;
    this.decodeRows = checkOption('decodeRows', options.decodeRows ?? DEFAULT_DECODE_ROWS, 1, 4096);
    this.maxInFlight = checkOption('maxInFlight', options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT[backend.kind], 1, 16);
    if (options.queueAheadBelowMs !== undefined) this.queueAheadBelowMs = options.queueAheadBelowMs;
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

  get trainBackend(): TrainBackend {
    return this.trainer;
  }

  protected getDecoder(): DecodeBackend {
    this.decoder ??= this.createDecoder(this.decodeRows);
    return this.decoder;
  }

  protected createDecoder(rows: number): DecodeBackend {
    return this.backend.createDecoder(this.trainer, rows);
  }

  protected releaseModels(): void {
    this.decoder?.destroy();
    this.decoder = null;
    this.trainer.destroy();
  }

  protected get totalSteps(): number {
    return this.config.sft.steps;
  }

  protected get tokensPerStep(): number {
    return this.config.sft.batchSize * this.trainer.seqLen;
  }

  protected get samplesEverySteps(): number {
    return this.config.sft.samplesEverySteps;
  }

  protected get checkpointEverySteps(): number {
    return this.config.sft.checkpointEverySteps;
  }

  protected samplePrompts(): readonly EvalItem[] {
    return this.heldOut!.samplePrompts;
  }

  /** As long as the run's own decode settings allow. */
  protected get sampleMaxNewTokens(): number {
    return this.config.decode.maxNewTokens;
  }

  protected override get stepsStarted(): number {
    return this.stepsQueued;
  }

  protected override async prepareRun(): Promise<void> {
    this.data ??= buildSftData(this.config, this.trainer.seqLen);
    this.heldOut ??= buildHeldOutData(this.config, this.trainer.seqLen);
    this.tally ??= ExampleTally.through(this.data!, this.stepsQueued);
  }

  protected override runStartMetrics(): Partial<Record<MetricKey, number>> {
    return { [METRIC.droppedFraction]: this.data!.droppedFraction };
  }

  // ---- the step ----

  /** batch → forward, loss, backward, AdamW (queued) → log when its stats arrive; then the boundary work due. */
  protected async trainStep(): Promise<void> {
    const c = this.config;
    const total = c.sft.steps;
    const s = this.stepsQueued++;
    const startedMs = performance.now();
    const examples = examplesAt(this.data!, s);
    this.tally!.add(examples);
    const counts = { [METRIC.examplesSeen]: this.tally!.seen, [METRIC.distinctExamples]: this.tally!.distinct };
    const stepDone = this.trainer.step(packBatch(examples, this.data!.batchSize, this.data!.seqLen)).then((stats) => {
      this.noteStepDone(startedMs);
      this.stepsDone = s + 1;
      this.window.addStep({
        [METRIC.trainLoss]: stats.loss,
        [METRIC.trainGradNorm]: stats.gradNorm,
        [METRIC.trainLearningRate]: stats.learningRate,
      });
      this.window.setLatest(counts);
      if (performance.now() - this.window.startMs >= this.logWindowMs || s + 1 === total) this.flushMetrics();
    });
    track(this.pending, stepDone);
    const k = s + 1;
    const every = c.sft.evalLossEverySteps;
    if (every > 0 && k % every === 0 && this.heldOut!.batch) track(this.pending, this.evalLoss(k, stepDone));
    await this.periodicWork(k);
  }

  /** The run's closing held-out loss (before its closing samples and checkpoint). */
  protected override async closingWork(k: number): Promise<void> {
    if (this.heldOut!.batch && this.config.sft.evalLossEverySteps > 0 && this.lastEvalLossStep !== k) {
      await this.evalLoss(k, Promise.resolve());
    }
  }

  /** Held-out loss after step k (queued behind it on the backend); reported after step k's own metrics. */
  private async evalLoss(k: number, stepDone: Promise<void>): Promise<void> {
    this.lastEvalLossStep = k;
    const [, loss] = await Promise.all([stepDone, this.trainer.evaluate(this.heldOut!.batch!)]);
    this.flushMetrics();
    this.emit({ type: 'metrics', step: k, values: { [METRIC.evalLoss]: loss } });
  }
}

function checkOption(name: string, value: number, lo: number, hi: number): number {
  if (!Number.isInteger(value) || value < lo || value > hi) {
    throw new RangeError(`${name} must be an integer in [${lo}, ${hi}], got ${value}`);
  }
  return value;
}
