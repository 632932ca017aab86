/**
 * The playground's one store (zustand): the run config being edited, the engine worker's state, the saved runs and
 * the evaluation queue. Components read it with selectors; only its actions talk to the engine worker (comlink) and to
 * the runs database (IndexedDB), so the UI thread never touches the GPU.
 *
 * Worker events are buffered and applied at most every FLUSH_INTERVAL_MS in one store update, and a run is written to
 * IndexedDB at most once per SAVE_INTERVAL_MS while it trains, so a fast training loop cannot flood the main thread.
 * Evaluations run one at a time: a settled decode-setting change replaces any earlier one still waiting, and sweeps
 * queue their points behind it. The lab queue trains and evaluates queued lab methods one run at a time, through the
 * same session path as Start (see `queueLab`).
 */
import * as Comlink from 'comlink';
import { create } from 'zustand';
import { getTask } from '../tasks/index';
import type { TrainerState } from '../train/backend';
import { type LabMethodId, type LabScale, type LabTask, labConfig } from '../train/lab_presets';
import type { MetricKey } from '../train/metrics';
import { applySweepValue, type EvalPoint, type SeriesId } from '../train/results';
import {
  DEFAULT_RUN_CONFIG,
  type DecodeConfig,
  decodeConfigSchema,
  type EvalConfig,
  evalConfigSchema,
  type RlConfig,
  type RunConfig,
  rlConfigFor,
  rlStageConfig,
  runConfigIssues,
  sftConfigIssues,
  sftRunConfig,
} from '../train/run_config';
import type {
  EngineInfo,
  GrpoResume,
  RolloutsEvent,
  SelfTestResult,
  StoptimeWorkerApi,
  TrainingState,
  TrainSummary,
  WorkerEvent,
} from '../worker/api';
import {
  currentLabItem,
  EMPTY_LAB_QUEUE,
  type LabAction,
  type LabEndStatus,
  type LabItem,
  type LabQueueState,
  labBusy,
  labItemSpecs,
  labQueueIssues,
  labQueueReducer,
  suiteSizeIssue,
} from './lab_queue';
import { exportRunFile, parseRunFile, RUN_FILE_LIMITS } from './run_file';
import { hasRlSteps, type ResumePlan, type RunRecord, type RunStatus, resumePlanFor } from './run_record';
import { type DeletedRun, describeStorageError, newRunId } from './runs_db';
import type { RunsDbWorkerApi } from './runs_db.worker';
import { configFromHash, configToHash } from './url';

/** Worker events are applied to the store at most this often. */
export const FLUSH_INTERVAL_MS = 200;
/** A training run is written to IndexedDB at most this often (status changes and eval points are written at once). */
export const SAVE_INTERVAL_MS = 1000;
/** A decode setting counts as settled after this long without a change. */
export const SETTLE_MS = 250;
/** Undo toasts disappear after this long. */
export const TOAST_MS = 8000;

/** The values each method's "Sweep" button evaluates (a value enters the decode settings by applySweepValue). */
export interface Sweep {
  /** The knob's name in labels. */
  knob: string;
  values: readonly number[];
}

export const SWEEPS: Record<SeriesId, Sweep> = {
  temperature: { knob: 'temperature', values: [0, 0.3, 0.6, 1.0] },
  ts: { knob: 'τ', values: [0.25, 0.5, 1, 2, 4] },
  bias: { knob: 'bias', values: [-4, -2, 0, 2, 4] },
  cap: { knob: 'B', values: [8, 16, 32, 64, 128] },
  extend: { knob: 'min tokens', values: [16, 32, 64] },
};

export type SessionState = TrainingState | 'starting';

/** The training session of this page (at most one). */
export interface Session {
  runId: string;
  /** 'sft': supervised training; 'rl': the RL stage (GRPO / TLDR) continuing the run from its checkpoint. */
  kind: 'sft' | 'rl';
  state: SessionState;
  /** Steps done on the run's timeline (an RL stage's steps continue after the SFT steps). */
  step: number;
  totalSteps: number;
  message: string | null;
}

export type SelfTestStatus =
  | { kind: 'idle' }
  | { kind: 'running' }
  | { kind: 'done'; result: SelfTestResult }
  | { kind: 'error'; message: string };

export interface EvaluationStatus {
  busy: boolean;
  /** What is being evaluated now ("τ = 0.5 (sweep 2/5)"). */
  label: string | null;
  /** Evaluations waiting behind it. */
  queued: number;
  /** A model being loaded from its checkpoint. */
  loading: boolean;
}

export interface InterruptedNotice {
  runId: string;
  name: string;
  step: number;
  checkpointStep: number | null;
  /** Timeline step at which the run's RL stage began (null: no RL stage, the run was interrupted in SFT). */
  rlStartStep: number | null;
  /** What Resume continues (resumePlanFor); null without a checkpoint. */
  resumes: ResumePlan['stage'] | null;
}

export interface Toast {
  id: number;
  message: string;
  /** Set for deletions: what Undo restores. */
  undo: DeletedRun | null;
}

export interface PlaygroundState {
  engine: EngineInfo | null;
  engineError: string | null;
  selfTest: SelfTestStatus;
  /** The config being edited: what Start trains and what decode settings evaluate with. */
  config: RunConfig;
  /** Notices about ignored parts of the URL hash. */
  notices: string[];
  runs: Readonly<Record<string, RunRecord>>;
  /** Run ids, newest first. */
  runOrder: readonly string[];
  /** The run the charts show. */
  activeRunId: string | null;
  /** Runs overlaid on the charts (besides the active one). */
  compareRunIds: readonly string[];
  /** The run whose weights the worker holds (evaluations apply to it). */
  modelRunId: string | null;
  session: Session | null;
  /** Latest value of each training metric of the session. */
  live: Partial<Record<MetricKey, number>>;
  /** The latest rollouts of the RL session (its step on the run's timeline); in memory only, for the rollout viewer. */
  rollouts: RolloutsEvent | null;
  evaluation: EvaluationStatus;
  /** The eval point whose traces and histogram are shown (null: the active run's latest). */
  selectedPoint: { runId: string; pointId: string } | null;
  interrupted: InterruptedNotice | null;
  toast: Toast | null;
  /** Shown in the error box until dismissed. */
  error: string | null;
  /** False when IndexedDB could not be opened: runs live in memory only. */
  storageAvailable: boolean;
  /**
   * The lab queue (src/state/lab_queue.ts): its items and the one being worked on. While it is busy (labBusy) the worker's
   * model and session belong to it: Start, Start RL and Resume are refused, and selecting a run loads no weights.
   */
  lab: LabQueueState;
  /**
   * A suite evaluation of a saved run outside the queue (evaluateRunSuites), with its progress; null when none runs.
   * While it runs the worker's model belongs to it, as while the lab queue is busy (engineBusy).
   */
  suitesEval: { runId: string; message: string; cancelRequested: boolean } | null;

