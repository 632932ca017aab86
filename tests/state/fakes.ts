/**
 * Collaborators for the state layer's unit tests: a fake engine worker that implements the real interface
 * (StoptimeWorkerApi) and lets a test drive a session's events and end, a real runs database on fake-indexeddb, a state
 * handle (a zustand vanilla store of PlaygroundData), and small fixtures.
 */
import 'fake-indexeddb/auto';
import { createStore } from 'zustand/vanilla';
import { buildParamLayout } from '../../src/model/params';
import type { RunRecord } from '../../src/runs/run_record';
import { Persistence, type RunsDbClient } from '../../src/state/persistence';
import { INITIAL_STATE, type PlaygroundData } from '../../src/state/playground_state';
import { openRunsDb } from '../../src/state/runs_db';
import { getTask } from '../../src/tasks/index';
import type { TrainerState } from '../../src/train/backend';
import type { OracleResult } from '../../src/train/oracle';
import type { EvalPoint } from '../../src/train/results';
import {
  DEFAULT_DECODE_CONFIG,
  DEFAULT_RUN_CONFIG,
  type DecodeConfig,
  type EvalConfig,
  modelConfigFor,
  type RunConfig,
} from '../../src/train/run_config';
import type { SelfTestResult } from '../../src/train/selftest';
import type { StepTiming } from '../../src/train/step_timer';
import type {
  EngineInfo,
  GrpoResume,
  OracleProgressListener,
  OracleRequest,
  StoptimeWorkerApi,
  SuiteEvalOptions,
  SuiteResult,
  TrainSummary,
  WorkerEvent,
  WorkerEventListener,
} from '../../src/worker/api';

export const TINY: RunConfig = { ...DEFAULT_RUN_CONFIG, model: { size: 'tiny' }, seed: 5 };

/** A state handle over the playground's initial state (the engine ready unless `engine: null` is passed). */
export function testState(patch: Partial<PlaygroundData> = {}) {
  return createStore<PlaygroundData>()(() => ({
    ...INITIAL_STATE,
    engine: { backend: 'cpu', adapter: 'fake adapter', fallbackReason: null, limits: null },
    ...patch,
  }));
}

let dbCount = 0;
/** A fresh runs database (its own name) on fake-indexeddb. */
export function freshDb(): Promise<RunsDbClient> {
  dbCount += 1;
  return openRunsDb(`stoptime-test-${dbCount}`);
}

/** Persistence over a fresh database, opened, with `saveIntervalMs`. */
export async function openedPersistence(
  state: ReturnType<typeof testState>,
  saveIntervalMs = 20,
): Promise<{ persistence: Persistence; db: RunsDbClient }> {
  const db = await freshDb();
  const persistence = new Persistence(state, async () => db, saveIntervalMs);
  await persistence.open();
  return { persistence, db };
}

/** Weights of the right size for `config`'s model, every value `value`. */
export function weights(config: RunConfig, step: number, value = 0.5): TrainerState {
  const n = buildParamLayout(modelConfigFor(config)).totalElements;
  return { params: new Float32Array(n).fill(value), m: new Float32Array(n), v: new Float32Array(n), step };
}

export function makeRun(id: string, patch: Partial<RunRecord> = {}): RunRecord {
  return {
    id,
    name: `run ${id}`,
    createdAt: 1_760_000_000_000,
    updatedAt: 1_760_000_000_000,
    config: TINY,
    status: 'finished',
    adapter: 'fake adapter',
    stepsDone: 0,
    timeline: [],
    evalPoints: [],
    samples: null,
    checkpointStep: null,
    ...patch,
  };
}

export function evalPoint(id: string, step: number, decode: DecodeConfig = DEFAULT_DECODE_CONFIG): EvalPoint {
  return {
    id,
    step,
    series: 'temperature',
    decode,
    variant: 'id',
    problems: 8,
    accuracy: 0.5,
    meanThinkingTokens: 10,
    meanThinkingTokensCorrect: 9,
    meanThinkingTokensWrong: 11,
    meanCompletionTokens: 14,
    stopRate: 1,
    repetitionRate: 0,
    histogram: [],
    samples: [],
    evalTimeMs: 5,
    createdAt: 1_760_000_100_000,
  };
}

