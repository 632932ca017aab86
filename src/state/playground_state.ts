/**
 * The playground's state (what the zustand store in store.ts holds, without its actions), the handle through which the
 * coordinating classes read and update it (engine_client.ts, persistence.ts, eval_queue.ts, lab_runner.ts), and the
 * small rules they share: when a session is active, when the engine belongs to the lab queue, the busy guard.
 */
import * as Comlink from 'comlink';
import type { ResumePlan, RunRecord, RunStatus } from '../runs/run_record';
import type { TrainerState } from '../train/backend';
import type { MetricKey } from '../train/metrics';
import { DEFAULT_RUN_CONFIG, type RunConfig } from '../train/run_config';
import type { EngineInfo, RolloutsEvent, SelfTestResult, TrainingState } from '../worker/api';
import { EMPTY_LAB_QUEUE, type LabQueueState, labBusy } from './lab_queue';
import { type DeletedRun, newRunId } from './runs_db';

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

/** Everything the store holds besides its actions. */
export interface PlaygroundData {
  engine: EngineInfo | null;
  engineError: string | null;
  selfTest: SelfTestStatus;
  /** The config being edited: what Start trains and what decode settings evaluate with. */
  config: RunConfig;
  /** Notices about ignored parts of the URL hash. */
  notices: string[];
  /** True while the page times the adapter on load (adapter_fit.ts); Start waits for it. */
  measuringAdapter: boolean;
  /** Set when the page opened with a run sized to a slow adapter: its one-line notice and the full-size default. */
  adapterFit: { message: string; full: RunConfig } | null;
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
  /**
   * The oracle frontier being computed for a run (oracle_runner.ts), with its progress in rows (own traces, then
   * truncations); null when none runs. While set the worker's model belongs to it (engineBusy).
   */
  oracleJob: OracleJob | null;
}

/** An oracle frontier computation in progress (rowsTotal 0: the weights are loading or the own traces run). */
export interface OracleJob {
  runId: string;
  rowsDone: number;
  rowsTotal: number;
  cancelRequested: boolean;
}

export const INITIAL_STATE: PlaygroundData = {
  engine: null,
  engineError: null,
  selfTest: { kind: 'idle' },
  config: DEFAULT_RUN_CONFIG,
  notices: [],
  measuringAdapter: false,
  adapterFit: null,
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
  oracleJob: null,
};

/** How the coordinating classes read and update the store's state (zustand's getState / setState, or a test's). */
export interface StateHandle {
  getState(): PlaygroundData;
  setState(update: Partial<PlaygroundData> | ((s: PlaygroundData) => Partial<PlaygroundData>)): void;
}

export const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export const isActive = (s: Session | null): s is Session =>
  s !== null && (s.state === 'running' || s.state === 'paused' || s.state === 'starting');

/**
 * Whether the worker's model belongs to the lab queue, a suite evaluation or an oracle frontier computation (no other
 * run may load or start).
 */
export function engineBusy(s: Pick<PlaygroundData, 'lab' | 'suitesEval' | 'oracleJob'>): boolean {
  return labBusy(s.lab) || s.suitesEval !== null || s.oracleJob !== null;
}

/**
 * The busy guard of the actions that start a session (Start, Start RL, Resume): the engine's info when the action may
 * go on; null, doing nothing, while a session is active or the engine is not ready; null with an error naming
 * `action` while the lab queue or a suite evaluation holds the engine.
 */
export function engineFree(handle: StateHandle, action: string): EngineInfo | null {
  const s = handle.getState();
  if (isActive(s.session) || s.engine === null) return null;
  if (engineBusy(s)) {
    handle.setState({
      error: `The lab queue, a suite evaluation or an oracle frontier is running: wait for it to finish, or cancel it, before ${action}.`,
    });
    return null;
  }
  return s.engine;
}

export function runStatusFor(state: SessionState): RunStatus {
  return state === 'starting' ? 'running' : state;
}

/** Replaces run `runId` with `update(run)` in the state; the new record, or null when there is no such run. */
export function updateRun(handle: StateHandle, runId: string, update: (r: RunRecord) => RunRecord): RunRecord | null {
  const run = handle.getState().runs[runId];
  if (!run) return null;
  const next = update(run);
  handle.setState((s) => ({ runs: { ...s.runs, [runId]: next } }));
  return next;
}

export function uniqueName(base: string, runs: Readonly<Record<string, RunRecord>>): string {
  const names = new Set(Object.values(runs).map((r) => r.name));
  if (!names.has(base)) return base;
  for (let i = 2; ; i++) if (!names.has(`${base} (${i})`)) return `${base} (${i})`;
}

export function sortedIds(runs: Readonly<Record<string, RunRecord>>): string[] {
  return Object.values(runs)
    .sort((a, b) => b.createdAt - a.createdAt)
    .map((r) => r.id);
}

/** A new run record for `config`, trained on `adapter`, named `name`. */
export function newRunRecord(config: RunConfig, name: string, adapter: string): RunRecord {
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

/** A checkpoint marked for transfer (not copy) to a worker; the caller must not use it afterwards. */
export function transferred(state: TrainerState): TrainerState {
  const buffers: ArrayBuffer[] = [];
  for (const a of [state.params, state.m, state.v]) {
    if (a && a.buffer instanceof ArrayBuffer && !buffers.includes(a.buffer)) buffers.push(a.buffer);
  }
  return Comlink.transfer(state, buffers);
}
