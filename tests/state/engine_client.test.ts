/**
 * EngineClient (src/state/engine_client.ts) against a fake engine worker that implements StoptimeWorkerApi, with the
 * runs database on fake-indexeddb: sessions and their events in the state, checkpoints at timeline steps, the RL
 * stage's step offset and reference weights, Stop before the worker has the session, pause and resume, failures,
 * loading a saved run's weights and resuming an interrupted run.
 */
import { describe, expect, it } from 'vitest';
import { EngineClient } from '../../src/state/engine_client';
import { newRunRecord } from '../../src/state/playground_state';
import { DEFAULT_DECODE_CONFIG, DEFAULT_RL_CONFIG, type RunConfig } from '../../src/train/run_config';
import { FakeEngine, makeRun, openedPersistence, TINY, testState, tick, until, weights } from './fakes';

const WITH_KL: RunConfig = {
  ...TINY,
  rl: { ...DEFAULT_RL_CONFIG, steps: 3, loss: { ...DEFAULT_RL_CONFIG.loss, beta: 0.04 } },
};

async function setUp(beforeSession: () => Promise<void> = async () => {}) {
  const state = testState();
  const { persistence, db } = await openedPersistence(state);
  const fake = new FakeEngine();
  const engine = new EngineClient(state, fake, persistence, beforeSession, 10);
  await engine.start();
  return { state, persistence, db, fake, engine };
}