  init(): Promise<void>;
  setConfig(update: (c: RunConfig) => RunConfig): void;
  setDecode(patch: Partial<DecodeConfig>): void;
  setEvalSettings(patch: Partial<EvalConfig>): void;
  copyLink(): Promise<void>;
  start(): Promise<void>;
  /**
   * Runs the RL stage on the active run from its stored checkpoint, with the edited RL settings (`config.rl`, the
   * defaults when absent); its metrics continue the run's timeline after the checkpoint's step, which becomes the
   * run's `rlStartStep`. Refused for a run that already has an RL stage (an interrupted one resumes with resumeRun).
   */
  startRl(): Promise<void>;
  /**
   * Queues `methods` of the lab's `task` at `scale` (src/train/lab_presets.ts), each evaluated on `suiteSize` problems
   * per suite (default: the preset's evaluation size), and works through the queue one item at a time: a run named
   * after the method, SFT as Start runs it, the RL stage from the SFT checkpoint as startRl runs it (when the method's
   * config has `rl`), then every evaluation suite of the task, saved as the run's `suiteResults`. A failed item is
   * marked with its reason and the queue goes on. Refused (with an error) while a run outside the queue is training.
   */
  queueLab(task: LabTask, methods: readonly LabMethodId[], scale: LabScale, options?: { suiteSize?: number }): void;
  /** Stops the current lab item's run (as Stop does) and cancels the queued ones. */
  cancelLab(): Promise<void>;
  /**
   * Evaluates a saved run's weights on every suite of its task (`suiteSize` problems each), saving each suite's result
   * with the run as it arrives: for a run trained outside the queue, imported, or whose queue item was interrupted.
   */
  evaluateRunSuites(runId: string, suiteSize: number): Promise<void>;
  /** Ends evaluateRunSuites after the suite in progress (the suites done are kept). */
  cancelRunSuites(): void;
  pause(): Promise<void>;
  resume(): Promise<void>;
  stop(): Promise<void>;
  /**
   * Continues an interrupted run from its stored checkpoint with its own settings (shown in the form): SFT, or its RL
   * stage (restarted from the stored SFT weights when the stage had saved no checkpoint yet); see resumePlanFor.
   */
  resumeRun(runId: string): Promise<void>;
  dismissInterrupted(): void;
  evaluateNow(): void;
  sweep(series: SeriesId): void;
  /** Evaluates the current decode settings once per TLDR level (prompts tagged short, medium, long). */
  sweepLevels(): void;
  selectRun(runId: string): void;
  applyRunSettings(runId: string): void;
  toggleCompare(runId: string): void;
  renameRun(runId: string, name: string): void;
  deleteRun(runId: string): Promise<void>;
  undoDelete(): Promise<void>;
  exportRun(runId: string, separateWeights: boolean): Promise<void>;
  importFiles(files: readonly File[]): Promise<void>;
  selectPoint(runId: string, pointId: string | null): void;
  dismissError(): void;
  dismissToast(): void;
  dismissNotices(): void;
  runSelfTest(steps: number): Promise<void>;
}

// ---- connections (module state: one worker and one database per page) ----

let remote: Comlink.Remote<StoptimeWorkerApi> | null = null;

function worker(): Comlink.Remote<StoptimeWorkerApi> {
  if (!remote) {
    const w = new Worker(new URL('../worker/engine.worker.ts', import.meta.url), {
      type: 'module',
      name: 'stoptime-engine',
    });
    remote = Comlink.wrap<StoptimeWorkerApi>(w);
  }
  return remote;
}

/** The runs database, in its own worker (see runs_db.worker.ts); null when it could not be opened. */
type Db = Comlink.Remote<RunsDbWorkerApi>;
let db: Db | null = null;

async function openDb(): Promise<Db> {
  const remoteDb = Comlink.wrap<RunsDbWorkerApi>(
    new Worker(new URL('./runs_db.worker.ts', import.meta.url), { type: 'module', name: 'stoptime-runs-db' }),
  );
  await remoteDb.open();
  return remoteDb;
}

/** A checkpoint marked for transfer (not copy) to a worker; the caller must not use it afterwards. */
function transferred(state: TrainerState): TrainerState {
  const buffers: ArrayBuffer[] = [];
  for (const a of [state.params, state.m, state.v]) {
    if (a && a.buffer instanceof ArrayBuffer && !buffers.includes(a.buffer)) buffers.push(a.buffer);
  }
  return Comlink.transfer(state, buffers);
}

let engineReady: Promise<EngineInfo | null> = Promise.resolve(null);
/**
 * Added to the steps of the session's events: 0 for SFT; for an RL stage the step of the checkpoint it started from,
 * so its steps continue the run's timeline.
 */
let sessionStepOffset = 0;
/**
 * Added to the step of an evaluation point: the offset of the RL session whose weights the worker holds, or for weights
 * loaded from a checkpoint the difference between its timeline step and its state's step; else 0.
 */
let modelStepOffset = 0;
/** Stage of the weights the worker holds when they were loaded from a checkpoint (live sessions mark their own). */
let modelStage: 'sft' | 'rl' = 'sft';
/** The run whose Stop was pressed while it was 'starting', before its train call reached the worker. */
let stopWhileStarting: string | null = null;
let initStarted = false;

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Whether the worker's model belongs to the lab queue or to a suite evaluation (no other run may load or start). */
export function engineBusy(s: Pick<PlaygroundState, 'lab' | 'suitesEval'>): boolean {
  return labBusy(s.lab) || s.suitesEval !== null;
}

const engineBusyMessage = (action: string) =>
  `The lab queue or a suite evaluation is running: wait for it to finish, or cancel it, before ${action}.`;

export const isActive = (s: Session | null): s is Session =>
  s !== null && (s.state === 'running' || s.state === 'paused' || s.state === 'starting');

function runStatusFor(state: SessionState): RunStatus {
  return state === 'starting' ? 'running' : state;
}

// ---- persistence: one ordered chain of writes, training runs throttled ----

let dbChain: Promise<void> = Promise.resolve();
const saveTimers = new Map<string, ReturnType<typeof setTimeout>>();
const lastSavedAt = new Map<string, number>();
/**
 * Runs being deleted or deleted: a save that runs after the delete (an evaluation point or final checkpoint arriving
 * meanwhile) would put the run back into the database, so saves skip them. Undo takes a run out again.
 */
const deletedRunIds = new Set<string>();

function dbWrite(op: (d: Db) => Promise<unknown>): Promise<void> {
  const d = db;
  if (d === null) return Promise.resolve();
  // Every link handles its own failure, so the chain itself never rejects and later writes still run.
  dbChain = dbChain
    .then(() => op(d))
    .then(
      () => undefined,
      (e: unknown) => {
        useStore.setState({ error: `Could not save to the browser's storage: ${describeStorageError(e)}` });
      },
    );
  return dbChain;
}

function saveRunNow(runId: string): void {
  const timer = saveTimers.get(runId);
  if (timer !== undefined) clearTimeout(timer);
  saveTimers.delete(runId);
  lastSavedAt.set(runId, performance.now());
  void dbWrite(async (d) => {
    const run = useStore.getState().runs[runId];
    if (run && !deletedRunIds.has(runId)) await d.putRun(run);
  });
}

function saveRunSoon(runId: string): void {
  if (saveTimers.has(runId)) return;
  const since = performance.now() - (lastSavedAt.get(runId) ?? Number.NEGATIVE_INFINITY);
  saveTimers.set(
    runId,
    setTimeout(() => saveRunNow(runId), Math.max(0, SAVE_INTERVAL_MS - since)),
  );
}

// ---- training events: buffered, applied in one update per flush ----

interface Buffered {
  event: Exclude<WorkerEvent, { type: 'checkpoint' }>;
  elapsedMs: number;
}

let buffer: Buffered[] = [];
let flushTimer: ReturnType<typeof setTimeout> | null = null;

/** Training time of the session (paused time excluded), continuing from the run's earlier time when resumed. */
const clock = { baseMs: 0, startedAt: 0, pausedAt: null as number | null, pausedMs: 0 };

