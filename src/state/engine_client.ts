/**
 * The playground's side of the engine worker (src/worker/api.ts): starting the engine, training sessions (SFT, the RL
 * stage, resuming either), the step offsets that put an RL stage's steps on its run's timeline, which run's weights
 * the worker holds, and the evaluations and suite evaluations of those weights. It takes the worker's API (a comlink
 * remote in the browser, a fake in tests), the state handle and the persistence as constructor arguments.
 */
import * as Comlink from 'comlink';
import { hasRlSteps, type ResumePlan, type RunRecord, resumePlanFor } from '../runs/run_record';
import { getTask } from '../tasks/index';
import type { TrainerState } from '../train/backend';
import type { EvalPoint } from '../train/results';
import {
  type DecodeConfig,
  type EvalConfig,
  type RlConfig,
  type RunConfig,
  rlConfigFor,
  rlStageConfig,
} from '../train/run_config';
import type {
  EngineInfo,
  GrpoResume,
  OracleProgressListener,
  OracleRequest,
  OracleResult,
  StepTiming,
  StoptimeWorkerApi,
  TrainingState,
  TrainSummary,
  WorkerEvent,
} from '../worker/api';
import { labBusy } from './lab_queue';
import type { Persistence } from './persistence';
import { isActive, message, type StateHandle, transferred, updateRun } from './playground_state';
import { FLUSH_INTERVAL_MS, SessionEvents } from './session_events';
import { NO_LOCKS, type TabLocks } from './tab_locks';

/** An RL stage for runSession: where its steps start on the run's timeline, and what resuming it needs. */
export interface RlStage {
  /** Timeline step at which the stage began (the run's rlStartStep): added to the session's RL steps. */
  offset: number;
  /** Set to resume an interrupted stage: runSession's `from` is then its checkpoint with the stage's optimiser step. */
  resume?: GrpoResume;
}

/** How a session of runSession ended. */
export interface SessionOutcome {
  state: TrainingState;
  /** Why it failed ('error'); null otherwise. */
  message: string | null;
  /** The run's timeline step it ended at. */
  step: number;
}

/** An RL stage ready to begin: the run as the stage begins it, and the SFT weights it starts from. */
export interface PreparedRlStage {
  run: RunRecord;
  from: TrainerState;
}

/** An interrupted run ready to continue: the run as it resumes, its checkpoint, the plan and the RL reference. */
export interface PreparedResume {
  run: RunRecord;
  state: TrainerState;
  plan: ResumePlan;
  reference: TrainerState | null;
}

export class EngineClient {
  /** The engine's description once started (null: not started, or it failed; see `start`). */
  ready: Promise<EngineInfo | null> = Promise.resolve(null);
  readonly events: SessionEvents;
  /**
   * Added to the step of an evaluation point: the offset of the RL session whose weights the worker holds, or for
   * weights loaded from a checkpoint the difference between its timeline step and its state's step; else 0.
   */
  private modelStepOffset = 0;
  /** Stage of the weights the worker holds when they were loaded from a checkpoint (live sessions mark their own). */
  private modelStage: 'sft' | 'rl' = 'sft';
  /** The run whose Stop was pressed while it was 'starting', before its train call reached the worker. */
  private stopWhileStarting: string | null = null;

  constructor(
    private readonly state: StateHandle,
    private readonly api: StoptimeWorkerApi,
    private readonly persistence: Persistence,
    /** Called as a session begins, before the worker is asked to train: the evaluation queue drains. */
    private readonly beforeSession: () => Promise<void>,
    flushIntervalMs = FLUSH_INTERVAL_MS,
    /** One tab trains at a time (tab_locks.ts); none in Node tests. */
    private readonly locks: TabLocks = NO_LOCKS,
  ) {
    this.events = new SessionEvents(state, persistence, flushIntervalMs);
  }

