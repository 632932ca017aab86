/**
 * Persistence (src/state/persistence.ts) on a real IndexedDB implementation (fake-indexeddb): loading runs at open,
 * the throttled write chain, checkpoints at timeline steps, RL reference weights, delete / undo and import / export.
 */
import { describe, expect, it } from 'vitest';
import { Persistence, type RunsDbClient } from '../../src/state/persistence';
import { DEFAULT_RL_CONFIG, type RunConfig } from '../../src/train/run_config';
import { freshDb, makeRun, openedPersistence, TINY, testState, tick, weights } from './fakes';

/** `db` with putRun counted (and failing while `failPuts` is set). */
function counted(db: RunsDbClient) {
  const counter = { puts: 0, failPuts: false };
  const wrapped: RunsDbClient = {
    ...db,
    listRuns: () => db.listRuns(),
    getRun: (id) => db.getRun(id),
    putRun: async (run) => {
      counter.puts += 1;
      if (counter.failPuts) throw Object.assign(new Error('disk full'), { name: 'QuotaExceededError' });
      await db.putRun(run);
    },
    saveCheckpoint: (run, state) => db.saveCheckpoint(run, state),
    getCheckpoint: (id) => db.getCheckpoint(id),
    saveRlReference: (run, ref) => db.saveRlReference(run, ref),
    getRlReference: (id) => db.getRlReference(id),
    deleteRun: (id) => db.deleteRun(id),
    restoreRun: (d) => db.restoreRun(d),
    importRun: (run, state) => db.importRun(run, state),
  };
  return { counter, wrapped };
}

