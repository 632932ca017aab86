/// <reference lib="webworker" />
/**
 * The engine worker: owns the compute backend (the GPUDevice, or the CPU reference backend where WebGPU is missing)
 * and the current model, and implements StoptimeWorkerApi, exposed with comlink. One session at a time (SFT, or the
 * GRPO session of an RL stage) holds the current model; training, evaluation and weight reads are serialised inside it.
 */
import * as Comlink from 'comlink';
import { createGpuContext, type GpuContext } from '../gpu/context';
import type { Backend, TrainerState } from '../train/backend';
import { createCpuBackend } from '../train/backend_cpu';
import { createGpuBackend } from '../train/backend_gpu';
import { type GrpoResume, GrpoSession } from '../train/grpo';
import type { DecodeConfig, EvalConfig, RunConfig } from '../train/run_config';
import { runSelfTest } from '../train/selftest';
import type { TrainingSession } from '../train/session';
import { SftSession } from '../train/sft';
import { timeSteps } from '../train/step_timer';
import type { SuiteEvalOptions } from '../train/suites';
import {
  type EngineInfo,
  ORACLE_CANCELLED,
  type OracleProgressListener,
  type OracleRequest,
  type StoptimeWorkerApi,
  type TrainSummary,
  type WorkerEvent,
  type WorkerEventListener,
} from './api';

interface Engine {
  backend: Backend;
  ctx: GpuContext | null;
  info: EngineInfo;
}

let engine: Promise<Engine> | null = null;
/** The current model's session, SFT or GRPO: both are a TrainingSession (src/train/session.ts). */
let session: TrainingSession | null = null;
/** True from the moment `train` or `trainRl` is called until it settles (also while it still sets its session up). */
let training = false;
/** A `stop` that arrived while `train` was still setting its session up (the session did not exist to take it). */
let stopBeforeRun = false;
/** Set while computeOracle runs: cancelOracle aborts it (the computation checks it between batches). */
let oracleAbort: AbortController | null = null;
/** Session replacements run one at a time, so two overlapping calls cannot both install (and leak) a session. */
let replacing: Promise<unknown> = Promise.resolve();

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

async function createEngine(forceCpu: boolean): Promise<Engine> {
  let reason = 'the CPU backend was requested';
  if (!forceCpu) {
    try {
      if (typeof navigator === 'undefined' || !navigator.gpu) throw new Error('this browser has no navigator.gpu');
      const ctx = await createGpuContext(navigator.gpu);
      return {
        backend: createGpuBackend(ctx),
        ctx,
        info: {
          backend: 'webgpu',
          adapter: ctx.adapterName,
          fallbackReason: null,
          limits: {
            maxStorageBufferBindingSize: ctx.device.limits.maxStorageBufferBindingSize,
            maxBufferSize: ctx.device.limits.maxBufferSize,
          },
        },
      };
    } catch (e) {
      reason = message(e);
    }
  }
  const backend = createCpuBackend();
  return {
    backend,
    ctx: null,
    info: { backend: 'cpu', adapter: backend.adapterName, fallbackReason: reason, limits: null },
  };
}

function getEngine(forceCpu = false): Promise<Engine> {
  engine ??= createEngine(forceCpu);
  return engine;
}

function currentSession(): TrainingSession {
  if (!session) throw new Error('no model yet: train one, or select a saved run with a checkpoint');
  return session;
}

/** Copies the Float32Arrays of a checkpoint into fresh buffers and transfers them (no second copy by comlink). */
function send(listener: WorkerEventListener, event: WorkerEvent): void {
  if (event.type === 'checkpoint') {
    const { params, m, v, step } = event.state;
    const state: TrainerState = { params: params.slice(), m: m?.slice() ?? null, v: v?.slice() ?? null, step };
    const buffers = [state.params.buffer, state.m?.buffer, state.v?.buffer].filter((b) => b !== undefined);
    void listener(Comlink.transfer({ ...event, state }, buffers as ArrayBuffer[]));
    return;
  }
  void listener(event);
}

