/**
 * The one interface between the UI and the engine worker (src/worker/engine.worker.ts), called through comlink.
 * The worker owns the GPUDevice (or, without WebGPU, the CPU reference backend); the UI thread never touches the GPU.
 * Progress comes back as one stream of typed events (`WorkerEvent`) through a callback passed with Comlink.proxy.
 */
import type { TrainerState } from '../train/backend';
import type { MetricKey } from '../train/metrics';
import type { EvalPoint, TraceSample } from '../train/results';
import type { DecodeConfig, EvalConfig, RunConfig } from '../train/run_config';
import type { SelfTestResult } from '../train/selftest';

export interface EngineInfo {
  backend: 'webgpu' | 'cpu';
  /** "vendor / architecture / description" of the adapter, or "CPU reference". */
  adapter: string;
  /** Why the CPU backend is in use (no navigator.gpu, no adapter, …); null on WebGPU. */
  fallbackReason: string | null;
}

export type TrainingState = 'running' | 'paused' | 'stopped' | 'finished' | 'error';

export type WorkerEvent =
  /** The session changed state; `step` = optimiser steps done. */
  | { type: 'status'; state: TrainingState; step: number; message: string | null }
  /** Metric values at a step (only the keys measured at that step). */
  | { type: 'metrics'; step: number; values: Partial<Record<MetricKey, number>> }
  /** Greedy generations on a few held-out prompts with the current weights. */
  | { type: 'samples'; step: number; samples: TraceSample[] }
  /** Weights, moments and step counter to persist; resuming from it continues the same run. */
  | { type: 'checkpoint'; step: number; state: TrainerState };

export type WorkerEventListener = (event: WorkerEvent) => void;

export interface TrainSummary {
  state: 'finished' | 'stopped';
  steps: number;
}

export interface StoptimeWorkerApi {
  /**
   * Creates the compute backend (once): WebGPU when an adapter is available, otherwise the CPU reference backend
   * (or always the CPU one with `forceCpu`). Never rejects for a missing adapter; says why in `fallbackReason`.
   */
  init(options?: { forceCpu?: boolean }): Promise<EngineInfo>;
  /** Trains a small model to reverse digit strings for `steps` steps and returns its loss curve (WebGPU only). */
  selfTest(steps: number, seed: number): Promise<SelfTestResult>;
  /**
   * Runs SFT for `config` (validated here too; a ConfigError names the fields), from `resumeFrom` when given. Events
   * stream to `onEvent`. Settles when the run finishes or is stopped; the trained model stays loaded for `evaluate`.
   */
  train(config: RunConfig, onEvent: WorkerEventListener, resumeFrom?: TrainerState): Promise<TrainSummary>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  stop(): Promise<void>;
  /** Makes a saved model current (for evaluation), replacing any finished session's model. */
  loadModel(config: RunConfig, state: TrainerState): Promise<void>;
  /**
   * Evaluates the current model on the fixed evaluation set with `decode` settings and returns one chart point.
   * Allowed while training runs or is paused (it runs between steps).
   */
  evaluate(decode: DecodeConfig, evalConfig: EvalConfig): Promise<EvalPoint>;
  /** Weights, moments and step of the current model (for export). */
  readModel(): Promise<TrainerState>;
}

export type { SelfTestResult };