describe('EngineClient', () => {
  it('runs an SFT session: events reach the state in batches, checkpoints and the final weights are saved', async () => {
    const { state, persistence, db, fake, engine } = await setUp();
    expect(state.getState().engine?.adapter).toBe('fake adapter');
    const run = newRunRecord(TINY, 'sft run', 'fake adapter');
    const done = engine.runSession(run);
    expect(state.getState().session).toMatchObject({ runId: run.id, kind: 'sft', state: 'starting' });
    await until(() => fake.training);
    fake.trainSteps(1, 3);
    fake.emit({ type: 'checkpoint', step: 2, state: weights(TINY, 2) });
    await until(() => state.getState().runs[run.id]!.timeline.length === 3);
    const s = state.getState();
    expect(s.session).toMatchObject({ state: 'running', step: 3 });
    expect(s.live['train/loss']).toBeCloseTo(1 / 3);
    expect(s.runs[run.id]?.checkpointStep).toBe(2);
    fake.finish(4);
    expect(await done).toEqual({ state: 'finished', message: null, step: 4 });
    await persistence.settled();
    expect(fake.calls).toContain('readModel'); // the last checkpoint (step 2) was older than the end
    expect((await db.getCheckpoint(run.id))?.step).toBe(4);
    expect(await db.getRun(run.id)).toMatchObject({ status: 'finished', stepsDone: 4, checkpointStep: 4 });
    expect(state.getState().modelRunId).toBe(run.id);
  });

  it("runs an RL stage on the run's timeline after its checkpoint, keeping its reference weights while it runs", async () => {
    const { state, persistence, db, fake, engine } = await setUp();
    const sft = makeRun('r', { config: WITH_KL, stepsDone: 4, timeline: [{ step: 4, elapsedMs: 100, values: {} }] });
    state.setState({ runs: { r: sft }, runOrder: ['r'] });
    persistence.saveCheckpoint('r', 4, weights(WITH_KL, 4));
    const prepared = await engine.prepareRlStage(state.getState().runs.r!, undefined);
    expect(prepared.run).toMatchObject({ rlStartStep: 4, checkpointStep: 4, status: 'running' });
    const done = engine.runRlStage(prepared);
    await until(() => fake.training);
    expect(state.getState().session).toMatchObject({ kind: 'rl', totalSteps: 4 + 3 });
    expect(fake.lastTrain?.from?.step).toBe(4);
    await persistence.settled();
    expect((await persistence.rlReference('r'))?.step).toBe(4);
    fake.trainSteps(1, 2);
    fake.emit({ type: 'checkpoint', step: 2, state: weights(WITH_KL, 2) });
    await persistence.settled();
    expect((await db.getCheckpoint('r'))?.step).toBe(6);
    fake.finish(3);
    expect(await done).toMatchObject({ state: 'finished', step: 7 });
    await persistence.settled();
    const timeline = state.getState().runs.r!.timeline.map((p) => p.step);
    expect(timeline).toEqual([4, 5, 6]);
    expect((await db.getCheckpoint('r'))?.step).toBe(7);
    expect(await persistence.rlReference('r')).toBeUndefined();
    await expect(engine.prepareRlStage(state.getState().runs.r!, undefined)).rejects.toThrow(/already has an RL stage/);
  });

  it('sends a Stop pressed while the session was starting after the train call', async () => {
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { state, fake, engine } = await setUp(() => gate);
    const done = engine.runSession(newRunRecord(TINY, 'stopped early', 'fake adapter'));
    await engine.stopSession();
    release();
    expect((await done).state).toBe('stopped');
    expect(fake.calls.filter((c) => c !== 'readModel')).toEqual(['init', 'stop', 'train', 'stop']);
    expect(state.getState().session?.state).toBe('stopped');
  });

  it('pauses and resumes at once, and leaves paused time out of the training clock', async () => {
    const { state, fake, engine } = await setUp();
    const run = newRunRecord(TINY, 'paused', 'fake adapter');
    const started = performance.now();
    const done = engine.runSession(run);
    await until(() => fake.training);
    fake.trainSteps(1, 1);
    await until(() => state.getState().session?.state === 'running');
    await engine.pauseSession();
    expect(state.getState().session?.state).toBe('paused');
    await tick(300);
    await engine.resumeSession();
    expect(state.getState().session?.state).toBe('running');
    fake.trainSteps(2, 2);
    await until(() => state.getState().runs[run.id]!.timeline.length === 2);
    const wallMs = performance.now() - started;
    expect(state.getState().runs[run.id]!.timeline[1]!.elapsedMs).toBeLessThan(wallMs - 250);
    expect(fake.calls).toEqual(expect.arrayContaining(['pause', 'resume']));
    fake.finish();
    await done;
  });

  it('marks a failed session as an error and forgets its model', async () => {
    const { state, db, persistence, fake, engine } = await setUp();
    const run = newRunRecord(TINY, 'failing', 'fake adapter');
    const done = engine.runSession(run);
    await until(() => fake.training);
    fake.fail('device lost');
    expect(await done).toEqual({ state: 'error', message: 'device lost', step: 0 });
    expect(state.getState()).toMatchObject({ error: 'Training failed: device lost', modelRunId: null });
    await persistence.settled();
    expect((await db.getRun(run.id))?.status).toBe('error');
  });

  it("loads a saved run's weights, and marks evaluations of an RL checkpoint as RL at its timeline step", async () => {
    const { state, persistence, fake, engine } = await setUp();
    const rl = makeRun('rl', { config: WITH_KL, rlStartStep: 4, stepsDone: 6 });
    const sft = makeRun('sft', { stepsDone: 3 });
    state.setState({ runs: { rl, sft } });
    persistence.saveCheckpoint('rl', 6, weights(WITH_KL, 6));
    await persistence.settled();
    const labels: string[] = [];
    await engine.ensureModel('rl', (label) => labels.push(label));
    expect(labels).toEqual(["loading the weights of 'run rl'"]);
    expect(fake.calls).toContain('loadModel 6');
    expect(state.getState().modelRunId).toBe('rl');
    const point = await engine.evaluate(DEFAULT_DECODE_CONFIG, TINY.eval);
    expect(point).toMatchObject({ step: 6, stage: 'rl' });
    await expect(engine.ensureModel('sft', () => {})).rejects.toThrow("run 'run sft' has no saved weights to evaluate");
  });

  it('resumes an interrupted SFT run from its checkpoint, dropping what came after it', async () => {
    const { state, persistence, fake, engine } = await setUp();
    const timeline = [1, 2, 3, 4, 5].map((step) => ({ step, elapsedMs: step * 10, values: {} }));
    const run = makeRun('r', { status: 'interrupted', stepsDone: 5, timeline });
    state.setState({ runs: { r: run } });
    await expect(engine.prepareResume(run)).rejects.toThrow("Run 'run r' has no saved checkpoint to resume from.");
    persistence.saveCheckpoint('r', 3, weights(TINY, 3));
    await persistence.settled();
    const prepared = await engine.prepareResume(state.getState().runs.r!);
    expect(prepared.plan).toEqual({ stage: 'sft' });
    expect(prepared.run.timeline.map((p) => p.step)).toEqual([1, 2, 3]);
    const done = engine.resume(prepared);
    await until(() => fake.training);
    expect(fake.lastTrain?.from?.step).toBe(3);
    fake.trainSteps(4, 4);
    fake.finish(4);
    await done;
    expect(state.getState().runs.r).toMatchObject({ status: 'finished', stepsDone: 4 });
  });
});
