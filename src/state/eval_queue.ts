/**
 * The evaluation queue: evaluations of the worker's model run one at a time. A settled decode-setting change (no
 * change for `settleMs`) replaces any earlier one still waiting, sweeps queue their points behind it, and a request to
 * load a selected run's weights goes first. Also the suite evaluation of a saved run outside the lab queue.
 */

import type { RunRecord } from '../runs/run_record';
import { getTask } from '../tasks/index';
import { applySweepValue, decodeSettingText, perMethod, type SeriesId, seriesFor } from '../train/methods';
import {
  type DecodeConfig,
  decodeConfigSchema,
  type EvalConfig,
  evalConfigSchema,
  type RunConfig,
} from '../train/run_config';
import type { EngineClient } from './engine_client';
import { suiteSizeIssue } from './lab_queue';
import type { Persistence } from './persistence';
import {
  type EvaluationStatus,
  engineBusy,
  isActive,
  message,
  type PlaygroundData,
  type StateHandle,
  updateRun,
} from './playground_state';

/** A decode setting counts as settled after this long without a change. */
export const SETTLE_MS = 250;

/** The values each method's "Sweep" button evaluates (a value enters the decode settings by applySweepValue). */
export interface Sweep {
  /** The knob's name in labels. */
  knob: string;
  values: readonly number[];
}

export const SWEEPS: Record<SeriesId, Sweep> = perMethod((m) => ({ knob: m.knob.name, values: m.knob.sweep }));

interface EvalJob {
  runId: string;
  decode: DecodeConfig;
  label: string;
  /** Overrides the edited evaluation settings' TLDR length tag (the levels sweep). */
  lengthTag?: EvalConfig['lengthTag'];
}

/** The run evaluations apply to: the one training, else the one shown. */
export function evalTarget(s: PlaygroundData): RunRecord | null {
  const id = isActive(s.session) ? s.session.runId : s.activeRunId;
  return id === null ? null : (s.runs[id] ?? null);
}

/** The evaluation set for a run: the edited settings, with a variant its task has. */
export function evalConfigFor(run: RunRecord, edited: EvalConfig): EvalConfig {
  const variants: readonly string[] = getTask(run.config.task.id).variants;
  return { ...edited, variant: variants.includes(edited.variant) ? edited.variant : 'id' };
}

export function canEvaluate(s: PlaygroundData, run: RunRecord): boolean {
  if (s.engine === null) return false;
  // While a session starts the worker still holds the previous model: wait for the first step.
  if (s.session?.state === 'starting') return false;
  if (isActive(s.session)) return s.session.runId === run.id;
  // Between the lab queue's stages the worker holds the model of its run, which must stay loaded.
  if (engineBusy(s)) return s.modelRunId === run.id;
  return s.modelRunId === run.id || run.checkpointStep !== null;
}

/** The evaluation status line's name for decode settings: the method's knob and the temperature ("τ = 0.5, T = 0.6"). */
export function describeDecode(d: DecodeConfig): string {
  return decodeSettingText(seriesFor(d.intervention), d);
}

type Engine = Pick<EngineClient, 'ready' | 'ensureModel' | 'evaluate' | 'evaluateSuitesInTurn'>;

export class EvalQueue {
  private settleTimer: ReturnType<typeof setTimeout> | null = null;
  private settlePending = false;
  private sweepJobs: EvalJob[] = [];
  private pumping: Promise<void> | null = null;
  private loadRequest: string | null = null;

  constructor(
    private readonly state: StateHandle,
    private readonly engine: Engine,
    private readonly persistence: Pick<Persistence, 'saveRunNow' | 'available'>,
    private readonly settleMs = SETTLE_MS,
  ) {}

