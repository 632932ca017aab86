/**
 * The training step on the CPU, for browsers without WebGPU: the same algorithm as the GPU Trainer (trainer.ts), built
 * from the CPU references the GPU kernels are tested against:
 *
 *   referenceLossAndGrads (forward, weighted cross-entropy, backward; src/model/reference.ts)
 *   → global gradient norm and clip scale (src/cpu/global_norm.ts, as shaders/global_norm.wgsl)
 *   → AdamW with the warmup + cosine learning rate and the matrices-only decay mask (src/cpu/adamw.ts, as
 *     shaders/adamw.wgsl: 1-based step for the bias correction, gradients scaled by the clip scale)
 *
 * Slow but exact (f64 accumulation everywhere, f32 storage like the GPU). Operations run one at a time in call order;
 * before each one the trainer yields to the event loop, so a worker running it still answers messages between steps.
 */

import { adamwStep } from '../cpu/adamw';
import { crossEntropy, crossEntropyF64, weightedLossSum } from '../cpu/crossentropy';
import { clipScale, globalNorm } from '../cpu/global_norm';
import { type ModelConfig, validateModelConfig } from '../model/config';
import { buildParamLayout, decayMask, initParams, type ParamLayout } from '../model/params';
import { referenceForward, referenceLossAndGrads } from '../model/reference';
import type { Batch, StepStats, TrainBackend, TrainerState } from './backend';
import { checkBatch, checkTrainerState } from './checks';
import { learningRateAt, type OptimConfig, validateOptimConfig } from './config';

