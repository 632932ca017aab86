/**
 * The oracle stopping frontier of a run, computed from the playground (src/train/oracle.ts, through the worker's
 * computeOracle): loads the run's weights when the worker does not hold them, computes the frontier on the evaluation
 * set of the decode panel's settings with `problems` problems, shows its progress in the state (`oracleJob`), cancels
 * between batches, and saves the result as the run's `oracle`, so the accuracy chart draws it, IndexedDB keeps it and
 * run files carry it. Like a suite evaluation, it holds the worker's model while it runs (engineBusy).
 */
import type { RunRecord } from '../runs/run_record';
import type { OracleRequest } from '../worker/api';
import type { EngineClient } from './engine_client';
import { evalConfigFor } from './eval_queue';
import type { Persistence } from './persistence';
import { engineBusy, isActive, message, type PlaygroundData, type StateHandle, updateRun } from './playground_state';

/** What the playground's oracle form sets (candidates are every thinking token; the step-boundary oracle is beside). */
export interface OracleSettings {
  /** Problems of the evaluation set (the decode panel's variant and seed). */
  problems: number;
  /** Answer tokens generated after each forced `</think>`. */
  answerTokens: number;
  /** The own traces: greedy, or sampled at this temperature. */
  trace: 'greedy' | { temperature: number };
}

export const DEFAULT_ORACLE_SETTINGS: OracleSettings = { problems: 64, answerTokens: 16, trace: 'greedy' };

/** Most problems the form accepts (a run file keeps at most 4096 oracle problems). */
export const MAX_ORACLE_PROBLEMS = 4096;

/** What is wrong with `settings`, in words; null when they are valid. */
export function oracleSettingsIssue(settings: OracleSettings): string | null {
  const { problems, answerTokens, trace } = settings;
  if (!Number.isInteger(problems) || problems < 1 || problems > MAX_ORACLE_PROBLEMS) {
    return `Problems must be a whole number from 1 to ${MAX_ORACLE_PROBLEMS}.`;
  }
  if (!Number.isInteger(answerTokens) || answerTokens < 1 || answerTokens > 1024) {
    return 'Answer tokens must be a whole number from 1 to 1024.';
  }
  if (trace !== 'greedy' && !(trace.temperature > 0 && trace.temperature <= 10)) {
    return 'The trace temperature must be above 0 and at most 10.';
  }
  return null;
}

/** Why the frontier of `run` cannot be computed now (the button's stated reason); null when it can. */
export function oracleBlocker(s: PlaygroundData, run: RunRecord | null | undefined): string | null {
  if (s.engine === null) return 'The engine is not ready.';
  if (!run) return 'No run: train one, or import a run file with weights.';
  if (s.oracleJob !== null) return 'An oracle frontier is being computed.';
  if (isActive(s.session)) return 'A run is training: wait for it to finish, or stop it.';
  if (engineBusy(s)) return 'The lab queue or a suite evaluation is running.';
  if (s.evaluation.busy || s.evaluation.loading || s.evaluation.queued > 0) return 'An evaluation is running.';
  if (s.modelRunId !== run.id && run.checkpointStep === null) {
    return 'This run has no trained weights: train it, or import a run file with weights.';
  }
  return null;
}

/** How a `compute` call ended. */
export type OracleOutcome = 'saved' | 'cancelled' | 'failed' | 'refused';

type Engine = Pick<EngineClient, 'ready' | 'ensureModel' | 'computeOracle' | 'cancelOracle'>;

export class OracleRunner {
  constructor(
    private readonly state: StateHandle,
    private readonly engine: Engine,
    private readonly persistence: Pick<Persistence, 'saveRunNow'>,
  ) {}

  /**
   * Computes the frontier of run `runId`'s weights with `settings` and saves it with the run (replacing an earlier
   * one). Refused, with the reason in the error box, when oracleBlocker names one or the settings are invalid.
   */
  async compute(runId: string, settings: OracleSettings): Promise<OracleOutcome> {
    const s = this.state.getState();
    const run = s.runs[runId];
    const blocker = oracleBlocker(s, run) ?? oracleSettingsIssue(settings);
    if (blocker !== null || !run) {
      this.state.setState({ error: `Oracle frontier: ${blocker ?? 'no such run.'}` });
      return 'refused';
    }
    this.state.setState({ oracleJob: { runId, rowsDone: 0, rowsTotal: 0, cancelRequested: false } });
    try {
      await this.engine.ready;
      await this.engine.ensureModel(runId, () => {});
      if (this.cancelRequested()) return 'cancelled';
      const now = this.state.getState();
      const request: OracleRequest = {
        evalConfig: { ...evalConfigFor(run, now.config.eval), size: settings.problems },
        answerTokens: settings.answerTokens,
        trace: settings.trace,
        maxNewTokens: now.config.decode.maxNewTokens,
      };
      const result = await this.engine.computeOracle(request, (rowsDone, rowsTotal) =>
        this.state.setState((st) =>
          st.oracleJob?.runId === runId ? { oracleJob: { ...st.oracleJob, rowsDone, rowsTotal } } : {},
        ),
      );
      const saved = updateRun(this.state, runId, (r) => ({
        ...r,
        // The weights' stage on the run's timeline: after its RL stage began, they are RL weights.
        oracle: { ...result, stage: r.rlStartStep != null && result.step > r.rlStartStep ? 'rl' : 'sft' },
        updatedAt: Date.now(),
      }));
      if (saved) this.persistence.saveRunNow(runId);
      return 'saved';
    } catch (e) {
      if (this.cancelRequested()) return 'cancelled';
      this.state.setState({ error: `Oracle frontier of '${run.name}' failed: ${message(e)}` });
      return 'failed';
    } finally {
      this.state.setState({ oracleJob: null });
    }
  }

  /** Ends the computation in progress after its batch in progress (nothing is saved). */
  cancel(): void {
    const job = this.state.getState().oracleJob;
    if (job === null || job.cancelRequested) return;
    this.state.setState({ oracleJob: { ...job, cancelRequested: true } });
    this.engine.cancelOracle().catch((e: unknown) => this.state.setState({ error: `Cancel failed: ${message(e)}` }));
  }

  private cancelRequested(): boolean {
    return this.state.getState().oracleJob?.cancelRequested === true;
  }
}
