/**
 * The playground's one store (zustand): the state (playground_state.ts) and thin actions. Components read it with
 * selectors; the work behind the actions lives in plain classes that take their collaborators as constructor
 * arguments, one per concern:
 *   - engine_client.ts   the engine worker: sessions (SFT, the RL stage, resume), step offsets, the model it holds;
 *                        its session_events.ts buffers worker events and keeps the training clock;
 *   - persistence.ts     the runs database: the write chain, saves, checkpoints, delete and undo, import and export;
 *   - eval_queue.ts      evaluations one at a time (settled settings, sweeps, loading a selected run's weights);
 *   - lab_runner.ts      the lab queue worked through one item at a time;
 *   - oracle_runner.ts   the oracle stopping frontier of a run, computed and saved with it;
 *   - toasts.ts          the one toast.
 * The config being edited syncs with the URL hash (url.ts). The engine worker and the runs database's worker start on
 * first use, so importing the store starts nothing.
 */
import * as Comlink from 'comlink';
import { create } from 'zustand';
import type { RunRecord } from '../runs/run_record';
import { getTask } from '../tasks/index';
import type { LabMethodId, LabScale, LabTask } from '../train/lab_presets';
import type { EvalPoint, SeriesId } from '../train/results';
import { type DecodeConfig, type EvalConfig, type RunConfig, sftConfigIssues, sftRunConfig } from '../train/run_config';
import type { StoptimeWorkerApi } from '../worker/api';
import { sizeDefaultToAdapter } from './adapter_fit';
import { EngineClient } from './engine_client';
import { EvalQueue } from './eval_queue';
import { currentLabItem } from './lab_queue';
import { LabRunner } from './lab_runner';
import { OracleRunner, type OracleSettings } from './oracle_runner';
import { Persistence, type RunsDbClient } from './persistence';
import {
  engineBusy,
  engineFree,
  INITIAL_STATE,
  isActive,
  message,
  newRunRecord,
  type PlaygroundData,
  uniqueName,
  updateRun,
} from './playground_state';
import type { RunsDbWorkerApi } from './runs_db.worker';
import { browserLocks } from './tab_locks';
import { Toasts } from './toasts';
import { configFromHash, configToHash } from './url';

export { describeDecode, SETTLE_MS, SWEEPS, type Sweep } from './eval_queue';
export { SAVE_INTERVAL_MS } from './persistence';
export {
  type EvaluationStatus,
  engineBusy,
  type InterruptedNotice,
  isActive,
  type SelfTestStatus,
  type Session,
  type SessionState,
  type Toast,
} from './playground_state';
export { FLUSH_INTERVAL_MS } from './session_events';
export { TOAST_MS } from './toasts';

export interface PlaygroundActions {
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
  /** Queues lab methods and works through the queue (LabRunner.queue). */
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
  /** Computes the active run's oracle stopping frontier (OracleRunner.compute) and saves it with the run. */
  computeOracle(settings: OracleSettings): Promise<void>;
  /** Ends computeOracle after the batch in progress (nothing is saved). */
  cancelOracle(): void;
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
  /** Downloads the run file (and its weights file); `withMoments`: the AdamW moments too, for an exact resume. */
  exportRun(runId: string, separateWeights: boolean, withMoments?: boolean): Promise<void>;
  importFiles(files: readonly File[]): Promise<void>;
  selectPoint(runId: string, pointId: string | null): void;
  dismissError(): void;
  dismissToast(): void;
  dismissNotices(): void;
  /** Replaces the run sized to the adapter with the full-size default (and hides the notice). */
  useFullDefault(): void;
  dismissAdapterFit(): void;
  runSelfTest(steps: number): Promise<void>;
}

export type PlaygroundState = PlaygroundData & PlaygroundActions;

// ---- connections: one engine worker and one database worker per page, started on first use ----

function engineWorker(): StoptimeWorkerApi {
  let remote: Comlink.Remote<StoptimeWorkerApi> | null = null;
  const w = () => {
    remote ??= Comlink.wrap<StoptimeWorkerApi>(
      new Worker(new URL('../worker/engine.worker.ts', import.meta.url), { type: 'module', name: 'stoptime-engine' }),
    );
    return remote;
  };
  return {
    init: (options) => w().init(options),
    selfTest: (steps, seed) => w().selfTest(steps, seed),
    timeSteps: (config, steps) => w().timeSteps(config, steps),
    train: (config, onEvent, resumeFrom) => w().train(config, onEvent, resumeFrom),
    trainRl: (config, onEvent, from, resume) => w().trainRl(config, onEvent, from, resume),
    pause: () => w().pause(),
    resume: () => w().resume(),
    stop: () => w().stop(),
    loadModel: (config, state) => w().loadModel(config, state),
    evaluate: (decode, evalConfig) => w().evaluate(decode, evalConfig),
    evaluateSuites: (opts) => w().evaluateSuites(opts),
    computeOracle: (request, onProgress) => w().computeOracle(request, onProgress),
    cancelOracle: () => w().cancelOracle(),
    readModel: () => w().readModel(),
  };
}