function elapsedMs(now = performance.now()): number {
  const paused = clock.pausedMs + (clock.pausedAt !== null ? now - clock.pausedAt : 0);
  return clock.baseMs + now - clock.startedAt - paused;
}

function onWorkerEvent(runId: string, raw: WorkerEvent): void {
  if (useStore.getState().session?.runId !== runId) return;
  const event = { ...raw, step: raw.step + sessionStepOffset };
  if (event.type === 'checkpoint') {
    flush();
    saveCheckpoint(runId, event.step, event.state);
    return;
  }
  const now = performance.now();
  if (event.type === 'status') {
    if (event.state === 'paused' && clock.pausedAt === null) clock.pausedAt = now;
    if (event.state !== 'paused' && clock.pausedAt !== null) {
      clock.pausedMs += now - clock.pausedAt;
      clock.pausedAt = null;
    }
  }
  buffer.push({ event, elapsedMs: elapsedMs(now) });
  if (flushTimer === null) flushTimer = setTimeout(flush, FLUSH_INTERVAL_MS);
}

function flush(): void {
  if (flushTimer !== null) clearTimeout(flushTimer);
  flushTimer = null;
  if (buffer.length === 0) return;
  const events = buffer;
  buffer = [];
  const s = useStore.getState();
  const session = s.session;
  const run = session ? s.runs[session.runId] : undefined;
  if (!session || !run) return;
  // A new timeline array only when metrics arrived (charts redraw when its reference changes).
  const timeline = events.some((e) => e.event.type === 'metrics') ? run.timeline.slice() : run.timeline;
  let { samples, status, stepsDone } = run;
  let { state, step, message: note } = session;
  let live = s.live;
  let rollouts = s.rollouts;
  let statusChanged = false;
  let error: string | null = null;
  for (const { event, elapsedMs: atMs } of events) {
    if (event.type === 'metrics') {
      const last = timeline.at(-1);
      if (last !== undefined && last.step === event.step) {
        timeline[timeline.length - 1] = { ...last, values: { ...last.values, ...event.values } };
      } else {
        timeline.push({ step: event.step, elapsedMs: Math.round(atMs), values: { ...event.values } });
      }
      live = { ...live, ...event.values };
      if (state === 'starting') state = 'running';
      step = Math.max(step, event.step);
      stepsDone = Math.max(stepsDone, event.step);
    } else if (event.type === 'samples') {
      samples = { step: event.step, samples: event.samples };
    } else if (event.type === 'rollouts') {
      rollouts = event;
    } else if (event.type === 'status') {
      state = event.state;
      step = event.step;
      stepsDone = event.step;
      note = event.message;
      if (runStatusFor(event.state) !== status) statusChanged = true;
      status = runStatusFor(event.state);
      if (event.state === 'error') error = `Training failed: ${event.message ?? 'unknown error'}`;
    }
  }
  useStore.setState({
    runs: { ...s.runs, [run.id]: { ...run, timeline, samples, status, stepsDone, updatedAt: Date.now() } },
    session: { ...session, state, step, message: note },
    live,
    rollouts,
    ...(error !== null ? { error } : {}),
  });
  if (statusChanged) saveRunNow(run.id);
  else saveRunSoon(run.id);
}

/**
 * After pause()/resume() settle, the session is in the new state even if its status event is still in flight: apply
 * it now (through the same path as the worker's events) unless an event already moved the session elsewhere.
 */
function confirmState(from: TrainingState, to: TrainingState): void {
  flush();
  const session = useStore.getState().session;
  if (session?.state !== from) return;
  // The event's step goes through the session's offset again: hand it the worker's own step.
  onWorkerEvent(session.runId, { type: 'status', state: to, step: session.step - sessionStepOffset, message: null });
  flush();
}

function updateRun(runId: string, update: (r: RunRecord) => RunRecord): RunRecord | null {
  const run = useStore.getState().runs[runId];
  if (!run) return null;
  const next = update(run);
  useStore.setState((s) => ({ runs: { ...s.runs, [runId]: next } }));
  return next;
}

/**
 * Stores `state` as the run's checkpoint at timeline step `step` (its `step` is set to it: an RL session counts its own
 * optimiser steps from 0, the run's checkpoint counts the run's).
 */
function saveCheckpoint(runId: string, step: number, raw: TrainerState): void {
  const state = raw.step === step ? raw : { ...raw, step };
  const run = updateRun(runId, (r) => ({ ...r, checkpointStep: step, updatedAt: Date.now() }));
  if (!run) return;
  const timer = saveTimers.get(runId);
  if (timer !== undefined) clearTimeout(timer);
  saveTimers.delete(runId);
  lastSavedAt.set(runId, performance.now());
  void dbWrite(async (d) => {
    if (deletedRunIds.has(runId)) return;
    const latest = useStore.getState().runs[runId] ?? run;
    await d.saveCheckpoint({ ...latest, checkpointStep: step }, transferred(state));
  });
}

// ---- evaluation queue: one at a time; latest settled settings win; sweeps queue ----

interface EvalJob {
  runId: string;
  decode: DecodeConfig;
  label: string;
  /** Overrides the edited evaluation settings' TLDR length tag (the levels sweep). */
  lengthTag?: EvalConfig['lengthTag'];
}

let settleTimer: ReturnType<typeof setTimeout> | null = null;
let settlePending = false;
let sweepJobs: EvalJob[] = [];
let pumping: Promise<void> | null = null;
let loadRequest: string | null = null;

/** The run evaluations apply to: the one training, else the one shown. */
function evalTarget(s: PlaygroundState): RunRecord | null {
  const id = isActive(s.session) ? s.session.runId : s.activeRunId;
  return id === null ? null : (s.runs[id] ?? null);
}

/** The evaluation set for a run: the edited settings, with a variant its task has. */
function evalConfigFor(run: RunRecord, edited: EvalConfig): EvalConfig {
  const variants: readonly string[] = getTask(run.config.task.id).variants;
  return { ...edited, variant: variants.includes(edited.variant) ? edited.variant : 'id' };
}

function canEvaluate(s: PlaygroundState, run: RunRecord): boolean {
  if (s.engine === null) return false;
  // While a session starts the worker still holds the previous model: wait for the first step.
  if (s.session?.state === 'starting') return false;
  if (isActive(s.session)) return s.session.runId === run.id;
  // Between the lab queue's stages the worker holds the model of its run, which must stay loaded.
  if (engineBusy(s)) return s.modelRunId === run.id;
  return s.modelRunId === run.id || run.checkpointStep !== null;
}

function syncQueueStatus(extra: Partial<EvaluationStatus> = {}): void {
  useStore.setState((s) => ({
    evaluation: { ...s.evaluation, queued: sweepJobs.length + (settlePending ? 1 : 0), ...extra },
  }));
}

function nextJob(): EvalJob | null {
  const s = useStore.getState();
  if (settlePending) {
    settlePending = false;
    const run = evalTarget(s);
    if (run && canEvaluate(s, run)) {
      return { runId: run.id, decode: s.config.decode, label: describeDecode(s.config.decode) };
    }
  }
  return sweepJobs.shift() ?? null;
}