describe('Persistence', () => {
  it('loads the stored runs at open; runs stored as training become interrupted, the newest offered to resume', async () => {
    const db = await freshDb();
    await db.putRun(makeRun('a', { createdAt: 1, status: 'finished' }));
    await db.putRun(makeRun('b', { createdAt: 2, status: 'running', stepsDone: 7 }));
    await db.putRun(makeRun('c', { createdAt: 3, status: 'paused', stepsDone: 9 }));
    const state = testState();
    await new Persistence(state, async () => db).open();
    const s = state.getState();
    expect(s.runOrder).toEqual(['c', 'b', 'a']);
    expect(s.activeRunId).toBe('c');
    expect(s.runs.b?.status).toBe('interrupted');
    expect(s.interrupted).toMatchObject({ runId: 'c', step: 9, checkpointStep: null, resumes: null });
    expect((await db.getRun('b'))?.status).toBe('interrupted');
  });

  it('keeps runs in memory, saying so, when the database cannot be opened', async () => {
    const state = testState();
    const persistence = new Persistence(state, () => Promise.reject(new Error('blocked')));
    await persistence.open();
    expect(persistence.available).toBe(false);
    expect(state.getState().storageAvailable).toBe(false);
    expect(state.getState().error).toBe('Saved runs are unavailable (runs will not be kept): Storage error: blocked');
    persistence.saveRunNow('x'); // a no-op without a database
    await persistence.settled();
  });

  it('writes a training run at most once per save interval, and the latest record', async () => {
    const state = testState({ runs: { r: makeRun('r') } });
    const { counter, wrapped } = counted(await freshDb());
    const persistence = new Persistence(state, async () => wrapped, 40);
    await persistence.open();
    persistence.saveRunNow('r');
    for (let i = 1; i <= 5; i++) {
      state.setState((s) => ({ runs: { r: { ...s.runs.r!, stepsDone: i } } }));
      persistence.saveRunSoon('r');
    }
    await persistence.settled();
    expect(counter.puts).toBe(1);
    await tick(60);
    await persistence.settled();
    expect(counter.puts).toBe(2);
    expect((await wrapped.getRun('r'))?.stepsDone).toBe(5);
  });

  it('reports a failed write and goes on with the next', async () => {
    const state = testState({ runs: { r: makeRun('r'), q: makeRun('q') } });
    const { counter, wrapped } = counted(await freshDb());
    const persistence = new Persistence(state, async () => wrapped);
    await persistence.open();
    counter.failPuts = true;
    persistence.saveRunNow('r');
    await persistence.settled();
    expect(state.getState().error).toMatch(/^Could not save to the browser's storage: Browser storage is full/);
    counter.failPuts = false;
    persistence.saveRunNow('q');
    await persistence.settled();
    expect(await wrapped.getRun('q')).toBeDefined();
  });

  it('stores a checkpoint under its timeline step, with the run', async () => {
    const state = testState({ runs: { r: makeRun('r', { stepsDone: 12 }) } });
    const { persistence, db } = await openedPersistence(state);
    persistence.saveCheckpoint('r', 12, weights(TINY, 2)); // an RL stage's state counts its own 2 steps
    expect(state.getState().runs.r?.checkpointStep).toBe(12);
    await persistence.settled();
    expect((await db.getCheckpoint('r'))?.step).toBe(12);
    expect((await db.getRun('r'))?.checkpointStep).toBe(12);
    expect((await persistence.checkpoint('r'))?.params[0]).toBe(0.5);
  });

  it("keeps an RL stage's starting weights only when its loss has a KL term, and drops them when asked", async () => {
    const withKl: RunConfig = {
      ...TINY,
      rl: { ...DEFAULT_RL_CONFIG, loss: { ...DEFAULT_RL_CONFIG.loss, beta: 0.04 } },
    };
    const withoutKl: RunConfig = {
      ...TINY,
      rl: { ...DEFAULT_RL_CONFIG, loss: { ...DEFAULT_RL_CONFIG.loss, beta: 0 } },
    };
    const a = makeRun('a', { config: withKl, rlStartStep: 4 });
    const b = makeRun('b', { config: withoutKl, rlStartStep: 4 });
    const state = testState({ runs: { a, b } });
    const { persistence, db } = await openedPersistence(state);
    persistence.saveRlStart(a, weights(withKl, 4));
    persistence.saveRlStart(b, weights(withoutKl, 4));
    await persistence.settled();
    expect((await persistence.rlReference('a'))?.step).toBe(4);
    expect(await persistence.rlReference('b')).toBeUndefined();
    expect((await db.getRun('a'))?.rlStartStep).toBe(4);
    persistence.dropRlReference('a');
    await persistence.settled();
    expect(await persistence.rlReference('a')).toBeUndefined();
  });

  it('does not put a deleted run back when a save arrives after the delete; undo restores it with its weights', async () => {
    const state = testState({ runs: { r: makeRun('r', { stepsDone: 3 }) } });
    const { persistence, db } = await openedPersistence(state);
    persistence.saveCheckpoint('r', 3, weights(TINY, 3));
    await persistence.settled(); // (a save still queued when the delete begins is dropped too)
    const deleted = await persistence.deleteRun('r');
    expect(deleted?.checkpoint?.step).toBe(3);
    persistence.saveRunNow('r');
    persistence.saveCheckpoint('r', 4, weights(TINY, 4));
    await persistence.settled();
    expect(await db.getRun('r')).toBeUndefined();
    expect(persistence.isDeleted('r')).toBe(true);
    state.setState({ runs: {}, runOrder: [] });
    await persistence.restoreRun(deleted!);
    expect(persistence.isDeleted('r')).toBe(false);
    expect(state.getState().runOrder).toEqual(['r']);
    expect((await db.getCheckpoint('r'))?.step).toBe(3);
  });

  it('exports a run with its checkpoint and imports it back as a copy', async () => {
    const run = makeRun('r', { stepsDone: 3, name: 'exported' });
    const state = testState({ runs: { r: run } });
    const { persistence } = await openedPersistence(state);
    persistence.saveCheckpoint('r', 3, weights(TINY, 3, 0.125));
    const file = await persistence.exportRun(state.getState().runs.r!, false, () =>
      Promise.reject(new Error('unused')),
    );
    expect(file.safetensors).toBeNull();
    const result = await persistence.importFiles([new File([file.json], `${file.fileBaseName}.stoptime.json`)]);
    expect(result).toMatchObject({ imported: 1, error: null });
    const copy = state.getState().runs[result.lastId!]!;
    expect(copy.name).toBe('exported (imported)');
    expect((await persistence.checkpoint(copy.id))?.params[0]).toBe(0.125);
  });

  it('refuses an import of the wrong files, and reports each bad file while keeping the good ones', async () => {
    const state = testState({ runs: { r: makeRun('r') } });
    const { persistence } = await openedPersistence(state);
    const wrong = await persistence.importFiles([new File(['x'], 'notes.txt')]);
    expect(wrong.error).toMatch(/^Import: pick one or more \.stoptime\.json run files/);
    const good = await persistence.exportRun(makeRun('r'), false, () => Promise.reject(new Error('none')));
    const mixed = await persistence.importFiles([
      new File([good.json], 'good.stoptime.json'),
      new File(['{"not":"a run"}'], 'bad.stoptime.json'),
    ]);
    expect(mixed.imported).toBe(1);
    expect(mixed.error).toMatch(/^Import: 1 of 2 files failed: 'bad\.stoptime\.json': /);
  });
});