/** The runs database, in its own worker (see runs_db.worker.ts). */
async function openDb(): Promise<RunsDbClient> {
  const remoteDb = Comlink.wrap<RunsDbWorkerApi>(
    new Worker(new URL('./runs_db.worker.ts', import.meta.url), { type: 'module', name: 'stoptime-runs-db' }),
  );
  await remoteDb.open();
  return remoteDb;
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

// ---- the store ----

export const useStore = create<PlaygroundState>()((set, get, store) => {
  let initStarted = false;
  const persistence = new Persistence(store, openDb);
  const locks = browserLocks();
  const engine: EngineClient = new EngineClient(
    store,
    engineWorker(),
    persistence,
    () => evaluations.drain(),
    undefined,
    locks,
  );
  const evaluations: EvalQueue = new EvalQueue(store, engine, persistence);
  const lab = new LabRunner(store, engine);
  const oracle = new OracleRunner(store, engine, persistence);
  const toasts = new Toasts(store);

  return {
    ...INITIAL_STATE,

    async init() {
      if (initStarted) return;
      initStarted = true;
      let fromLink = false;
      if (typeof location !== 'undefined') {
        const parsed = configFromHash(location.hash);
        fromLink = parsed.found;
        set({ config: parsed.config, notices: parsed.notices });
        window.addEventListener('hashchange', () => {
          if (isActive(get().session)) return;
          const next = configFromHash(location.hash);
          if (next.found) set({ config: next.config, notices: next.notices });
        });
      }
      engine.start();
      // A run another tab trains is shown as running there, not interrupted.
      await persistence.open(await locks.runsTraining());
      const info = await engine.ready;
      // A config from a link is kept as it is; the default is sized to the adapter (adapter_fit.ts).
      if (info !== null && !fromLink) {
        await sizeDefaultToAdapter(store, (c, n) => engine.timeSteps(c, n), info.adapter);
      }
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
      evaluations.scheduleSettled();
    },

    setEvalSettings(patch) {
      set((s) => ({ config: { ...s.config, eval: { ...s.config.eval, ...patch } } }));
      evaluations.scheduleSettled();
    },

    async copyLink() {
      history.replaceState(null, '', configToHash(get().config));
      set({ notices: [] });
      try {
        await navigator.clipboard.writeText(location.href);
        toasts.show('Link with every setting copied to the clipboard.');
      } catch {
        toasts.show('The settings are in the address bar: copy the link from there.');
      }
    },

    async start() {
      const info = engineFree(store, 'starting another run');
      if (info === null || get().measuringAdapter) return;
      const s = get();
      // The RL settings are the RL stage's (startRl takes the panel's then): they don't block SFT, and invalid ones
      // stay out of this run's config, which the worker would reject.
      const issues = sftConfigIssues(s.config, info.limits);
      if (issues.length > 0) {
        set({ error: `Fix the settings first: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}` });
        return;
      }
      const c = sftRunConfig(s.config);
      const name = uniqueName(`${c.task.id} ${c.task.targetStyle} ${c.model.size} seed ${c.seed}`, s.runs);
      await engine.runSession(newRunRecord(c, name, info.adapter));
    },

    async startRl() {
      const s = get();
      const run = s.activeRunId === null ? undefined : s.runs[s.activeRunId];
      if (!run || engineFree(store, 'starting RL') === null) return;
      let prepared: Awaited<ReturnType<EngineClient['prepareRlStage']>>;
      try {
        prepared = await engine.prepareRlStage(run, s.config.rl);
      } catch (e) {
        set({ error: message(e) });
        return;
      }
      // Another session (or the lab queue) may have begun, or the run been deleted, while the checkpoint was read.
      if (isActive(get().session) || engineBusy(get())) return;
      if (!get().runs[run.id] || persistence.isDeleted(run.id)) return;
      await engine.runRlStage(prepared);
    },

    evaluateRunSuites: (runId, suiteSize) => evaluations.evaluateRunSuites(runId, suiteSize),

    cancelRunSuites() {
      set((s) => (s.suitesEval ? { suitesEval: { ...s.suitesEval, cancelRequested: true } } : {}));
    },

    async computeOracle(settings) {
      const runId = get().activeRunId;
      if (runId === null) return;
      if ((await oracle.compute(runId, settings)) === 'cancelled') {
        toasts.show('Oracle frontier cancelled: nothing was saved.');
      }
    },

    cancelOracle: () => oracle.cancel(),

    queueLab: (task, methods, scale, options) => lab.queue(task, methods, scale, options),
    cancelLab: () => lab.cancel(),
    pause: () => engine.pauseSession(),
    resume: () => engine.resumeSession(),
    stop: () => engine.stopSession(),

    async resumeRun(runId) {
      const run = get().runs[runId];
      if (!run || engineFree(store, 'resuming a run') === null) return;
      set({ interrupted: null });
      let prepared: Awaited<ReturnType<EngineClient['prepareResume']>>;
      try {
        prepared = await engine.prepareResume(run);
      } catch (e) {
        set({ error: message(e) });
        return;
      }
      if (isActive(get().session) || engineBusy(get())) return;
      if (!get().runs[runId] || persistence.isDeleted(runId)) return; // deleted while its checkpoint was read
      // Show the run's own settings in the form, its RL settings included (decode and evaluation settings stay).
      get().setConfig((c) => ({ ...run.config, decode: c.decode, eval: c.eval }));
      await engine.resume(prepared);
    },

    dismissInterrupted: () => set({ interrupted: null }),
    evaluateNow: () => evaluations.evaluateNow(),
    sweep: (series) => evaluations.sweep(series),
    sweepLevels: () => evaluations.sweepLevels(),

    selectRun(runId) {
      if (!get().runs[runId]) return;
      set({ activeRunId: runId, selectedPoint: null });
      evaluations.requestLoad(runId);
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
      if (updateRun(store, runId, (r) => ({ ...r, name: clean, updatedAt: Date.now() }))) {
        persistence.saveRunNow(runId);
      }
    },

    async deleteRun(runId) {
      const s = get();
      const run = s.runs[runId];
      if (!run || (isActive(s.session) && s.session.runId === runId)) return;
      if (currentLabItem(s.lab)?.runId === runId) {
        set({
          error: `'${run.name}' is the lab queue's current run: cancel the queue or wait for the item to finish.`,
        });
        return;
      }
      let deleted: Awaited<ReturnType<Persistence['deleteRun']>>;
      try {
        deleted = await persistence.deleteRun(runId);
      } catch (e) {
        set({ error: `Could not delete '${run.name}': ${message(e)}` });
        return;
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
      toasts.show(`Deleted '${run.name}'.`, deleted);
    },

    async undoDelete() {
      const toast = get().toast;
      if (!toast?.undo || !persistence.available) return;
      set({ toast: null });
      try {
        await persistence.restoreRun(toast.undo);
      } catch (e) {
        set({ error: `Could not restore the run: ${message(e)}` });
      }
    },

    async exportRun(runId, separateWeights, withMoments = false) {
      const run = get().runs[runId];
      if (!run) return;
      try {
        const file = await persistence.exportRun(run, separateWeights, () => engine.readModel(), withMoments);
        download(new Blob([file.json], { type: 'application/json' }), `${file.fileBaseName}.stoptime.json`);
        if (file.safetensors) {
          const bytes = file.safetensors;
          download(new Blob([bytes], { type: 'application/octet-stream' }), `${file.fileBaseName}.safetensors`);
        }
      } catch (e) {
        set({ error: `Could not export '${run.name}': ${message(e)}` });
      }
    },

    async importFiles(files) {
      const { lastId, imported, error } = await persistence.importFiles(files);
      set({ error });
      if (lastId !== null) {
        get().selectRun(lastId);
        const name = get().runs[lastId]?.name ?? '';
        toasts.show(imported === 1 ? `Imported '${name}'.` : `Imported ${imported} runs.`);
      }
    },

    selectPoint(runId, pointId) {
      set({ selectedPoint: pointId === null ? null : { runId, pointId } });
    },

    dismissError: () => set({ error: null }),
    dismissToast: () => set({ toast: null }),
    dismissNotices: () => set({ notices: [] }),
    useFullDefault: () => {
      const fit = get().adapterFit;
      if (fit && !isActive(get().session)) set({ config: fit.full, adapterFit: null });
    },
    dismissAdapterFit: () => set({ adapterFit: null }),
    runSelfTest: (steps) => engine.selfTest(steps),
  };
});

/** The points whose traces and histogram are shown: the selected one, else the active run's latest. */
export function selectedEvalPoint(s: PlaygroundData): { run: RunRecord; point: EvalPoint } | null {
  if (s.selectedPoint) {
    const run = s.runs[s.selectedPoint.runId];
    const point = run?.evalPoints.find((p) => p.id === s.selectedPoint?.pointId);
    if (run && point) return { run, point };
  }
  const run = s.activeRunId === null ? undefined : s.runs[s.activeRunId];
  const point = run?.evalPoints.at(-1);
  return run && point ? { run, point } : null;
}
