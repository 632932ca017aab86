/**
 * Pause and stop land at the next step boundary: steps queued ahead run to their end (a step on the device cannot be
 * taken back), so the session queues ahead only once steps are measured fast. On the CPU backend (steps queued in the
 * trainer, run one after another) `queueAheadBelowMs` picks the case: 0 = every step counts as slow (SwiftShader),
 * Infinity = every step counts as fast (a GPU).
 */
import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../src/train/backend_cpu';
import { METRIC } from '../../src/train/metrics';
import type { SessionEvent } from '../../src/train/session';
import { SftSession } from '../../src/train/sft';
import { tinyOneDigitRun } from '../helpers/tiny_run';

// One-digit arithmetic on the tiny model, batch 2: quick on the CPU backend. No periodic samples or checkpoints
// before step 10, so only the stop decides when the loop waits.
const config = tinyOneDigitRun(3, { steps: 20, evalLossEverySteps: 0, samplesEverySteps: 10 });

/** Runs until the metrics of step `at` arrive, then calls `act` (stop or pause) from inside that event. */
async function runAndAct(queueAheadBelowMs: number, at: number, act: 'stop' | 'pause') {
  const events: SessionEvent[] = [];
  let session: SftSession | null = null;
  session = new SftSession(
    createCpuBackend(),
    config,
    (e) => {
      events.push(e);
      if (e.type === 'metrics' && METRIC.trainLoss in e.values && e.step === at) session![act]();
    },
    undefined,
    { maxInFlight: 4, queueAheadBelowMs, logWindowMs: 0, decodeRows: 2 },
  );
  return { session, events, run: session.run() };
}

describe('stop and pause within one step', () => {
  it('slow steps: one step at a time, so a stop lands at the step that was running; no closing samples', async () => {
    const { session, events, run } = await runAndAct(0, 2, 'stop');
    const summary = await run;
    expect(summary).toEqual({ state: 'stopped', steps: 2 });
    // Only the checkpoint to continue from is written after a stop; the closing samples are left out.
    const after = events.slice(events.findIndex((e) => e.type === 'metrics' && e.step === 2));
    expect(after.some((e) => e.type === 'samples')).toBe(false);
    expect(after.filter((e) => e.type === 'checkpoint').map((e) => e.step)).toEqual([2]);
    expect(events[events.length - 1]).toMatchObject({ type: 'status', state: 'stopped', step: 2 });
    await session.destroy();
  });

  it('slow steps: a pause holds at the step that was running', async () => {
    const { session, events, run } = await runAndAct(0, 3, 'pause');
    const deadline = Date.now() + 30_000;
    while (session.status !== 'paused' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(session.status).toBe('paused');
    expect(session.step).toBe(3);
    expect(events.filter((e) => e.type === 'status').map((e) => e.state)).toEqual(['running', 'paused']);
    session.stop();
    expect(await run).toEqual({ state: 'stopped', steps: 3 });
    await session.destroy();
  });

  it('fast steps: steps are queued ahead (maxInFlight 4) and the queued ones still run after a stop', async () => {
    // The first step is never queued ahead of (its time is not known yet); from then on 4 are in flight, so the stop
    // asked for at step 2 lands after step 5 = 2 + (4 − 1).
    const { session, run } = await runAndAct(Number.POSITIVE_INFINITY, 2, 'stop');
    expect(await run).toEqual({ state: 'stopped', steps: 5 });
    await session.destroy();
  });
});