/** Makes `runId`'s weights the worker's current model (no-op when they already are). */
async function ensureModel(runId: string): Promise<void> {
  const s = useStore.getState();
  if (s.modelRunId === runId) return;
  if (isActive(s.session)) throw new Error('a training run is in progress: evaluations apply to it');
  // A suite evaluation loads the weights of its own run; the lab queue's model and another evaluation's stay.
  if (labBusy(s.lab)) throw new Error('the lab queue is running: evaluations apply to its current run');
  if (s.suitesEval !== null && s.suitesEval.runId !== runId) {
    throw new Error('a suite evaluation is running: evaluations apply to its run');
  }
  const run = s.runs[runId];
  if (!run) throw new Error('the run no longer exists');
  const state = run.checkpointStep !== null && db ? await db.getCheckpoint(runId) : null;
  if (!state) throw new Error(`run '${run.name}' has no saved weights to evaluate`);
  syncQueueStatus({ loading: true, label: `loading the weights of '${run.name}'` });
  await worker().loadModel(run.config, transferred(state));
  // A checkpoint is saved under its timeline step; an RL stage's state counts the RL optimiser's own steps.
  modelStepOffset = run.checkpointStep !== null ? run.checkpointStep - state.step : 0;
  modelStage = run.rlStartStep != null && (run.checkpointStep ?? 0) > run.rlStartStep ? 'rl' : 'sft';
  useStore.setState({ modelRunId: runId });
}

function pump(): Promise<void> {
  if (pumping) return pumping;
  pumping = (async () => {
    await engineReady;
    try {
      for (;;) {
        if (loadRequest !== null) {
          const id = loadRequest;
          loadRequest = null;
          const now = useStore.getState();
          if (!isActive(now.session) && !engineBusy(now)) {
            try {
              await ensureModel(id);
            } catch (e) {
              useStore.setState({ error: `Could not load the run's weights: ${message(e)}` });
            }
          }
          continue;
        }
        const job = nextJob();
        if (job === null) break;
        syncQueueStatus({ busy: true, loading: false, label: job.label });
        try {
          await ensureModel(job.runId);
          syncQueueStatus({ busy: true, loading: false, label: job.label });
          const s = useStore.getState();
          const run = s.runs[job.runId];
          if (!run) continue;
          const evalCfg = evalConfigFor(run, s.config.eval);
          const point = await worker().evaluate(
            job.decode,
            job.lengthTag === undefined ? evalCfg : { ...evalCfg, lengthTag: job.lengthTag },
          );
          // Weights of an RL stage loaded from a checkpoint (an SftSession in the worker) are still RL weights.
          const stage = point.stage ?? (modelStage === 'rl' ? 'rl' : undefined);
          addEvalPoint(job.runId, { ...point, step: point.step + modelStepOffset, ...(stage ? { stage } : {}) });
        } catch (e) {
          sweepJobs = [];
          useStore.setState({ error: `Evaluation failed: ${message(e)}` });
        }
      }
    } finally {
      pumping = null;
      syncQueueStatus({ busy: false, loading: false, label: null });
    }
  })();
  return pumping;
}

function addEvalPoint(runId: string, point: EvalPoint): void {
  if (updateRun(runId, (r) => ({ ...r, evalPoints: [...r.evalPoints, point], updatedAt: Date.now() }))) {
    saveRunNow(runId);
  }
}

function scheduleSettledEvaluation(): void {
  if (settleTimer !== null) clearTimeout(settleTimer);
  settleTimer = setTimeout(() => {
    settleTimer = null;
    const s = useStore.getState();
    const run = evalTarget(s);
    if (!run || !canEvaluate(s, run)) return;
    if (!decodeConfigSchema.safeParse(s.config.decode).success) return;
    if (!evalConfigSchema.safeParse(s.config.eval).success) return;
    settlePending = true;
    syncQueueStatus();
    void pump();
  }, SETTLE_MS);
}

/** Drops every waiting evaluation and waits for the one in flight. */
async function drainEvaluations(): Promise<void> {
  if (settleTimer !== null) clearTimeout(settleTimer);
  settleTimer = null;
  settlePending = false;
  sweepJobs = [];
  loadRequest = null;
  syncQueueStatus();
  if (pumping) await pumping;
}

export function describeDecode(d: DecodeConfig): string {
  const base = `temperature ${d.temperature}`;
  switch (d.intervention) {
    case 'none':
      return base;
    case 'ts':
      return `${base}, τ = ${d.stopTemperature}`;
    case 'bias':
      return `${base}, </think> bias ${d.stopLogitBias}`;
    case 'cap':
      return `${base}, cap B = ${d.thinkingBudgetTokens}`;
    case 'extend':
      return `${base}, extend to ${d.minThinkingTokens} tokens (≤ ${d.maxExtensions} Waits)`;
  }
}

// ---- helpers for runs ----

function uniqueName(base: string, runs: Readonly<Record<string, RunRecord>>): string {
  const names = new Set(Object.values(runs).map((r) => r.name));
  if (!names.has(base)) return base;
  for (let i = 2; ; i++) if (!names.has(`${base} (${i})`)) return `${base} (${i})`;
}

function sortedIds(runs: Readonly<Record<string, RunRecord>>): string[] {
  return Object.values(runs)
    .sort((a, b) => b.createdAt - a.createdAt)
    .map((r) => r.id);
}

