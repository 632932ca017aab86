/**
 * LabRunner (src/state/lab_runner.ts) with the engine client over a fake engine worker (StoptimeWorkerApi) and the
 * runs database on fake-indexeddb: queued methods trained and evaluated one at a time (SFT, the RL stage from the SFT
 * checkpoint, every suite), a failed item not stopping the queue, cancel, and the refusal while another run trains.
 */
import { describe, expect, it } from 'vitest';
import { EngineClient } from '../../src/state/engine_client';
import { labBusy } from '../../src/state/lab_queue';
import { LabRunner } from '../../src/state/lab_runner';
import { labConfig } from '../../src/train/lab_presets';
import { FakeEngine, makeRun, openedPersistence, suitesOf, testState, until } from './fakes';

async function setUp() {
  const state = testState();
  const { persistence, db } = await openedPersistence(state);
  const fake = new FakeEngine();
  const engine = new EngineClient(state, fake, persistence, async () => {}, 10);
  await engine.start();
  const lab = new LabRunner(state, engine);
  return { state, persistence, db, fake, engine, lab };
}

/** Ends every session the queue starts with `end` (one step each) until the queue is idle. */
async function driveUntilIdle(
  state: ReturnType<typeof testState>,
  fake: FakeEngine,
  end: (fake: FakeEngine, sessions: number) => void = (f) => f.finish(1),
): Promise<void> {
  let sessions = 0;
  while (labBusy(state.getState().lab)) {
    await until(() => fake.training || !labBusy(state.getState().lab));
    if (!fake.training) break;
    fake.trainSteps(1, 1);
    end(fake, sessions);
    sessions += 1;
    await until(() => !fake.training);
  }
}

describe('LabRunner', () => {
  it('trains, runs the RL stage and evaluates every suite of each queued method, one at a time', async () => {
    const { state, persistence, db, fake, lab } = await setUp();
    lab.queue('sokoban', ['answer', 'grpo'], 'smoke', { suiteSize: 4 });
    expect(labBusy(state.getState().lab)).toBe(true);
    await driveUntilIdle(state, fake);
    const { items } = state.getState().lab;
    expect(items.map((i) => [i.method, i.status, i.message])).toEqual([
      ['answer', 'done', null],
      ['grpo', 'done', null],
    ]);
    expect(fake.calls.filter((c) => c === 'train' || c === 'trainRl')).toEqual(['train', 'train', 'trainRl']);
    const suites = suitesOf(labConfig('sokoban', 'answer', 'smoke'));
    for (const item of items) {
      const run = state.getState().runs[item.runId!]!;
      expect(run.name).toBe(item.label);
      expect(run.suiteResults?.map((r) => r.suite)).toEqual(suites);
      expect(run.suiteResults?.every((r) => r.problems === 4)).toBe(true);
    }
    const rlRun = state.getState().runs[items[1]!.runId!]!;
    expect(rlRun).toMatchObject({ rlStartStep: 1, stepsDone: 2, status: 'finished' });
    await persistence.settled();
    expect((await db.getRun(rlRun.id))?.suiteResults).toHaveLength(suites.length);
  });

  it('marks a failed item with its reason and goes on with the next', async () => {
    const { state, fake, lab } = await setUp();
    lab.queue('sokoban', ['answer', 'diverse_answer'], 'smoke', { suiteSize: 4 });
    await driveUntilIdle(state, fake, (f, n) => (n === 0 ? f.fail('device lost') : f.finish(1)));
    expect(state.getState().lab.items.map((i) => [i.status, i.message])).toEqual([
      ['failed', 'SFT: device lost'],
      ['done', null],
    ]);
  });

  it("cancel stops the current item's run and drops the queued ones", async () => {
    const { state, fake, lab } = await setUp();
    lab.queue('sokoban', ['answer', 'diverse_answer'], 'smoke', { suiteSize: 4 });
    await until(() => fake.training);
    fake.trainSteps(1, 1);
    await lab.cancel();
    await until(() => !labBusy(state.getState().lab));
    expect(state.getState().lab.items.map((i) => [i.status, i.message])).toEqual([
      ['cancelled', 'cancelled during SFT at step 1'],
      ['cancelled', expect.any(String)],
    ]);
    expect(fake.calls.filter((c) => c === 'train')).toHaveLength(1);
  });

  it('refuses to queue while a run outside the queue trains, and bad requests', async () => {
    const { state, lab } = await setUp();
    state.setState({
      runs: { r: makeRun('r') },
      session: { runId: 'r', kind: 'sft', state: 'running', step: 1, totalSteps: 5, message: null },
    });
    lab.queue('sokoban', ['answer'], 'smoke');
    expect(state.getState().error).toBe(
      'Lab queue: a run is training; stop it or let it finish before queueing lab methods.',
    );
    lab.queue('sokoban', [], 'smoke');
    expect(state.getState().error).toMatch(/^Lab queue: /);
    expect(state.getState().lab.items).toHaveLength(0);
  });
});
