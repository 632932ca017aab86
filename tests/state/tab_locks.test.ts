/**
 * One tab trains at a time (src/state/tab_locks.ts): two tabs share one lock manager (an in-memory fake of
 * navigator.locks); the second is refused while the first trains, and a run the first trains opens as running, not
 * interrupted, in the second.
 */
import { describe, expect, it } from 'vitest';
import { EngineClient } from '../../src/state/engine_client';
import { Persistence } from '../../src/state/persistence';
import { newRunRecord } from '../../src/state/playground_state';
import { type LockManagerLike, NO_LOCKS, TRAINING_LOCK, webLocks } from '../../src/state/tab_locks';
import { FakeEngine, freshDb, makeRun, openedPersistence, TINY, testState, until } from './fakes';

/** Exclusive locks by name, shared by the "tabs" of a test. */
class FakeLockManager implements LockManagerLike {
  readonly held = new Set<string>();
  async request(name: string, options: { ifAvailable?: boolean }, callback: (lock: unknown) => Promise<void>) {
    if (this.held.has(name)) {
      if (options.ifAvailable) return callback(null);
      throw new Error(`the fake waits for no lock (${name} is held)`);
    }
    this.held.add(name);
    try {
      await callback({ name });
    } finally {
      this.held.delete(name);
    }
  }
  async query() {
    return { held: [...this.held].map((name) => ({ name })) };
  }
}

describe('tab locks', () => {
  it('grants the training lock to one tab at a time and names the run it trains', async () => {
    const manager = new FakeLockManager();
    const [tabA, tabB] = [webLocks(manager), webLocks(manager)];
    const release = await tabA.holdTraining('run-1');
    expect(release).not.toBeNull();
    expect(manager.held).toEqual(new Set([TRAINING_LOCK, 'stoptime-run:run-1']));
    expect(await tabB.holdTraining('run-2')).toBeNull();
    expect(await tabB.runsTraining()).toEqual(new Set(['run-1']));
    release!();
    await until(() => manager.held.size === 0);
    const again = await tabB.holdTraining('run-2');
    expect(again).not.toBeNull();
    again!();
    // Without Web Locks every request is granted and nothing trains elsewhere.
    expect(await NO_LOCKS.holdTraining('x')).not.toBeNull();
    expect(await webLocks(undefined).runsTraining()).toEqual(new Set());
  });

  it('a second tab is refused Start while the first trains, with the reason', async () => {
    const manager = new FakeLockManager();
    const other = await webLocks(manager).holdTraining('elsewhere');
    const state = testState();
    const { persistence } = await openedPersistence(state);
    const fake = new FakeEngine();
    const engine = new EngineClient(state, fake, persistence, async () => {}, 10, webLocks(manager));
    await engine.start();
    const outcome = await engine.runSession(newRunRecord(TINY, 'second tab', 'fake adapter'));
    expect(outcome.state).toBe('error');
    expect(state.getState().error).toMatch(/Another tab is training/);
    expect(state.getState().session).toBeNull();
    expect(fake.calls).not.toContain('train');
    other!();
    await until(() => manager.held.size === 0);
    // Free again: this tab trains, holding the lock until the session ends.
    const done = engine.runSession(newRunRecord(TINY, 'now', 'fake adapter'));
    await until(() => fake.training);
    expect(manager.held.has(TRAINING_LOCK)).toBe(true);
    fake.finish();
    await done;
    await until(() => manager.held.size === 0);
  });

  it('opens a run another tab trains as running, not interrupted', async () => {
    const db = await freshDb();
    await db.putRun(makeRun('elsewhere', { createdAt: 2, status: 'running', stepsDone: 3 }));
    await db.putRun(makeRun('crashed', { createdAt: 1, status: 'running', stepsDone: 5 }));
    const state = testState();
    await new Persistence(state, async () => db).open(new Set(['elsewhere']));
    const s = state.getState();
    expect(s.runs.elsewhere?.status).toBe('running');
    expect(s.runs.crashed?.status).toBe('interrupted');
    expect(s.interrupted?.runId).toBe('crashed');
    expect((await db.getRun('elsewhere'))?.status).toBe('running');
  });
});
