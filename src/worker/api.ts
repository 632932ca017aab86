/**
 * The one interface between the UI and the engine worker (src/worker/engine.worker.ts), called through comlink.
 * The worker owns the GPUDevice (or, without WebGPU, the CPU reference backend); the UI thread never touches the GPU.
 * Progress comes back as one stream of typed events (`WorkerEvent`) through a callback passed with Comlink.proxy.
 */
import type { SizeLimits } from '../model/config';
import type { TrainerState } from '../train/backend';
import type { GrpoResume, RlSessionEvent, RolloutsEvent } from '../train/grpo';
import type { OracleResult } from '../train/oracle';
import type { EvalPoint } from '../train/results';
import type { DecodeConfig, EvalConfig, RunConfig } from '../train/run_config';
import type { SelfTestResult } from '../train/selftest';
import type { SessionEvent, SessionState, SessionSummary } from '../train/session';
import type { StepTiming } from '../train/step_timer';
import type { SuiteResult } from '../train/suite_types';
import type { SuiteEvalOptions } from '../train/suites';

export interface EngineInfo {
  backend: 'webgpu' | 'cpu';
  /** "vendor / architecture / description" of the adapter, or "CPU reference". */
  adapter: string;
  /** Why the CPU backend is in use (no navigator.gpu, no adapter, …); null on WebGPU. */
  fallbackReason: string | null;
  /** The device's limits that bound model and batch sizes (the UI checks settings against them); null on the CPU. */
  limits: SizeLimits | null;
}

/** The sessions' own types (src/train/session.ts), re-exported under the worker's names. */
export type TrainingState = SessionState;
/** The SFT session's events plus the RL session's `rollouts` (an SFT run never sends one). */
export type WorkerEvent = RlSessionEvent;
export type WorkerEventListener = (event: WorkerEvent) => void;
export type TrainSummary = SessionSummary;

/** What `computeOracle` computes (src/train/oracle.ts): candidates are every thinking token (step boundaries beside). */
export interface OracleRequest {
  /** The evaluation set: its size is the number of problems. */
  evalConfig: EvalConfig;
  /** Answer tokens generated after each forced `</think>` (1 … 1024). */
  answerTokens: number;
  /** The own traces: greedy, or sampled at this temperature (seeded with evalConfig.seed). */
  trace: 'greedy' | { temperature: number };
  /** Decode budget of the own traces. */
  maxNewTokens: number;
}

/** computeOracle's progress: rows (own traces, then truncations) done of all. */
export type OracleProgressListener = (rowsDone: number, rowsTotal: number) => void;

/** The message a computeOracle call rejects with after `cancelOracle`. */
export const ORACLE_CANCELLED = 'oracle frontier cancelled';

export interface StoptimeWorkerApi {
  /**
   * Creates the compute backend (once): WebGPU when an adapter is available, otherwise the CPU reference backend
   * (or always the CPU one with `forceCpu`). Never rejects for a missing adapter; says why in `fallbackReason`.
   */
  init(options?: { forceCpu?: boolean }): Promise<EngineInfo>;
  /**
   * Times `steps` training steps of `config` (its model, batch and training window) after one warm-up step, on a
   * throwaway trainer (src/train/step_timer.ts): what the page measures on load to size its default run to the
   * adapter. Refused while a run trains.
   */
  timeSteps(config: RunConfig, steps: number): Promise<StepTiming>;
  /** Trains a small model to reverse digit strings for `steps` steps and returns its loss curve (WebGPU only). */
  selfTest(steps: number, seed: number): Promise<SelfTestResult>;
  /**
   * Runs SFT for `config` (validated here too; a ConfigError names the fields), from `resumeFrom` when given. Events
   * stream to `onEvent`. Settles when the run finishes or is stopped; the trained model stays loaded for `evaluate`.
   */
  train(config: RunConfig, onEvent: WorkerEventListener, resumeFrom?: TrainerState): Promise<TrainSummary>;
  /**
   * Runs the RL stage (GRPO / TLDR, src/train/grpo.ts) for `config` (its `rl` settings, DEFAULT_RL_CONFIG when
   * absent) from the SFT checkpoint `from`; replaces the current model like `train`. Events stream to `onEvent` with
   * RL steps (from 0); pause, resume, stop, evaluate and readModel act on this session while it is current.
   * With `resume`, `from` is instead a checkpoint of an interrupted RL stage (its step counting the stage's optimiser
   * steps, rl.numIterations per RL step) and the stage continues from it, its events counting the RL steps already
   * done; `resume.reference` holds the weights the stage began from (required when rl.loss.beta > 0).
   */
  trainRl(
    config: RunConfig,
    onEvent: WorkerEventListener,
    from: TrainerState,
    resume?: GrpoResume,
  ): Promise<TrainSummary>;
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
  /**
   * Evaluates the current model on every evaluation suite of its task (or `opts.variants`), `opts.size` problems
   * each (Sokoban: episodes), decoded with `opts.decode`; one SuiteResult per suite, in the task's variant order.
   * Like `evaluate`, allowed while training runs or is paused (between steps).
   */
  evaluateSuites(opts: SuiteEvalOptions): Promise<SuiteResult[]>;
  /**
   * The oracle stopping frontier of the current model (src/train/oracle.ts) on `request.evalConfig`'s evaluation set:
   * each problem's own trace, `</think>` forced after every thinking token, the answer generated and verified. Progress
   * goes to `onProgress` (pass it with Comlink.proxy) after the own traces and after every batch of truncations.
   * Refused while a run trains and while another computation runs; `cancelOracle` ends it between batches (it then
   * rejects with ORACLE_CANCELLED). The result's step is the model's own step count and its stage 'sft'.
   */
  computeOracle(request: OracleRequest, onProgress: OracleProgressListener): Promise<OracleResult>;
  /** Ends the running computeOracle call after its batch in progress (nothing when none runs). */
  cancelOracle(): Promise<void>;
  /** Weights, moments and step of the current model (for export). */
  readModel(): Promise<TrainerState>;
}

export type {
  GrpoResume,
  OracleResult,
  RolloutsEvent,
  SelfTestResult,
  SessionEvent,
  StepTiming,
  SuiteEvalOptions,
  SuiteResult,
};