/** Lets the event loop run (pending messages, timers) before the next queued operation. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

export class CpuTrainer implements TrainBackend {
  readonly layout: ParamLayout;
  /** The live weights: updated in place by every step, overwritten in place by loadState (never reallocated). */
  private readonly params: Float32Array;
  /** AdamW first and second moments, in the parameter arena's layout. */
  private readonly m: Float32Array;
  private readonly v: Float32Array;
  private readonly mask: Uint8Array;
  private stepIndex = 0;
  private destroyed = false;
  /** Settles when the last queued operation is done. */
  private tail: Promise<void> = Promise.resolve();

  constructor(
    readonly config: ModelConfig,
    readonly optim: OptimConfig,
    readonly batchSize: number,
    readonly seqLen: number,
    initial?: TrainerState,
  ) {
    // The same limits as on the GPU, so a model configured here also runs on a WebGPU machine.
    validateModelConfig(config);
    validateOptimConfig(optim);
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new RangeError(`batch size must be a positive integer, got ${batchSize}`);
    }
    if (!Number.isInteger(seqLen) || seqLen < 1 || seqLen > config.contextLength) {
      throw new RangeError(
        `sequence length ${seqLen} must be an integer in [1, contextLength = ${config.contextLength}]`,
      );
    }
    this.layout = buildParamLayout(config);
    const n = this.layout.totalElements;
    this.mask = decayMask(this.layout);
    if (initial) {
      const s = checkTrainerState(initial, n);
      this.params = s.params;
      this.m = s.m ?? new Float32Array(n);
      this.v = s.v ?? new Float32Array(n);
      this.stepIndex = s.step;
    } else {
      this.params = initParams(config, this.layout);
      this.m = new Float32Array(n);
      this.v = new Float32Array(n);
    }
  }

  get stepsTaken(): number {
    return this.stepIndex;
  }

  /**
   * The live weight array (no copy), for a decoder on the same thread. It changes in place with every step and
   * loadState, so a reader must not run while a step does: run it through `exclusive()` (the CPU backend's decoder
   * does), or only when the trainer is drained.
   */
  currentParams(): Float32Array {
    return this.params;
  }

  /**
   * Runs `op` in the trainer's queue: after every operation queued before it, and before any queued after it (e.g.
   * generation with the current weights between steps).
   */
  exclusive<T>(op: () => Promise<T>): Promise<T> {
    return this.enqueue(op);
  }

  private enqueue<T>(op: () => T | Promise<T>): Promise<T> {
    const run = this.tail.then(async () => {
      await yieldToEventLoop();
      if (this.destroyed) throw new Error('the CPU trainer was destroyed');
      return op();
    });
    this.tail = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  /** Queues one training step; the promise settles with its stats. Don't modify `batch` until it settles. */
  step(batch: Batch): Promise<StepStats> {
    return this.enqueue(() => this.runStep(batch));
  }

  private runStep(batch: Batch): StepStats {
    const { config, layout, batchSize: B, seqLen: T, optim: o } = this;
    checkBatch(batch, B, T, config.vocabSize);
    const { loss, grads } = referenceLossAndGrads(
      config,
      layout,
      this.params,
      batch.tokens,
      batch.targets,
      batch.weights,
      B,
      T,
    );
    const gradNorm = globalNorm(grads);
    const step = this.stepIndex;
    const learningRate = learningRateAt(o, step);
    adamwStep(
      this.params,
      grads,
      this.m,
      this.v,
      this.mask,
      { lr: learningRate, beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay, step: step + 1 },
      clipScale(gradNorm, o.gradClipNorm),
    );
    this.stepIndex = step + 1;
    return { step, loss, gradNorm, learningRate };
  }

  /** Loss of a batch with the current weights (no update), queued like a step. */
  evaluate(batch: Batch): Promise<number> {
    return this.enqueue(() => {
      const { config, batchSize: B, seqLen: T } = this;
      checkBatch(batch, B, T, config.vocabSize);
      const { logits } = referenceForward(config, this.layout, this.params, batch.tokens, B, T);
      const { losses } = crossEntropy(logits, batch.targets, batch.weights, B * T, config.vocabSize);
      return weightedLossSum(losses, batch.weights, B * T);
    });
  }

  /**
   * log π(targets[i]) for every position [B·T] with the current weights (0 where the target is −1), queued like a
   * step; no update. `batch.weights`, if present, is ignored.
   */
  tokenLogprobs(batch: Pick<Batch, 'tokens' | 'targets'>): Promise<Float32Array> {
    return this.enqueue(() => {
      const { config, batchSize: B, seqLen: T } = this;
      const N = B * T;
      const weights = new Float32Array(N);
      checkBatch({ tokens: batch.tokens, targets: batch.targets, weights }, B, T, config.vocabSize);
      const { logits } = referenceForward(config, this.layout, this.params, batch.tokens, B, T);
      const { losses } = crossEntropyF64(logits, batch.targets, weights, N, config.vocabSize);
      const out = new Float32Array(N);
      for (let i = 0; i < N; i++) out[i] = batch.targets[i] === -1 ? 0 : -losses[i]!;
      return out;
    });
  }

  /** A copy of the weights after every operation queued before this call. */
  readParams(): Promise<Float32Array> {
    return this.enqueue(() => this.params.slice());
  }

  /** Copies of weights and moments, and the number of steps taken, after every operation queued before this call. */
  readState(): Promise<TrainerState> {
    return this.enqueue(() => ({
      params: this.params.slice(),
      m: this.m.slice(),
      v: this.v.slice(),
      step: this.stepIndex,
    }));
  }

  /**
   * Replaces weights, moments (zeros where null) and the step counter after every operation queued before this call.
   * The state is checked and copied first: a bad state throws a RangeError naming the field from this call itself.
   */
  loadState(state: TrainerState): Promise<void> {
    const s = checkTrainerState(state, this.layout.totalElements);
    return this.enqueue(() => {
      this.params.set(s.params);
      if (s.m) this.m.set(s.m);
      else this.m.fill(0);
      if (s.v) this.v.set(s.v);
      else this.v.fill(0);
      this.stepIndex = s.step;
    });
  }

  /** Settles when every operation queued so far has finished. */
  drain(): Promise<void> {
    return this.tail;
  }

  /** Operations queued after this (or still waiting) reject; the running one, if any, finishes. */
  destroy(): void {
    this.destroyed = true;
  }
}
