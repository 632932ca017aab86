/**
 * The training session's events on their way into the state: each event's step moved onto the run's timeline (an RL
 * stage's steps continue after its offset), stamped with the session's training clock (paused time excluded, continuing
 * from the run's earlier time when resumed), buffered, and applied at most every `flushIntervalMs` in one state update,
 * so a fast training loop cannot flood the main thread. Checkpoints skip the buffer and are saved at once.
 */
import type { TrainingState, WorkerEvent } from '../worker/api';
import type { Persistence } from './persistence';
import { runStatusFor, type StateHandle } from './playground_state';

/** Worker events are applied to the store at most this often. */
export const FLUSH_INTERVAL_MS = 200;

interface Buffered {
  event: Exclude<WorkerEvent, { type: 'checkpoint' }>;
  elapsedMs: number;
}

export class SessionEvents {
  private buffer: Buffered[] = [];
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  /** Added to the steps of the session's events: 0 for SFT; for an RL stage the step it started from. */
  private stepOffset = 0;
  /** Training time of the session (paused time excluded), continuing from the run's earlier time when resumed. */
  private clock = { baseMs: 0, startedAt: 0, pausedAt: null as number | null, pausedMs: 0 };

  constructor(
    private readonly state: StateHandle,
    private readonly persistence: Pick<Persistence, 'saveRunNow' | 'saveRunSoon' | 'saveCheckpoint'>,
    private readonly flushIntervalMs = FLUSH_INTERVAL_MS,
  ) {}

  /** Drops what is buffered and sets the step offset of a new session. */
  begin(stepOffset: number): void {
    this.buffer = [];
    this.stepOffset = stepOffset;
  }

  /** Starts the training clock at `baseMs` (the run's earlier training time). */
  startClock(baseMs: number): void {
    this.clock = { baseMs, startedAt: performance.now(), pausedAt: null, pausedMs: 0 };
  }

  /** Training time now, in ms. */
  elapsedMs(now = performance.now()): number {
    const c = this.clock;
    const paused = c.pausedMs + (c.pausedAt !== null ? now - c.pausedAt : 0);
    return c.baseMs + now - c.startedAt - paused;
  }

  /** An event of run `runId`'s session (ignored when that is no longer the session). */
  onEvent(runId: string, raw: WorkerEvent): void {
    if (this.state.getState().session?.runId !== runId) return;
    const event = { ...raw, step: raw.step + this.stepOffset };
    if (event.type === 'checkpoint') {
      this.flush();
      this.persistence.saveCheckpoint(runId, event.step, event.state);
      return;
    }
    const now = performance.now();
    if (event.type === 'status') {
      const c = this.clock;
      if (event.state === 'paused' && c.pausedAt === null) c.pausedAt = now;
      if (event.state !== 'paused' && c.pausedAt !== null) {
        c.pausedMs += now - c.pausedAt;
        c.pausedAt = null;
      }
    }
    this.buffer.push({ event, elapsedMs: this.elapsedMs(now) });
    if (this.flushTimer === null) this.flushTimer = setTimeout(() => this.flush(), this.flushIntervalMs);
  }

  /** Applies the buffered events in one state update and queues the run's save. */
  flush(): void {
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (this.buffer.length === 0) return;
    const events = this.buffer;
    this.buffer = [];
    const s = this.state.getState();
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
    this.state.setState({
      runs: { ...s.runs, [run.id]: { ...run, timeline, samples, status, stepsDone, updatedAt: Date.now() } },
      session: { ...session, state, step, message: note },
      live,
      rollouts,
      ...(error !== null ? { error } : {}),
    });
    if (statusChanged) this.persistence.saveRunNow(run.id);
    else this.persistence.saveRunSoon(run.id);
  }

  /**
   * After pause()/resume() settle, the session is in the new state even if its status event is still in flight: apply
   * it now (through the same path as the worker's events) unless an event already moved the session elsewhere.
   */
  confirmState(from: TrainingState, to: TrainingState): void {
    this.flush();
    const session = this.state.getState().session;
    if (session?.state !== from) return;
    // The event's step goes through the session's offset again: hand it the worker's own step.
    this.onEvent(session.runId, { type: 'status', state: to, step: session.step - this.stepOffset, message: null });
    this.flush();
  }
}