  /** Evaluates the edited decode settings once they have not changed for `settleMs` (when valid and possible). */
  scheduleSettled(): void {
    if (this.settleTimer !== null) clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => {
      this.settleTimer = null;
      const s = this.state.getState();
      const run = evalTarget(s);
      if (!run || !canEvaluate(s, run)) return;
      if (!decodeConfigSchema.safeParse(s.config.decode).success) return;
      if (!evalConfigSchema.safeParse(s.config.eval).success) return;
      this.settlePending = true;
      this.syncStatus();
      void this.pump();
    }, this.settleMs);
  }

  /** Evaluates the edited decode settings now (replacing a settled change still waiting). */
  evaluateNow(): void {
    if (this.settleTimer !== null) clearTimeout(this.settleTimer);
    this.settleTimer = null;
    const s = this.state.getState();
    const run = evalTarget(s);
    if (!run || !canEvaluate(s, run)) return;
    this.settlePending = true;
    this.syncStatus();
    void this.pump();
  }

  /** Queues one evaluation per value of the method's sweep. */
  sweep(series: SeriesId): void {
    const { values, knob } = SWEEPS[series];
    this.enqueue((decode) =>
      values.map((v, i) => ({
        decode: applySweepValue(series, decode, v),
        label: `${series} sweep ${i + 1}/${values.length}: ${knob} = ${v}`,
      })),
    );
  }

  /** Queues the edited decode settings once per TLDR level (prompts tagged short, medium, long). */
  sweepLevels(): void {
    const levels = ['short', 'medium', 'long'] as const;
    this.enqueue((decode) =>
      levels.map((lengthTag, i) => ({
        decode,
        label: `levels sweep ${i + 1}/${levels.length}: <${lengthTag}>`,
        lengthTag,
      })),
    );
  }

  private enqueue(jobs: (decode: DecodeConfig) => Omit<EvalJob, 'runId'>[]): void {
    const s = this.state.getState();
    const run = evalTarget(s);
    if (!run || !canEvaluate(s, run)) return;
    for (const job of jobs(s.config.decode)) this.sweepJobs.push({ runId: run.id, ...job });
    this.syncStatus();
    void this.pump();
  }

  /** Loads the selected run's weights (ahead of waiting evaluations) when the worker is free and they are saved. */
  requestLoad(runId: string): void {
    const s = this.state.getState();
    const free = !isActive(s.session) && !engineBusy(s);
    if (free && s.modelRunId !== runId && s.runs[runId]?.checkpointStep != null && this.persistence.available) {
      this.loadRequest = runId;
      void this.pump();
    }
  }

  /** Drops every waiting evaluation and waits for the one in flight. */
  async drain(): Promise<void> {
    if (this.settleTimer !== null) clearTimeout(this.settleTimer);
    this.settleTimer = null;
    this.settlePending = false;
    this.sweepJobs = [];
    this.loadRequest = null;
    this.syncStatus();
    if (this.pumping) await this.pumping;
  }

  /**
   * Evaluates a saved run's weights on every suite of its task (`suiteSize` problems each), saving each suite's result
   * with the run as it arrives; ends after the suite in progress once `suitesEval.cancelRequested` is set.
   */
  async evaluateRunSuites(runId: string, suiteSize: number): Promise<void> {
    const s = this.state.getState();
    const run = s.runs[runId];
    if (!run || s.engine === null) return;
    if (isActive(s.session) || engineBusy(s)) {
      this.state.setState({ error: 'Suites can be evaluated when no run trains and the lab queue is idle.' });
      return;
    }
    const sizeIssue = suiteSizeIssue(suiteSize);
    if (sizeIssue !== null) {
      this.state.setState({ error: `Problems per suite: ${sizeIssue}` });
      return;
    }
    this.state.setState({
      suitesEval: { runId, message: `loading the weights of '${run.name}'`, cancelRequested: false },
    });
    try {
      await this.drain();
      await this.loadModel(runId);
      this.syncStatus({ loading: false, label: null }); // the weights are in; the suites' progress shows from here
      const config: RunConfig = { ...run.config, eval: { ...run.config.eval, size: suiteSize } };
      const progress = (message: string) =>
        this.state.setState((st) => (st.suitesEval ? { suitesEval: { ...st.suitesEval, message } } : {}));
      const stop = () => this.state.getState().suitesEval?.cancelRequested === true;
      await this.engine.evaluateSuitesInTurn(runId, config, progress, stop);
    } catch (e) {
      this.state.setState({ error: `Suite evaluation of '${run.name}' failed: ${message(e)}` });
    } finally {
      this.state.setState({ suitesEval: null });
    }
  }

  private loadModel(runId: string): Promise<void> {
    return this.engine.ensureModel(runId, (label) => this.syncStatus({ loading: true, label }));
  }

  private syncStatus(extra: Partial<EvaluationStatus> = {}): void {
    const queued = this.sweepJobs.length + (this.settlePending ? 1 : 0);
    this.state.setState((s) => ({ evaluation: { ...s.evaluation, queued, ...extra } }));
  }

  private nextJob(): EvalJob | null {
    const s = this.state.getState();
    if (this.settlePending) {
      this.settlePending = false;
      const run = evalTarget(s);
      if (run && canEvaluate(s, run)) {
        return { runId: run.id, decode: s.config.decode, label: describeDecode(s.config.decode) };
      }
    }
    return this.sweepJobs.shift() ?? null;
  }

  /** Works through the load request and the jobs, one at a time; one loop at a time. */
  private pump(): Promise<void> {
    if (this.pumping) return this.pumping;
    this.pumping = (async () => {
      await this.engine.ready;
      try {
        for (;;) {
          if (this.loadRequest !== null) {
            const id = this.loadRequest;
            this.loadRequest = null;
            const now = this.state.getState();
            if (!isActive(now.session) && !engineBusy(now)) {
              try {
                await this.loadModel(id);
              } catch (e) {
                this.state.setState({ error: `Could not load the run's weights: ${message(e)}` });
              }
            }
            continue;
          }
          const job = this.nextJob();
          if (job === null) break;
          await this.run(job);
        }
      } finally {
        this.pumping = null;
        this.syncStatus({ busy: false, loading: false, label: null });
      }
    })();
    return this.pumping;
  }

  private async run(job: EvalJob): Promise<void> {
    this.syncStatus({ busy: true, loading: false, label: job.label });
    try {
      await this.loadModel(job.runId);
      this.syncStatus({ busy: true, loading: false, label: job.label });
      const s = this.state.getState();
      const run = s.runs[job.runId];
      if (!run) return;
      const evalCfg = evalConfigFor(run, s.config.eval);
      const point = await this.engine.evaluate(
        job.decode,
        job.lengthTag === undefined ? evalCfg : { ...evalCfg, lengthTag: job.lengthTag },
      );
      const added = updateRun(this.state, job.runId, (r) => ({
        ...r,
        evalPoints: [...r.evalPoints, point],
        updatedAt: Date.now(),
      }));
      if (added) this.persistence.saveRunNow(job.runId);
    } catch (e) {
      this.sweepJobs = [];
      this.state.setState({ error: `Evaluation failed: ${message(e)}` });
    }
  }
}
