/**
 * The lab runner: works through the lab queue (lab_queue.ts, its state and transitions) one item at a time, each
 * through the same session path as Start and Start RL (engine_client.ts): a run named after the method, SFT, the RL
 * stage from the SFT checkpoint when the method's config has `rl`, then every evaluation suite of the task, saved as
 * the run's `suiteResults`. A failed item is marked with its reason and the queue goes on.
 */
import { type LabMethodId, type LabScale, type LabTask, labConfig } from '../train/lab_presets';
import { runConfigIssues } from '../train/run_config';
import type { EngineClient, PreparedRlStage, SessionOutcome } from './engine_client';
import {
  currentLabItem,
  type LabAction,
  type LabEndStatus,
  type LabItem,
  labBusy,
  labItemSpecs,
  labQueueIssues,
  labQueueReducer,
} from './lab_queue';
import { isActive, message, newRunRecord, type StateHandle, uniqueName } from './playground_state';

interface LabOutcome {
  status: LabEndStatus;
  message: string | null;
}

type Engine = Pick<
  EngineClient,
  'runSession' | 'prepareRlStage' | 'runRlStage' | 'evaluateSuitesInTurn' | 'stopSession'
>;

export class LabRunner {
  /** True while `run` works through the queue (it ends once no item waits). */
  private running = false;

  constructor(
    private readonly state: StateHandle,
    private readonly engine: Engine,
  ) {}

  /**
   * Queues `methods` of the lab's `task` at `scale`, each evaluated on `suiteSize` problems per suite (default: the
   * preset's evaluation size), and works through the queue. Refused (with an error) while a run outside the queue is
   * training.
   */
  queue(task: LabTask, methods: readonly LabMethodId[], scale: LabScale, options?: { suiteSize?: number }): void {
    const s = this.state.getState();
    // Every method of a task shares the preset's evaluation settings.
    const suiteSize = options?.suiteSize ?? labConfig(task, 'answer', scale).eval.size;
    const issues = labQueueIssues(task, methods, suiteSize);
    if (issues.length > 0) {
      this.state.setState({ error: `Lab queue: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}` });
      return;
    }
    if (s.engine === null) {
      this.state.setState({ error: 'Lab queue: the engine is not ready yet.' });
      return;
    }
    if (isActive(s.session) && !labBusy(s.lab)) {
      this.state.setState({
        error: 'Lab queue: a run is training; stop it or let it finish before queueing lab methods.',
      });
      return;
    }
    this.dispatch({ type: 'enqueue', specs: labItemSpecs(task, methods, scale, suiteSize) });
    void this.run();
  }

  /** Stops the current item's run (as Stop does) and cancels the queued ones. */
  async cancel(): Promise<void> {
    if (!labBusy(this.state.getState().lab)) return;
    this.dispatch({ type: 'cancel' });
    const s = this.state.getState();
    const item = currentLabItem(s.lab);
    if (item !== null && isActive(s.session) && s.session.runId === item.runId) await this.engine.stopSession();
  }

  private dispatch(action: LabAction): void {
    this.state.setState((s) => ({ lab: labQueueReducer(s.lab, action) }));
  }

  private cancelRequested(): boolean {
    return this.state.getState().lab.cancelRequested;
  }

  /** Works through the queued items one at a time until none waits; one loop at a time. */
  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (;;) {
        this.dispatch({ type: 'begin' });
        const item = currentLabItem(this.state.getState().lab);
        if (item === null) return;
        let outcome: LabOutcome;
        try {
          outcome = await this.runItem(item);
        } catch (e) {
          outcome = { status: 'failed', message: message(e) };
        }
        this.dispatch({ type: 'finish', ...outcome });
      }
    } finally {
      this.running = false;
    }
  }

  /** The outcome of an item whose `stage` session ended without finishing. */
  private unfinished(stage: 'SFT' | 'RL', outcome: SessionOutcome): LabOutcome {
    if (outcome.state === 'stopped') {
      const cancelled = this.cancelRequested();
      return {
        status: 'cancelled',
        message: `${cancelled ? 'cancelled' : 'stopped'} during ${stage} at step ${outcome.step}`,
      };
    }
    return { status: 'failed', message: `${stage}: ${outcome.message ?? `ended in state '${outcome.state}'`}` };
  }

  /** Trains, then evaluates, the current item (the caller ends it with the outcome). */
  private async runItem(item: LabItem): Promise<LabOutcome> {
    const cancelled = (after: string): LabOutcome | null =>
      this.cancelRequested() ? { status: 'cancelled', message: `cancelled after ${after}` } : null;
    const s = this.state.getState();
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
    this.dispatch({ type: 'run', runId: run.id });
    const sft = await this.engine.runSession(run);
    if (sft.state !== 'finished') return this.unfinished('SFT', sft);
    if (item.config.rl) {
      const early = cancelled('SFT');
      if (early) return early;
      this.dispatch({ type: 'stage', status: 'rl' });
      const trained = this.state.getState().runs[run.id];
      if (!trained) return { status: 'failed', message: 'the run was deleted' };
      let prepared: PreparedRlStage;
      try {
        // The method's own RL settings (its config's `rl`), not the RL panel's.
        prepared = await this.engine.prepareRlStage(trained, undefined);
      } catch (e) {
        return { status: 'failed', message: `RL: ${message(e)}` };
      }
      const late = cancelled('SFT');
      if (late) return late;
      const rl = await this.engine.runRlStage(prepared);
      if (rl.state !== 'finished') return this.unfinished('RL', rl);
    }
    const early = cancelled(item.config.rl ? 'RL' : 'SFT');
    if (early) return early;
    this.dispatch({ type: 'stage', status: 'evaluating' });
    // The session just ended holds the trained model; nothing loads another while the queue is busy.
    if (this.state.getState().modelRunId !== run.id) {
      return { status: 'failed', message: "the run's model is not loaded" };
    }
    try {
      const { done, total } = await this.engine.evaluateSuitesInTurn(
        run.id,
        item.config,
        (message) => this.dispatch({ type: 'progress', message }),
        () => this.cancelRequested(),
      );
      if (done < total) return { status: 'cancelled', message: `cancelled after ${done} of ${total} suites (kept)` };
    } catch (e) {
      return { status: 'failed', message: `suite evaluation: ${message(e)}` };
    }
    return { status: 'done', message: null };
  }
}