/** Destroys the current session and installs `next()`; with `forTraining` false, refused while a run trains. */
function replaceSession<S extends TrainingSession>(next: () => S, forTraining: boolean): Promise<S> {
  const swap = replacing.then(async () => {
    if (!forTraining && training) throw new Error('a run is training: stop it first');
    const old = session;
    session = null;
    await old?.destroy();
    const created = next();
    session = created;
    return created;
  });
  replacing = swap.catch(() => {});
  return swap;
}

/** Installs the session `create` makes (as the current model) and runs it; one training call at a time. */
async function runTraining(create: (backend: Backend) => TrainingSession): Promise<TrainSummary> {
  // Claimed before the first await: a second train or a loadModel arriving meanwhile is refused.
  if (training) throw new Error('a run is training: stop it first');
  training = true;
  stopBeforeRun = false;
  try {
    const { backend } = await getEngine();
    const s = await replaceSession(() => create(backend), true);
    const run = s.run();
    if (stopBeforeRun) s.stop();
    return await run;
  } finally {
    training = false;
    stopBeforeRun = false;
  }
}

const api = {
  async init(options?: { forceCpu?: boolean }) {
    return (await getEngine(options?.forceCpu ?? false)).info;
  },

  async timeSteps(config: RunConfig, steps: number) {
    if (training) throw new Error('a run is training: stop it first');
    const { backend } = await getEngine();
    return timeSteps(backend, config, steps);
  },

  async selfTest(steps: number, seed: number) {
    const { ctx } = await getEngine();
    if (!ctx) throw new Error('the engine self-test needs WebGPU; this browser runs the CPU backend');
    return runSelfTest(ctx, steps, seed);
  },

  async train(config: RunConfig, onEvent: WorkerEventListener, resumeFrom?: TrainerState): Promise<TrainSummary> {
    return runTraining((backend) => new SftSession(backend, config, (e) => send(onEvent, e), resumeFrom));
  },

  async trainRl(
    config: RunConfig,
    onEvent: WorkerEventListener,
    from: TrainerState,
    resume?: GrpoResume,
  ): Promise<TrainSummary> {
    return runTraining(
      (backend) => new GrpoSession(backend, config, (e) => send(onEvent, e), from, resume ? { resume } : {}),
    );
  },

  async pause() {
    session?.pause();
  },

  async resume() {
    session?.resume();
  },

  async stop() {
    if (training) stopBeforeRun = true;
    session?.stop();
  },

  async loadModel(config: RunConfig, state: TrainerState) {
    if (training) throw new Error('a run is training: stop it first');
    const { backend } = await getEngine();
    await replaceSession(() => SftSession.load(backend, config, state), false);
  },

  async evaluate(decode: DecodeConfig, evalConfig: EvalConfig) {
    return currentSession().evaluate(decode, evalConfig);
  },

  async evaluateSuites(opts: SuiteEvalOptions) {
    return currentSession().evaluateSuites(opts);
  },

  async computeOracle(request: OracleRequest, onProgress: OracleProgressListener) {
    if (training) throw new Error('a run is training: stop it first');
    if (oracleAbort) throw new Error('an oracle frontier is being computed already');
    const abort = new AbortController();
    oracleAbort = abort;
    try {
      return await currentSession().computeOracle(request.evalConfig, {
        answerTokens: request.answerTokens,
        trace: request.trace,
        maxNewTokens: request.maxNewTokens,
        seed: request.evalConfig.seed,
        signal: abort.signal,
        onProgress: (done, total) => void onProgress(done, total),
      });
    } finally {
      oracleAbort = null;
    }
  },

  async cancelOracle() {
    oracleAbort?.abort(new Error(ORACLE_CANCELLED));
  },

  async readModel() {
    return currentSession().readState();
  },
} satisfies StoptimeWorkerApi;

Comlink.expose(api);
