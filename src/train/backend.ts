/**
 * The compute backend behind a playground session: the WebGPU engine (src/model, src/train/trainer.ts) or, without
 * WebGPU, the CPU reference model (src/model/reference.ts), slow but exact. Sessions (session.ts, sft.ts, grpo.ts,
 * evaluate.ts) only see these interfaces and the formats they take (Batch, StepStats, TrainerState), so the same
 * worker API runs on either; both trainers import the formats from here.
 */
import type { ModelConfig } from '../model/config';
import type { Completion, GenerateOptions } from '../model/generate';
import type { OptimConfig } from './config';

/** One batch of B sequences of T tokens, flattened row-major. */
export interface Batch {
  /** [B·T] input ids */
  tokens: Int32Array;
  /** [B·T] next-token targets; −1 = no loss at this position */
  targets: Int32Array;
  /** [B·T] per-token loss weight (SFT: 1/number of target tokens; GRPO: advantage-derived). */
  weights: Float32Array;
}

export interface StepStats {
  /** 0-based index of the step. */
  step: number;
  /** Σ weights · token loss (the mean loss when weights sum to 1). */
  loss: number;
  /** Global L2 norm of the gradient before clipping. */
  gradNorm: number;
  learningRate: number;
}

/** Everything needed to continue training exactly: weights, AdamW moments and the step counter. */
export interface TrainerState {
  params: Float32Array;
  /** AdamW first and second moments (null: start from zero, e.g. a model imported without them). */
  m: Float32Array | null;
  v: Float32Array | null;
  /** Optimiser steps taken (drives the learning-rate schedule and bias correction). */
  step: number;
}

export interface TrainBackend {
  readonly config: ModelConfig;
  readonly batchSize: number;
  readonly seqLen: number;
  /** Steps run in call order; the promise settles with the step's loss once it is known. */
  step(batch: Batch): Promise<StepStats>;
  /** Loss of the current weights on a batch (no update). */
  evaluate(batch: Batch): Promise<number>;
  /**
   * log π(targets[i]) under the current weights for every position [B·T] (0 where the target is −1), with no update;
   * queued like evaluate(). `weights` is not needed (GRPO computes them from these).
   */
  tokenLogprobs(batch: Pick<Batch, 'tokens' | 'targets'>): Promise<Float32Array>;
  readParams(): Promise<Float32Array>;
  readState(): Promise<TrainerState>;
  /** Replaces weights, moments and step counter (after every queued step). */
  loadState(state: TrainerState): Promise<void>;
  /** Settles when every queued step has finished. */
  drain(): Promise<void>;
  destroy(): void;
}

export interface DecodeBackend {
  /** Most prompts per `generate` call. */
  readonly rows: number;
  generate(prompts: readonly (readonly number[])[], options: GenerateOptions): Promise<Completion[]>;
  destroy(): void;
}

export interface Backend {
  readonly kind: 'webgpu' | 'cpu';
  /** Adapter description ("vendor / architecture / description") or "CPU reference". */
  readonly adapterName: string;
  /** A trainer with fresh weights from `config.seed`; continue from a saved state with `loadState`. */
  createTrainer(config: ModelConfig, optim: OptimConfig, batchSize: number, seqLen: number): TrainBackend;
  /** A decoder that always reads `source`'s current weights (on the GPU: the same buffer, no copy). */
  createDecoder(source: TrainBackend, rows: number): DecodeBackend;
  destroy(): void;
}