/** Saves a blob as a file through a temporary object URL (exports of runs and of the results matrix). */
export function download(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.style.display = 'none';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

let toastTimer: ReturnType<typeof setTimeout> | null = null;
let toastCounter = 0;

function showToast(text: string, undo: DeletedRun | null = null): void {
  if (toastTimer !== null) clearTimeout(toastTimer);
  toastCounter += 1;
  const id = toastCounter;
  useStore.setState({ toast: { id, message: text, undo } });
  toastTimer = setTimeout(() => {
    if (useStore.getState().toast?.id === id) useStore.setState({ toast: null });
  }, TOAST_MS);
}

/**
 * Saves `run` (which names its RL stage in `rlStartStep`) together with the stage's starting weights `from`, kept for a
 * resume once the run's checkpoint holds RL weights: the frozen reference of the KL term (β > 0; none is kept
 * otherwise). Queued before the session's first save of the run, in one transaction with the record, so a stored
 * record naming the stage always has its reference. Copies the weights: `from` itself goes to the engine worker.
 */
function saveRlStart(run: RunRecord, from: TrainerState): void {
  const reference: TrainerState | null =
    rlConfigFor(run.config).loss.beta > 0 ? { params: from.params.slice(), m: null, v: null, step: from.step } : null;
  void dbWrite(async (d) => {
    if (!deletedRunIds.has(run.id)) await d.saveRlReference(run, reference && transferred(reference));
  });
}

/** An RL stage for runSession: where its steps start on the run's timeline, and what resuming it needs. */
interface RlStage {
  /** Timeline step at which the stage began (the run's rlStartStep): added to the session's RL steps. */
  offset: number;
  /** Set to resume an interrupted stage: runSession's `from` is then its checkpoint with the stage's optimiser step. */
  resume?: GrpoResume;
}

/** How a session of runSession ended. */
interface SessionOutcome {
  state: TrainingState;
  /** Why it failed ('error'); null otherwise. */
  message: string | null;
  /** The run's timeline step it ended at. */
  step: number;
}

/**
 * Runs a training session for `run`: SFT (a new run, or an interrupted one from its checkpoint `from`), or with
 * `rl` the RL stage from `from` (required): the SFT weights, or with `rl.resume` the stage's own checkpoint; its steps
 * continue after `rl.offset`. Settles when the session has ended and its final weights are queued for saving.
 */
async function runSession(run: RunRecord, from?: TrainerState, rl?: RlStage): Promise<SessionOutcome> {
  buffer = [];
  stopWhileStarting = null;
  const kind = rl ? 'rl' : 'sft';
  const offset = rl?.offset ?? 0;
  sessionStepOffset = offset;
  // The session exists from here on (synchronously), so a second Start cannot begin another one.
  useStore.setState((s) => ({
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
  saveRunNow(run.id);
  await drainEvaluations();
  // A weights load that was in flight during the drain may have claimed the model: this session's run holds it now.
  useStore.setState({ modelRunId: run.id });
  modelStepOffset = offset;
  modelStage = 'sft';
  Object.assign(clock, {
    baseMs: run.timeline.at(-1)?.elapsedMs ?? 0,
    startedAt: performance.now(),
    pausedAt: null,
    pausedMs: 0,
  });
  const listener = Comlink.proxy((event: WorkerEvent) => onWorkerEvent(run.id, event));
  let summary: TrainSummary | null = null;
  let failure: string | null = null;
  try {
    await engineReady;
    const reference = rl?.resume?.reference;
    const training =
      rl && from
        ? worker().trainRl(
            run.config,
            listener,
            transferred(from),
            rl.resume && { reference: reference ? transferred(reference) : null },
          )
        : worker().train(run.config, listener, from && transferred(from));
    // A Stop pressed before the train call was sent: the worker takes a stop that follows it (it sets up first).
    if (stopWhileStarting === run.id) void worker().stop();
    summary = await training;
  } catch (e) {
    failure = message(e);
  }
  flush();
  const finalState: TrainingState = summary ? summary.state : 'error';
  const steps = summary ? offset + summary.steps : (useStore.getState().session?.step ?? run.stepsDone);
  const done = updateRun(run.id, (r) => ({
    ...r,
    status: finalState,
    stepsDone: Math.max(r.stepsDone, steps),
    updatedAt: Date.now(),
  }));
  useStore.setState((s) => ({
    session: s.session ? { ...s.session, state: finalState, step: steps, message: failure } : null,
    ...(failure !== null ? { error: `Training failed: ${failure}` } : {}),
  }));
  saveRunNow(run.id);
  // Keep the final weights with the run (the last periodic checkpoint may be older).
  if (summary && done && done.checkpointStep !== steps) {
    try {
      const state = await worker().readModel();
      saveCheckpoint(run.id, kind === 'rl' ? steps : state.step, state);
    } catch (e) {
      useStore.setState({ error: `Could not read the final weights: ${message(e)}` });
    }
  }
  if (summary === null) useStore.setState({ modelRunId: null });
  return { state: finalState, message: failure ?? (finalState === 'error' ? 'unknown error' : null), step: steps };
}

/** A new run record for `config`, trained on `adapter`, named `name`. */
function newRunRecord(config: RunConfig, name: string, adapter: string): RunRecord {
  const now = Date.now();
  return {
    id: newRunId(),
    name,
    createdAt: now,
    updatedAt: now,
    config,
    status: 'running',
    adapter,
    stepsDone: 0,
    timeline: [],
    evalPoints: [],
    samples: null,
    checkpointStep: null,
  };
}

/** An RL stage ready to begin: the run as the stage begins it, and the SFT weights it starts from. */
interface PreparedRlStage {
  run: RunRecord;
  from: TrainerState;
}

/**
 * Prepares an RL stage on `run` from its stored checkpoint, with `editedRl` (the RL panel's settings; undefined: the
 * run's own, see rlStageConfig). Throws, saying why, for a run that cannot take one: no checkpoint, an RL stage
 * already, invalid settings, a checkpoint that cannot be read.
 */
async function prepareRlStage(run: RunRecord, editedRl: RlConfig | undefined): Promise<PreparedRlStage> {
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
    await dbChain;
    state = db ? await db.getCheckpoint(run.id) : undefined;
    if (!state && useStore.getState().modelRunId === run.id) state = await worker().readModel();
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
function runRlStage({ run, from }: PreparedRlStage): Promise<SessionOutcome> {
  saveRlStart(run, from);
  return runRlSession(run, from, { offset: from.step });
}

/** runSession for an RL stage (new, restarted or resumed); a stage that ended drops its reference weights. */
async function runRlSession(run: RunRecord, from: TrainerState, rl: RlStage): Promise<SessionOutcome> {
  const outcome = await runSession(run, from, rl);
  // Only an interrupted stage (a reload) resumes; a stage that ended no longer needs its reference weights.
  if (outcome.state === 'finished' || outcome.state === 'stopped') dropRlReference(run.id);
  return outcome;
}

/** Deletes a run's RL reference weights (with the run's current record, in one transaction). */
function dropRlReference(runId: string): void {
  void dbWrite(async (d) => {
    const current = useStore.getState().runs[runId];
    if (current && !deletedRunIds.has(runId)) await d.saveRlReference(current, null);
  });
}

// ---- the lab queue: one item at a time, each through the same session path as Start and startRl ----

/** True while runLabQueue works through the queue (it ends once no item waits). */
let labLoopRunning = false;

function labDispatch(action: LabAction): void {
  useStore.setState((s) => ({ lab: labQueueReducer(s.lab, action) }));
}

interface LabOutcome {
  status: LabEndStatus;
  message: string | null;
}

/** The outcome of an item whose `stage` session ended without finishing. */
function unfinished(stage: 'SFT' | 'RL', outcome: SessionOutcome): LabOutcome {
  if (outcome.state === 'stopped') {
    const cancelled = useStore.getState().lab.cancelRequested;
    return {
      status: 'cancelled',
      message: `${cancelled ? 'cancelled' : 'stopped'} during ${stage} at step ${outcome.step}`,
    };
  }
  return { status: 'failed', message: `${stage}: ${outcome.message ?? `ended in state '${outcome.state}'`}` };
}

/** Trains, then evaluates, the lab's current item (the caller ends it with the outcome). */
async function runLabItem(item: LabItem): Promise<LabOutcome> {
  const cancelled = (after: string): LabOutcome | null =>
    useStore.getState().lab.cancelRequested ? { status: 'cancelled', message: `cancelled after ${after}` } : null;
  const s = useStore.getState();
  if (s.engine === null) return { status: 'failed', message: 'the engine is not ready' };
  if (isActive(s.session)) return { status: 'failed', message: 'another run is training' };
  const issues = runConfigIssues(item.config);
  if (issues.length > 0) {
    return {
      status: 'failed',
      message: `invalid settings: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
    };
  }
  const run = newRunRecord(item.config, uniqueName(item.label, s.runs), s.engine.adapter);
  labDispatch({ type: 'run', runId: run.id });
  const sft = await runSession(run);
  if (sft.state !== 'finished') return unfinished('SFT', sft);
  if (item.config.rl) {
    const early = cancelled('SFT');
    if (early) return early;
    labDispatch({ type: 'stage', status: 'rl' });
    const trained = useStore.getState().runs[run.id];
    if (!trained) return { status: 'failed', message: 'the run was deleted' };
    let prepared: PreparedRlStage;
    try {
      // The method's own RL settings (its config's `rl`), not the RL panel's.
      prepared = await prepareRlStage(trained, undefined);
    } catch (e) {
      return { status: 'failed', message: `RL: ${message(e)}` };
    }
    const late = cancelled('SFT');
    if (late) return late;
    const rl = await runRlStage(prepared);
    if (rl.state !== 'finished') return unfinished('RL', rl);
  }
  const early = cancelled(item.config.rl ? 'RL' : 'SFT');
  if (early) return early;
  labDispatch({ type: 'stage', status: 'evaluating' });
  // The session just ended holds the trained model; nothing loads another while the queue is busy.
  if (useStore.getState().modelRunId !== run.id) return { status: 'failed', message: "the run's model is not loaded" };
  try {
    const { done, total } = await evaluateSuitesInTurn(
      run.id,
      item.config,
      (message) => labDispatch({ type: 'progress', message }),
      () => useStore.getState().lab.cancelRequested,
    );
    if (done < total) return { status: 'cancelled', message: `cancelled after ${done} of ${total} suites (kept)` };
  } catch (e) {
    return { status: 'failed', message: `suite evaluation: ${message(e)}` };
  }
  return { status: 'done', message: null };
}

/**
 * Evaluates the worker's current model (run `runId`'s) on every suite of its task, one suite per worker call so that
 * `shouldStop` is honoured between suites; each result is saved with the run as it arrives (a suite's problems and
 * seeds do not depend on which other suites are evaluated). Returns how many of the task's suites were evaluated.
 */
async function evaluateSuitesInTurn(
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
    const [result] = await worker().evaluateSuites({
      size: evalCfg.size,
      seed: evalCfg.seed,
      decode,
      variants: [variant],
    });
    if (!result) throw new Error(`no result for suite '${variant}'`);
    const saved = updateRun(runId, (r) => {
      const kept = (r.suiteResults ?? []).filter((x) => x.suite !== variant);
      return { ...r, suiteResults: [...kept, result], updatedAt: Date.now() };
    });
    if (saved) saveRunNow(runId);
    done += 1;
  }
  return { done, total: variants.length };
}

/** Works through the queued lab items one at a time until none waits; one loop at a time. */
async function runLabQueue(): Promise<void> {
  if (labLoopRunning) return;
  labLoopRunning = true;
  try {
    for (;;) {
      labDispatch({ type: 'begin' });
      const item = currentLabItem(useStore.getState().lab);
      if (item === null) return;
      let outcome: LabOutcome;
      try {
        outcome = await runLabItem(item);
      } catch (e) {
        outcome = { status: 'failed', message: message(e) };
      }
      labDispatch({ type: 'finish', ...outcome });
    }
  } finally {
    labLoopRunning = false;
  }
}

// ---- the store ----

export const useStore = create<PlaygroundState>()((set, get) => ({
  engine: null,
  engineError: null,
  selfTest: { kind: 'idle' },
  config: DEFAULT_RUN_CONFIG,
  notices: [],
  runs: {},
  runOrder: [],
  activeRunId: null,
  compareRunIds: [],
  modelRunId: null,
  session: null,
  live: {},
  rollouts: null,
  evaluation: { busy: false, label: null, queued: 0, loading: false },
  selectedPoint: null,
  interrupted: null,
  toast: null,
  error: null,
  storageAvailable: true,
  lab: EMPTY_LAB_QUEUE,
  suitesEval: null,

  async init() {
    if (initStarted) return;
    initStarted = true;
    if (typeof location !== 'undefined') {
      const parsed = configFromHash(location.hash);
      set({ config: parsed.config, notices: parsed.notices });
      window.addEventListener('hashchange', () => {
        if (isActive(get().session)) return;
        const next = configFromHash(location.hash);
        if (next.found) set({ config: next.config, notices: next.notices });
      });
    }
    engineReady = worker()
      .init()
      .then(
        (info) => {
          set({ engine: info, engineError: null });
          return info;
        },
        (e: unknown) => {
          set({ engine: null, engineError: message(e) });
          return null;
        },
      );
    try {
      db = await openDb();
      const stored = await db.listRuns();
      const runs: Record<string, RunRecord> = {};
      let interrupted: RunRecord | null = null;
      for (const r of stored) {
        let run = r;
        if (r.status === 'running' || r.status === 'paused') {
          run = { ...r, status: 'interrupted', updatedAt: Date.now() };
          await db.putRun(run);
          if (interrupted === null || run.createdAt > interrupted.createdAt) interrupted = run;
        }
        runs[run.id] = run;
      }
      const runOrder = sortedIds(runs);
      set((s) => ({
        runs: { ...runs, ...s.runs },
        runOrder: [...s.runOrder, ...runOrder.filter((id) => !s.runOrder.includes(id))],
        activeRunId: s.activeRunId ?? runOrder[0] ?? null,
        interrupted: interrupted && {
          runId: interrupted.id,
          name: interrupted.name,
          step: interrupted.stepsDone,
          checkpointStep: interrupted.checkpointStep,
          rlStartStep: interrupted.rlStartStep ?? null,
          resumes:
            interrupted.checkpointStep === null ? null : resumePlanFor(interrupted, interrupted.checkpointStep).stage,
        },
      }));
    } catch (e) {
      db = null;
      set({
        storageAvailable: false,
        error: `Saved runs are unavailable (runs will not be kept): ${describeStorageError(e)}`,
      });
    }
    await engineReady;
  },

  setConfig(update) {
    set((s) => {
      const next = update(s.config);
      const variants: readonly string[] = getTask(next.task.id).variants;
      const instructions = getTask(next.task.id).diverseVariant === null ? 'fixed' : next.task.instructions;
      return {
        config: {
          ...next,
          task: { ...next.task, instructions },
          eval: variants.includes(next.eval.variant) ? next.eval : { ...next.eval, variant: 'id' },
        },
      };
    });
  },

  setDecode(patch) {
    set((s) => ({ config: { ...s.config, decode: { ...s.config.decode, ...patch } } }));
    scheduleSettledEvaluation();
  },

  setEvalSettings(patch) {
    set((s) => ({ config: { ...s.config, eval: { ...s.config.eval, ...patch } } }));
    scheduleSettledEvaluation();
  },

  async copyLink() {
    const hash = configToHash(get().config);
    history.replaceState(null, '', hash);
    set({ notices: [] });
    try {
      await navigator.clipboard.writeText(location.href);
      showToast('Link with every setting copied to the clipboard.');
    } catch {
      showToast('The settings are in the address bar: copy the link from there.');
    }
  },

  async start() {
    const s = get();
    if (isActive(s.session) || s.engine === null) return;
    if (engineBusy(s)) {
      set({ error: engineBusyMessage('starting another run') });
      return;
    }
    // The RL settings are the RL stage's (startRl takes the panel's then): they don't block SFT, and invalid ones stay
    // out of this run's config, which the worker would reject.
    const issues = sftConfigIssues(s.config);
    if (issues.length > 0) {
      set({ error: `Fix the settings first: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}` });
      return;
    }
    const c = sftRunConfig(s.config);
    const name = uniqueName(`${c.task.id} ${c.task.targetStyle} ${c.model.size} seed ${c.seed}`, s.runs);
    await runSession(newRunRecord(c, name, s.engine.adapter));
  },

  async startRl() {
    const s = get();
    const run = s.activeRunId === null ? undefined : s.runs[s.activeRunId];
    if (!run || isActive(s.session) || s.engine === null) return;
    if (engineBusy(s)) {
      set({ error: engineBusyMessage('starting RL') });
      return;
    }
    let prepared: PreparedRlStage;
    try {
      prepared = await prepareRlStage(run, s.config.rl);
    } catch (e) {
      set({ error: message(e) });
      return;
    }
    // Another session (or the lab queue) may have begun, or the run been deleted, while the checkpoint was read.
    if (isActive(get().session) || engineBusy(get())) return;
    if (!get().runs[run.id] || deletedRunIds.has(run.id)) return;
    await runRlStage(prepared);
  },

  async evaluateRunSuites(runId, suiteSize) {
    const s = get();
    const run = s.runs[runId];
    if (!run || s.engine === null) return;
    if (isActive(s.session) || engineBusy(s)) {
      set({ error: 'Suites can be evaluated when no run trains and the lab queue is idle.' });
      return;
    }
    const sizeIssue = suiteSizeIssue(suiteSize);
    if (sizeIssue !== null) {
      set({ error: `Problems per suite: ${sizeIssue}` });
      return;
    }
    set({ suitesEval: { runId, message: `loading the weights of '${run.name}'`, cancelRequested: false } });
    try {
      await drainEvaluations();
      await ensureModel(runId);
      const config: RunConfig = { ...run.config, eval: { ...run.config.eval, size: suiteSize } };
      const progress = (message: string) =>
        set((st) => (st.suitesEval ? { suitesEval: { ...st.suitesEval, message } } : {}));
      await evaluateSuitesInTurn(runId, config, progress, () => get().suitesEval?.cancelRequested === true);
    } catch (e) {
      set({ error: `Suite evaluation of '${run.name}' failed: ${message(e)}` });
    } finally {
      set({ suitesEval: null });
    }
  },

  cancelRunSuites() {
    set((s) => (s.suitesEval ? { suitesEval: { ...s.suitesEval, cancelRequested: true } } : {}));
  },

  queueLab(task, methods, scale, options) {
    const s = get();
    // Every method of a task shares the preset's evaluation settings.
    const suiteSize = options?.suiteSize ?? labConfig(task, 'answer', scale).eval.size;
    const issues = labQueueIssues(task, methods, suiteSize);
    if (issues.length > 0) {
      set({ error: `Lab queue: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}` });
      return;
    }
    if (s.engine === null) {
      set({ error: 'Lab queue: the engine is not ready yet.' });
      return;
    }
    if (isActive(s.session) && !labBusy(s.lab)) {
      set({ error: 'Lab queue: a run is training; stop it or let it finish before queueing lab methods.' });
      return;
    }
    labDispatch({ type: 'enqueue', specs: labItemSpecs(task, methods, scale, suiteSize) });
    void runLabQueue();
  },

  async cancelLab() {
    if (!labBusy(get().lab)) return;
    labDispatch({ type: 'cancel' });
    const item = currentLabItem(get().lab);
    const session = get().session;
    if (item !== null && isActive(session) && session.runId === item.runId) await get().stop();
  },

  async pause() {
    if (get().session?.state !== 'running') return;
    await worker().pause();
    confirmState('running', 'paused');
  },

  async resume() {
    if (get().session?.state !== 'paused') return;
    await worker().resume();
    confirmState('paused', 'running');
  },

  async stop() {
    const session = get().session;
    if (!isActive(session)) return;
    if (session.state === 'starting') stopWhileStarting = session.runId;
    await worker().stop();
  },

  async resumeRun(runId) {
    const s = get();
    const run = s.runs[runId];
    if (!run || isActive(s.session) || s.engine === null) return;
    if (engineBusy(s)) {
      set({ error: engineBusyMessage('resuming a run') });
      return;
    }
    set({ interrupted: null });
    const state = db && run.checkpointStep !== null ? await db.getCheckpoint(runId).catch(() => undefined) : undefined;
    if (!state) {
      set({ error: `Run '${run.name}' has no saved checkpoint to resume from.` });
      return;
    }
    // The stored checkpoint's step is the run's timeline step (an RL stage's checkpoints included).
    const checkpointStep = state.step;
    const plan = resumePlanFor(run, checkpointStep);
    const rl = rlConfigFor(run.config);
    let reference: TrainerState | null = null;
    if (plan.stage === 'rl' && rl.loss.beta > 0) {
      reference = (await db?.getRlReference(runId).catch(() => undefined)) ?? null;
      if (!reference) {
        set({
          error: `Run '${run.name}' cannot resume its RL stage: the weights it began from (the reference of its KL term, rl.loss.beta = ${rl.loss.beta}) were not saved.`,
        });
        return;
      }
    }
    if (isActive(get().session) || engineBusy(get())) return;
    if (!get().runs[runId] || deletedRunIds.has(runId)) return; // deleted while its checkpoint was read
    // Show the run's own settings in the form, its RL settings included (decode and evaluation settings stay as they
    // are).
    get().setConfig((c) => ({ ...run.config, decode: c.decode, eval: c.eval }));
    const resumed: RunRecord = {
      ...run,
      status: 'running',
      stepsDone: checkpointStep,
      checkpointStep,
      timeline: run.timeline.filter((p) => p.step <= checkpointStep),
      samples: run.samples && run.samples.step <= checkpointStep ? run.samples : null,
      updatedAt: Date.now(),
    };
    switch (plan.stage) {
      case 'sft':
        await runSession(resumed, state);
        return;
      case 'rl-restart': {
        const restarted: RunRecord = { ...resumed, rlStartStep: plan.rlStartStep };
        saveRlStart(restarted, state);
        await runRlSession(restarted, state, { offset: plan.rlStartStep });
        return;
      }
      case 'rl':
        await runRlSession(
          resumed,
          { ...state, step: plan.optimiserSteps },
          { offset: plan.rlStartStep, resume: { reference } },
        );
        return;
    }
  },

  dismissInterrupted() {
    set({ interrupted: null });
  },

  evaluateNow() {
    if (settleTimer !== null) clearTimeout(settleTimer);
    settleTimer = null;
    const s = get();
    const run = evalTarget(s);
    if (!run || !canEvaluate(s, run)) return;
    settlePending = true;
    syncQueueStatus();
    void pump();
  },

  sweep(series) {
    const s = get();
    const run = evalTarget(s);
    if (!run || !canEvaluate(s, run)) return;
    const { values, knob } = SWEEPS[series];
    values.forEach((v, i) => {
      sweepJobs.push({
        runId: run.id,
        decode: applySweepValue(series, s.config.decode, v),
        label: `${series} sweep ${i + 1}/${values.length}: ${knob} = ${v}`,
      });
    });
    syncQueueStatus();
    void pump();
  },

  sweepLevels() {
    const s = get();
    const run = evalTarget(s);
    if (!run || !canEvaluate(s, run)) return;
    const levels = ['short', 'medium', 'long'] as const;
    levels.forEach((lengthTag, i) => {
      sweepJobs.push({
        runId: run.id,
        decode: s.config.decode,
        label: `levels sweep ${i + 1}/${levels.length}: <${lengthTag}>`,
        lengthTag,
      });
    });
    syncQueueStatus();
    void pump();
  },

  selectRun(runId) {
    const s = get();
    if (!s.runs[runId]) return;
    set({ activeRunId: runId, selectedPoint: null });
    const free = !isActive(s.session) && !engineBusy(s);
    if (free && s.modelRunId !== runId && s.runs[runId]?.checkpointStep != null && db) {
      loadRequest = runId;
      void pump();
    }
  },

  applyRunSettings(runId) {
    const run = get().runs[runId];
    if (run && !isActive(get().session)) set({ config: run.config });
  },

  toggleCompare(runId) {
    set((s) => ({
      compareRunIds: s.compareRunIds.includes(runId)
        ? s.compareRunIds.filter((id) => id !== runId)
        : [...s.compareRunIds, runId],
    }));
  },

  renameRun(runId, name) {
    const clean = name.trim().slice(0, 120);
    if (clean === '') return;
    if (updateRun(runId, (r) => ({ ...r, name: clean, updatedAt: Date.now() }))) saveRunNow(runId);
  },

  async deleteRun(runId) {
    const s = get();
    const run = s.runs[runId];
    if (!run || (isActive(s.session) && s.session.runId === runId)) return;
    if (currentLabItem(s.lab)?.runId === runId) {
      set({ error: `'${run.name}' is the lab queue's current run: cancel the queue or wait for the item to finish.` });
      return;
    }
    let deleted: DeletedRun | null = null;
    if (db) {
      deletedRunIds.add(runId);
      try {
        await dbChain;
        deleted = (await db.deleteRun(runId)) ?? null;
      } catch (e) {
        deletedRunIds.delete(runId);
        set({ error: `Could not delete '${run.name}': ${describeStorageError(e)}` });
        return;
      }
    }
    set((st) => {
      const runs = { ...st.runs };
      delete runs[runId];
      const runOrder = st.runOrder.filter((id) => id !== runId);
      return {
        runs,
        runOrder,
        compareRunIds: st.compareRunIds.filter((id) => id !== runId),
        activeRunId: st.activeRunId === runId ? (runOrder[0] ?? null) : st.activeRunId,
        modelRunId: st.modelRunId === runId ? null : st.modelRunId,
        selectedPoint: st.selectedPoint?.runId === runId ? null : st.selectedPoint,
        interrupted: st.interrupted?.runId === runId ? null : st.interrupted,
      };
    });
    showToast(`Deleted '${run.name}'.`, deleted);
  },

  async undoDelete() {
    const toast = get().toast;
    if (!toast?.undo || !db) return;
    const deleted = toast.undo;
    set({ toast: null });
    try {
      await db.restoreRun({
        ...deleted,
        checkpoint: deleted.checkpoint && transferred(deleted.checkpoint),
        rlReference: deleted.rlReference && transferred(deleted.rlReference),
      });
      deletedRunIds.delete(deleted.run.id);
      const run = await db.getRun(deleted.run.id);
      if (!run) throw new Error('the restored run was not found');
      set((s) => {
        const runs = { ...s.runs, [run.id]: run };
        return { runs, runOrder: sortedIds(runs) };
      });
    } catch (e) {
      set({ error: `Could not restore the run: ${describeStorageError(e)}` });
    }
  },

  async exportRun(runId, separateWeights) {
    const s = get();
    const run = s.runs[runId];
    if (!run) return;
    try {
      await dbChain;
      let checkpoint: TrainerState | null =
        db && run.checkpointStep !== null ? ((await db.getCheckpoint(runId)) ?? null) : null;
      if (checkpoint === null && s.modelRunId === runId && !isActive(s.session)) {
        checkpoint = await worker().readModel();
      }
      const file = exportRunFile(run, checkpoint, separateWeights ? 'separate' : 'inline');
      download(new Blob([file.json], { type: 'application/json' }), `${file.fileBaseName}.stoptime.json`);
      if (file.safetensors) {
        const bytes = new Uint8Array(file.safetensors);
        download(new Blob([bytes], { type: 'application/octet-stream' }), `${file.fileBaseName}.safetensors`);
      }
    } catch (e) {
      set({ error: `Could not export '${run.name}': ${message(e)}` });
    }
  },

  async importFiles(files) {
    const json = files.filter((f) => f.name.toLowerCase().endsWith('.json'));
    const weights = files.filter((f) => f.name.toLowerCase().endsWith('.safetensors'));
    const other = files.filter((f) => !json.includes(f) && !weights.includes(f));
    // Several run files at once (e.g. the runs of a lab matrix); a separate weights file pairs with exactly one.
    if (json.length === 0 || other.length > 0 || weights.length > 1 || (weights.length === 1 && json.length > 1)) {
      set({
        error:
          'Import: pick one or more .stoptime.json run files; a .safetensors weights file only together with its one ' +
          `run file (got ${files.map((f) => `'${f.name}'`).join(', ') || 'no files'}).`,
      });
      return;
    }
    const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
    const failures: string[] = [];
    let lastId: string | null = null;
    let imported = 0;
    for (const file of json) {
      if (file.size > RUN_FILE_LIMITS.maxTextChars || (weights[0]?.size ?? 0) > RUN_FILE_LIMITS.maxWeightsBytes) {
        failures.push(
          `'${file.name}': too large (a run file is at most ${mib(RUN_FILE_LIMITS.maxTextChars)}, weights at most ${mib(RUN_FILE_LIMITS.maxWeightsBytes)})`,
        );
        continue;
      }
      try {
        const text = await file.text();
        const sidecar = weights[0] ? new Uint8Array(await weights[0].arrayBuffer()) : undefined;
        const parsed = parseRunFile(text, sidecar);
        let run: RunRecord;
        if (db) {
          run = await db.importRun(parsed.run, parsed.checkpoint && transferred(parsed.checkpoint));
        } else {
          const live = parsed.run.status === 'running' || parsed.run.status === 'paused';
          run = { ...parsed.run, id: newRunId(), checkpointStep: null, status: live ? 'imported' : parsed.run.status };
        }
        set((s) => {
          const runs = { ...s.runs, [run.id]: run };
          return { runs, runOrder: sortedIds(runs) };
        });
        lastId = run.id;
        imported += 1;
      } catch (e) {
        failures.push(`'${file.name}': ${message(e)}`);
      }
    }
    // Each file stands alone: a bad one is reported and the others are kept.
    if (failures.length > 0) {
      const what = json.length === 1 ? 'Import of' : `Import: ${failures.length} of ${json.length} files failed:`;
      set({
        error:
          json.length === 1
            ? `${what} ${failures[0]!.replace(/^'([^']*)': /, "'$1' failed: ")}`
            : `${what} ${failures.join('; ')}`,
      });
    } else set({ error: null });
    if (lastId !== null) {
      get().selectRun(lastId);
      const name = get().runs[lastId]?.name ?? '';
      showToast(imported === 1 ? `Imported '${name}'.` : `Imported ${imported} runs.`);
    }
  },

  selectPoint(runId, pointId) {
    set({ selectedPoint: pointId === null ? null : { runId, pointId } });
  },

  dismissError() {
    set({ error: null });
  },

  dismissToast() {
    set({ toast: null });
  },

  dismissNotices() {
    set({ notices: [] });
  },

  async runSelfTest(steps) {
    set({ selfTest: { kind: 'running' } });
    try {
      await engineReady;
      const result = await worker().selfTest(steps, 1);
      set({ selfTest: { kind: 'done', result } });
    } catch (e) {
      set({ selfTest: { kind: 'error', message: message(e) } });
    }
  },
}));

/** The points whose traces and histogram are shown: the selected one, else the active run's latest. */
export function selectedEvalPoint(s: PlaygroundState): { run: RunRecord; point: EvalPoint } | null {
  if (s.selectedPoint) {
    const run = s.runs[s.selectedPoint.runId];
    const point = run?.evalPoints.find((p) => p.id === s.selectedPoint?.pointId);
    if (run && point) return { run, point };
  }
  const run = s.activeRunId === null ? undefined : s.runs[s.activeRunId];
  const point = run?.evalPoints.at(-1);
  return run && point ? { run, point } : null;
}