/** Resolves after the timers and promise callbacks queued before it (real timers, `ms` later). */
export const tick = (ms = 0) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits until `predicate` holds (polling every 5 ms), failing after `timeoutMs`. */
export async function until(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await tick(5);
  }
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(e: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * The engine worker's interface, faked: a training call stays open until the test ends it (`finish`, `fail`) or the
 * session is stopped, and streams what the test `emit`s; evaluations return points numbered by call, one at a time.
 */
export class FakeEngine implements StoptimeWorkerApi {
  readonly calls: string[] = [];
  /** Arguments of the last train / trainRl call. */
  lastTrain: { config: RunConfig; from: TrainerState | undefined; resume: GrpoResume | undefined } | null = null;
  /** Steps of the current session's model (what readModel reports). */
  step = 0;
  /** Settings of each evaluate call. */
  readonly evaluated: { decode: DecodeConfig; evalConfig: EvalConfig }[] = [];
  /** Most evaluate calls in flight at once. */
  maxConcurrentEvaluations = 0;
  /** Makes the next evaluate call reject with this message. */
  failNextEvaluation: string | null = null;
  /** How long an evaluation takes (ms). */
  evaluationMs = 5;
  /** What timeSteps reports: a step's time (ms) on this fake adapter. */
  stepMs = 10;
  private listener: WorkerEventListener | null = null;
  private session: Deferred<TrainSummary> | null = null;
  private evaluating = 0;
  private pointCount = 0;

  async init(): Promise<EngineInfo> {
    this.calls.push('init');
    return { backend: 'cpu', adapter: 'fake adapter', fallbackReason: null, limits: null };
  }

  async timeSteps(config: RunConfig, steps: number): Promise<StepTiming> {
    this.calls.push(`timeSteps ${config.model.size} ${config.sft.batchSize} ${steps}`);
    return { stepMs: this.stepMs, firstStepMs: 2 * this.stepMs, tokensPerStep: config.sft.batchSize * 32 };
  }

  async selfTest(steps: number, seed: number): Promise<SelfTestResult> {
    this.calls.push(`selfTest ${steps} ${seed}`);
    throw new Error('the fake engine has no self-test');
  }

  train(config: RunConfig, onEvent: WorkerEventListener, resumeFrom?: TrainerState): Promise<TrainSummary> {
    this.calls.push('train');
    return this.begin(config, onEvent, resumeFrom?.step ?? 0, resumeFrom, undefined);
  }

  trainRl(config: RunConfig, onEvent: WorkerEventListener, from: TrainerState, resume?: GrpoResume) {
    this.calls.push('trainRl');
    // An RL stage counts its own optimiser steps from 0; a resumed one from its checkpoint's.
    return this.begin(config, onEvent, resume ? from.step : 0, from, resume);
  }

  private begin(
    config: RunConfig,
    onEvent: WorkerEventListener,
    step: number,
    from: TrainerState | undefined,
    resume: GrpoResume | undefined,
  ): Promise<TrainSummary> {
    this.lastTrain = { config, from, resume };
    this.listener = onEvent;
    this.step = step;
    this.session = deferred();
    return this.session.promise;
  }

  /** Sends an event of the current session (its step is the session's own). */
  emit(event: WorkerEvent): void {
    if (event.type !== 'checkpoint' && event.type !== 'rollouts') this.step = Math.max(this.step, event.step);
    this.listener?.(event);
  }

  /** Metrics for steps `from`..`to` of the current session. */
  trainSteps(from: number, to: number): void {
    for (let step = from; step <= to; step++) this.emit({ type: 'metrics', step, values: { 'train/loss': 1 / step } });
  }

  /** Ends the current session as finished (or stopped) after `steps` steps. */
  finish(steps = this.step, state: TrainSummary['state'] = 'finished'): void {
    this.step = steps;
    this.session?.resolve({ state, steps });
    this.session = null;
  }

  fail(reason: string): void {
    this.session?.reject(new Error(reason));
    this.session = null;
  }

  get training(): boolean {
    return this.session !== null;
  }

  async pause(): Promise<void> {
    this.calls.push('pause');
  }

  async resume(): Promise<void> {
    this.calls.push('resume');
  }

  async stop(): Promise<void> {
    this.calls.push('stop');
    this.finish(this.step, 'stopped');
  }

  async loadModel(_config: RunConfig, state: TrainerState): Promise<void> {
    this.calls.push(`loadModel ${state.step}`);
    this.step = state.step;
  }

  async evaluate(decode: DecodeConfig, evalConfig: EvalConfig): Promise<EvalPoint> {
    this.evaluated.push({ decode, evalConfig });
    this.evaluating += 1;
    this.maxConcurrentEvaluations = Math.max(this.maxConcurrentEvaluations, this.evaluating);
    try {
      await tick(this.evaluationMs);
      const failure = this.failNextEvaluation;
      this.failNextEvaluation = null;
      if (failure !== null) throw new Error(failure);
      this.pointCount += 1;
      return { ...evalPoint(`p${this.pointCount}`, this.step, decode), variant: evalConfig.variant };
    } finally {
      this.evaluating -= 1;
    }
  }

  async evaluateSuites(opts: SuiteEvalOptions): Promise<SuiteResult[]> {
    this.calls.push(`evaluateSuites ${opts.variants?.join(',')}`);
    await tick(2);
    return (opts.variants ?? []).map(
      (suite): SuiteResult => ({
        task: 'sokoban',
        suite,
        kind: 'id',
        unit: 'episode',
        problems: opts.size,
        successes: 1,
        meanThinkingTokens: 3,
        meanActions: 4,
        evalTimeMs: 2,
        samples: [],
      }),
    );
  }

  /** The fake has no model to decode with: tests of the oracle (oracle_runner.test.ts) put a real session behind it. */
  async computeOracle(request: OracleRequest, _onProgress: OracleProgressListener): Promise<OracleResult> {
    this.calls.push(`computeOracle ${request.evalConfig.size}`);
    throw new Error('the fake engine computes no oracle frontier');
  }

  async cancelOracle(): Promise<void> {
    this.calls.push('cancelOracle');
  }

  async readModel(): Promise<TrainerState> {
    this.calls.push('readModel');
    const config = this.lastTrain?.config ?? TINY;
    return weights(config, this.step, 0.25);
  }
}

/** The suites of a task (what evaluateSuitesInTurn walks through). */
export function suitesOf(config: RunConfig): readonly string[] {
  return getTask(config.task.id).variants;
}