  /** Times `steps` training steps of `config` on the engine after a warm-up step (sizing the default run). */
  timeSteps(config: RunConfig, steps: number): Promise<StepTiming> {
    return this.api.timeSteps(config, steps);
  }

  /** Starts the engine (WebGPU or the CPU backend); its info, or its error, goes into the state. */
  start(): Promise<EngineInfo | null> {
    this.ready = this.api.init().then(
      (info) => {
        this.state.setState({ engine: info, engineError: null });
        return info;
      },
      (e: unknown) => {
        this.state.setState({ engine: null, engineError: message(e) });
        return null;
      },
    );
    return this.ready;
  }

  /**
   * Runs a training session for `run`: SFT (a new run, or an interrupted one from its checkpoint `from`), or with
   * `rl` the RL stage from `from` (required): the SFT weights, or with `rl.resume` the stage's own checkpoint; its steps
   * continue after `rl.offset`. Settles when the session has ended and its final weights are queued for saving.
   */
  async runSession(run: RunRecord, from?: TrainerState, rl?: RlStage): Promise<SessionOutcome> {
    this.stopWhileStarting = null;
    const { runs, runOrder, activeRunId, modelRunId, selectedPoint, live, rollouts } = this.state.getState();
    const before = { runs, runOrder, activeRunId, modelRunId, selectedPoint, live, rollouts };
    const kind = rl ? 'rl' : 'sft';
    const offset = rl?.offset ?? 0;
    this.events.begin(offset);
    // The session exists from here on (synchronously), so a second Start cannot begin another one.
    this.state.setState((s) => ({
      runs: { ...s.runs, [run.id]: run },
      runOrder: s.runOrder.includes(run.id) ? s.runOrder : [run.id, ...s.runOrder],
      activeRunId: run.id,
      modelRunId: run.id,
      selectedPoint: null,
      session: {
        runId: run.id,
        kind,
        state: 'starting',
        step: run.stepsDone,
        totalSteps: kind === 'rl' ? offset + rlConfigFor(run.config).steps : run.config.sft.steps,
        message: null,
      },
      live: {},
      rollouts: null,
    }));
    // One tab trains at a time (tab_locks.ts): the lock is held until the session has ended. Refused, the session and
    // the run's place in the state are taken back.
    const release = await this.locks.holdTraining(run.id);
    if (release === null) {
      const why = 'Another tab is training a run: stop it there (or wait) before starting one here.';
      this.state.setState({ ...before, session: null, error: why });
      return { state: 'error', message: why, step: run.stepsDone };
    }
    try {
      return await this.trainSession(run, from, rl, kind, offset);
    } finally {
      release();
    }
  }

  /** The session `runSession` began, once this tab holds the training lock. */
  private async trainSession(
    run: RunRecord,
    from: TrainerState | undefined,
    rl: RlStage | undefined,
    kind: 'sft' | 'rl',
    offset: number,
  ): Promise<SessionOutcome> {
    this.persistence.saveRunNow(run.id);
    await this.beforeSession();
    // A weights load that was in flight during the drain may have claimed the model: this session's run holds it now.
    this.state.setState({ modelRunId: run.id });
    this.modelStepOffset = offset;
    this.modelStage = 'sft';
    this.events.startClock(run.timeline.at(-1)?.elapsedMs ?? 0);
    const listener = Comlink.proxy((event: WorkerEvent) => this.events.onEvent(run.id, event));
    let summary: TrainSummary | null = null;
    let failure: string | null = null;
    try {
      await this.ready;
      const reference = rl?.resume?.reference;
      const training =
        rl && from
          ? this.api.trainRl(
              run.config,
              listener,
              transferred(from),
              rl.resume && { reference: reference ? transferred(reference) : null },
            )
          : this.api.train(run.config, listener, from && transferred(from));
      // A Stop pressed before the train call was sent: the worker takes a stop that follows it (it sets up first).
      if (this.stopWhileStarting === run.id) void this.api.stop();
      summary = await training;
    } catch (e) {
      failure = message(e);
    }
    this.events.flush();
    const finalState: TrainingState = summary ? summary.state : 'error';
    const steps = summary ? offset + summary.steps : (this.state.getState().session?.step ?? run.stepsDone);
    const done = updateRun(this.state, run.id, (r) => ({
      ...r,
      status: finalState,
      stepsDone: Math.max(r.stepsDone, steps),
      updatedAt: Date.now(),
    }));
    this.state.setState((s) => ({
      session: s.session ? { ...s.session, state: finalState, step: steps, message: failure } : null,
      ...(failure !== null ? { error: `Training failed: ${failure}` } : {}),
    }));
    this.persistence.saveRunNow(run.id);
    // Keep the final weights with the run (the last periodic checkpoint may be older).
    if (summary && done && done.checkpointStep !== steps) {
      try {
        const state = await this.api.readModel();
        this.persistence.saveCheckpoint(run.id, kind === 'rl' ? steps : state.step, state);
      } catch (e) {
        this.state.setState({ error: `Could not read the final weights: ${message(e)}` });
      }
    }
    if (summary === null) this.state.setState({ modelRunId: null });
    return { state: finalState, message: failure ?? (finalState === 'error' ? 'unknown error' : null), step: steps };
  }

  /**
   * Prepares an RL stage on `run` from its stored checkpoint, with `editedRl` (the RL panel's settings; undefined: the
   * run's own, see rlStageConfig). Throws, saying why, for a run that cannot take one: no checkpoint, an RL stage
   * already, invalid settings, a checkpoint that cannot be read.
   */
  async prepareRlStage(run: RunRecord, editedRl: RlConfig | undefined): Promise<PreparedRlStage> {
    if (run.checkpointStep === null) throw new Error(`Run '${run.name}' has no checkpoint to start RL from.`);
    if (hasRlSteps(run)) {
      // Its checkpoint holds RL weights and its timeline and settings describe that stage: a second stage would
      // overwrite both. An interrupted stage continues with Resume.
      throw new Error(
        `Run '${run.name}' already has an RL stage (from step ${run.rlStartStep}): start RL from a run that has only been trained with SFT${run.status === 'interrupted' ? ', or Resume this one' : ''}.`,
      );
    }
    const stage = rlStageConfig(run.config, editedRl);
    if (!stage.ok) {
      throw new Error(`Fix the RL settings first: ${stage.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    }
    let state: TrainerState | undefined;
    try {
      await this.persistence.settled();
      state = await this.persistence.checkpoint(run.id);
      if (!state && this.state.getState().modelRunId === run.id) state = await this.api.readModel();
    } catch (e) {
      throw new Error(`Could not read the checkpoint of '${run.name}': ${message(e)}`);
    }
    if (!state) throw new Error(`Run '${run.name}' has no saved checkpoint to start RL from.`);
    // A stage stopped before its first step saved the SFT weights under the RL optimiser's count (0): they sit at
    // timeline step rlStartStep.
    const from = run.rlStartStep != null ? { ...state, step: run.rlStartStep } : state;
    return {
      from,
      run: {
        ...run,
        config: stage.config,
        status: 'running',
        stepsDone: from.step,
        checkpointStep: from.step,
        rlStartStep: from.step,
        timeline: run.timeline.filter((p) => p.step <= from.step),
        updatedAt: Date.now(),
      },
    };
  }

  /** Runs a prepared RL stage (its steps continuing the run's timeline after the checkpoint's step). */
  runRlStage({ run, from }: PreparedRlStage): Promise<SessionOutcome> {
    this.persistence.saveRlStart(run, from);
    return this.runRlSession(run, from, { offset: from.step });
  }

  /** runSession for an RL stage (new, restarted or resumed); a stage that ended drops its reference weights. */
  private async runRlSession(run: RunRecord, from: TrainerState, rl: RlStage): Promise<SessionOutcome> {
    const outcome = await this.runSession(run, from, rl);
    // Only an interrupted stage (a reload) resumes; a stage that ended no longer needs its reference weights.
    if (outcome.state === 'finished' || outcome.state === 'stopped') this.persistence.dropRlReference(run.id);
    return outcome;
  }

  /**
   * Reads what continuing the interrupted `run` needs: its stored checkpoint, what it resumes (resumePlanFor) and, for
   * an RL stage with a KL term, the weights the stage began from. Throws, saying why, when one is missing.
   */
  async prepareResume(run: RunRecord): Promise<PreparedResume> {
    const state =
      run.checkpointStep !== null ? await this.persistence.checkpoint(run.id).catch(() => undefined) : undefined;
    if (!state) throw new Error(`Run '${run.name}' has no saved checkpoint to resume from.`);
    // The stored checkpoint's step is the run's timeline step (an RL stage's checkpoints included).
    const checkpointStep = state.step;
    const plan = resumePlanFor(run, checkpointStep);
    const rl = rlConfigFor(run.config);
    let reference: TrainerState | null = null;
    if (plan.stage === 'rl' && rl.loss.beta > 0) {
      reference = (await this.persistence.rlReference(run.id)) ?? null;
      if (!reference) {
        throw new Error(
          `Run '${run.name}' cannot resume its RL stage: the weights it began from (the reference of its KL term, rl.loss.beta = ${rl.loss.beta}) were not saved.`,
        );
      }
    }
    const resumed: RunRecord = {
      ...run,
      status: 'running',
      stepsDone: checkpointStep,
      checkpointStep,
      timeline: run.timeline.filter((p) => p.step <= checkpointStep),
      samples: run.samples && run.samples.step <= checkpointStep ? run.samples : null,
      updatedAt: Date.now(),
    };
    return { run: resumed, state, plan, reference };
  }

  /** Continues a prepared interrupted run: SFT, its RL stage restarted from the SFT weights, or its RL stage. */
  async resume({ run, state, plan, reference }: PreparedResume): Promise<void> {
    switch (plan.stage) {
      case 'sft':
        await this.runSession(run, state);
        return;
      case 'rl-restart': {
        const restarted: RunRecord = { ...run, rlStartStep: plan.rlStartStep };
        this.persistence.saveRlStart(restarted, state);
        await this.runRlSession(restarted, state, { offset: plan.rlStartStep });
        return;
      }
      case 'rl':
        await this.runRlSession(
          run,
          { ...state, step: plan.optimiserSteps },
          { offset: plan.rlStartStep, resume: { reference } },
        );
        return;
    }
  }

  async pauseSession(): Promise<void> {
    if (this.state.getState().session?.state !== 'running') return;
    await this.api.pause();
    this.events.confirmState('running', 'paused');
  }

  async resumeSession(): Promise<void> {
    if (this.state.getState().session?.state !== 'paused') return;
    await this.api.resume();
    this.events.confirmState('paused', 'running');
  }

  async stopSession(): Promise<void> {
    const session = this.state.getState().session;
    if (!isActive(session)) return;
    if (session.state === 'starting') this.stopWhileStarting = session.runId;
    await this.api.stop();
  }

  /**
   * Makes `runId`'s weights the worker's current model (no-op when they already are), calling `onLoading` before the
   * load. Throws, saying why, when another run owns the worker or the run has no saved weights.
   */
  async ensureModel(runId: string, onLoading: (label: string) => void): Promise<void> {
    const s = this.state.getState();
    if (s.modelRunId === runId) return;
    if (isActive(s.session)) throw new Error('a training run is in progress: evaluations apply to it');
    // A suite evaluation loads the weights of its own run; the lab queue's model and another evaluation's stay.
    if (labBusy(s.lab)) throw new Error('the lab queue is running: evaluations apply to its current run');
    if (s.suitesEval !== null && s.suitesEval.runId !== runId) {
      throw new Error('a suite evaluation is running: evaluations apply to its run');
    }
    const run = s.runs[runId];
    if (!run) throw new Error('the run no longer exists');
    const state = run.checkpointStep !== null ? await this.persistence.checkpoint(runId) : null;
    if (!state) throw new Error(`run '${run.name}' has no saved weights to evaluate`);
    onLoading(`loading the weights of '${run.name}'`);
    await this.api.loadModel(run.config, transferred(state));
    // A checkpoint is saved under its timeline step; an RL stage's state counts the RL optimiser's own steps.
    this.modelStepOffset = run.checkpointStep !== null ? run.checkpointStep - state.step : 0;
    this.modelStage = run.rlStartStep != null && (run.checkpointStep ?? 0) > run.rlStartStep ? 'rl' : 'sft';
    this.state.setState({ modelRunId: runId });
  }

  /** Evaluates the worker's model: one chart point, its step on the run's timeline and its stage marked. */
  async evaluate(decode: DecodeConfig, evalConfig: EvalConfig): Promise<EvalPoint> {
    const point = await this.api.evaluate(decode, evalConfig);
    // Weights of an RL stage loaded from a checkpoint (an SftSession in the worker) are still RL weights.
    const stage = point.stage ?? (this.modelStage === 'rl' ? 'rl' : undefined);
    return { ...point, step: point.step + this.modelStepOffset, ...(stage ? { stage } : {}) };
  }

  /** The oracle frontier of the worker's model (StoptimeWorkerApi.computeOracle), its step on the run's timeline. */
  async computeOracle(request: OracleRequest, onProgress: OracleProgressListener): Promise<OracleResult> {
    const result = await this.api.computeOracle(request, Comlink.proxy(onProgress));
    return { ...result, step: result.step + this.modelStepOffset };
  }

  /** Ends the worker's oracle computation after its batch in progress. */
  cancelOracle(): Promise<void> {
    return this.api.cancelOracle();
  }

  /**
   * Evaluates the worker's current model (run `runId`'s) on every suite of its task, one suite per worker call so that
   * `shouldStop` is honoured between suites; each result is saved with the run as it arrives (a suite's problems and
   * seeds do not depend on which other suites are evaluated). Returns how many of the task's suites were evaluated.
   */
  async evaluateSuitesInTurn(
    runId: string,
    config: RunConfig,
    onProgress: (message: string) => void,
    shouldStop: () => boolean,
  ): Promise<{ done: number; total: number }> {
    const variants = getTask(config.task.id).variants as readonly string[];
    const { eval: evalCfg, decode } = config;
    let done = 0;
    for (const variant of variants) {
      if (shouldStop()) break;
      onProgress(`suite ${done + 1} of ${variants.length}: ${variant}`);
      const [result] = await this.api.evaluateSuites({
        size: evalCfg.size,
        seed: evalCfg.seed,
        decode,
        variants: [variant],
      });
      if (!result) throw new Error(`no result for suite '${variant}'`);
      const saved = updateRun(this.state, runId, (r) => {
        const kept = (r.suiteResults ?? []).filter((x) => x.suite !== variant);
        return { ...r, suiteResults: [...kept, result], updatedAt: Date.now() };
      });
      if (saved) this.persistence.saveRunNow(runId);
      done += 1;
    }
    return { done, total: variants.length };
  }

  /** Weights, moments and step of the worker's current model. */
  readModel(): Promise<TrainerState> {
    return this.api.readModel();
  }

  /** The engine's self-test (after the engine has started), into the state. */
  async selfTest(steps: number): Promise<void> {
    this.state.setState({ selfTest: { kind: 'running' } });
    try {
      await this.ready;
      const result = await this.api.selfTest(steps, 1);
      this.state.setState({ selfTest: { kind: 'done', result } });
    } catch (e) {
      this.state.setState({ selfTest: { kind: 'error', message: message(e) } });
    }
  }
}
