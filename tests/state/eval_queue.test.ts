/**
 * EvalQueue (src/state/eval_queue.ts) with the engine client over a fake engine worker (StoptimeWorkerApi) and the
 * runs database on fake-indexeddb: one evaluation at a time, sweeps in order, the latest settled settings only, a
 * failure dropping the queue, loading a selected run's weights, draining, and suite evaluations of a saved run.
 */
import { describe, expect, it } from 'vitest';
import { EngineClient } from '../../src/state/engine_client';
import { EvalQueue, SWEEPS } from '../../src/state/eval_queue';
import { FakeEngine, makeRun, openedPersistence, suitesOf, TINY, testState, until, weights } from './fakes';

async function setUp() {
  const state = testState({ runs: { r: makeRun('r', { stepsDone: 3 }) }, runOrder: ['r'], activeRunId: 'r' });
  const { persistence, db } = await openedPersistence(state);
  persistence.saveCheckpoint('r', 3, weights(TINY, 3));
  await persistence.settled();
  const fake = new FakeEngine();
  const engine: EngineClient = new EngineClient(state, fake, persistence, () => queue.drain(), 10);
  const queue: EvalQueue = new EvalQueue(state, engine, persistence, 20);
  await engine.start();
  const idle = () => until(() => !state.getState().evaluation.busy && state.getState().evaluation.queued === 0);
  return { state, persistence, db, fake, engine, queue, idle };
}

describe('EvalQueue', () => {
  it("evaluates a sweep one point at a time, in order, after loading the run's weights", async () => {
    const { state, persistence, db, fake, queue, idle } = await setUp();
    queue.sweep('ts');
    queue.sweep('bias'); // queued behind the first sweep, not run beside it
    const total = SWEEPS.ts.values.length + SWEEPS.bias.values.length;
    expect(state.getState().evaluation.queued).toBe(total);
    await until(() => state.getState().evaluation.busy);
    await idle();
    expect(fake.calls).toContain('loadModel 3');
    expect(fake.maxConcurrentEvaluations).toBe(1);
    const points = state.getState().runs.r!.evalPoints;
    expect(points.map((p) => p.decode.intervention)).toEqual([
      ...SWEEPS.ts.values.map(() => 'ts'),
      ...SWEEPS.bias.values.map(() => 'bias'),
    ]);
    expect(points.slice(0, SWEEPS.ts.values.length).map((p) => p.decode.stopTemperature)).toEqual(SWEEPS.ts.values);
    expect(points.every((p) => p.step === 3)).toBe(true);
    await persistence.settled();
    expect((await db.getRun('r'))?.evalPoints).toHaveLength(total);
  });

  it('evaluates only the latest of several quick decode changes, once they settle', async () => {
    const { state, fake, queue, idle } = await setUp();
    for (const temperature of [0.1, 0.2, 0.3]) {
      state.setState((s) => ({ config: { ...s.config, decode: { ...s.config.decode, temperature } } }));
      queue.scheduleSettled();
    }
    await until(() => state.getState().evaluation.busy);
    await idle();
    expect(fake.evaluated.map((e) => e.decode.temperature)).toEqual([0.3]);
  });

  it('drops the waiting evaluations when one fails, saying why', async () => {
    const { state, fake, queue, idle } = await setUp();
    fake.failNextEvaluation = 'out of memory';
    queue.sweep('cap');
    await until(() => state.getState().error !== null);
    await idle();
    expect(state.getState().error).toBe('Evaluation failed: out of memory');
    expect(fake.evaluated).toHaveLength(1);
    expect(state.getState().runs.r!.evalPoints).toHaveLength(0);
  });

  it("loads a selected run's weights when the worker is free, and not while the lab queue holds it", async () => {
    const { state, fake, queue } = await setUp();
    state.setState((s) => ({ lab: { ...s.lab, current: 0 } }));
    queue.requestLoad('r');
    expect(fake.calls).not.toContain('loadModel 3');
    state.setState((s) => ({ lab: { ...s.lab, current: null } }));
    queue.requestLoad('r');
    await until(() => state.getState().modelRunId === 'r');
    expect(fake.calls).toContain('loadModel 3');
  });

  it('drain drops the waiting evaluations and waits for the one in flight', async () => {
    const { state, fake, queue } = await setUp();
    fake.evaluationMs = 30;
    queue.sweep('bias');
    await until(() => fake.evaluated.length === 1);
    await queue.drain();
    expect(state.getState().evaluation).toMatchObject({ busy: false, queued: 0 });
    expect(fake.evaluated).toHaveLength(1);
    expect(state.getState().runs.r!.evalPoints).toHaveLength(1);
  });

  it("evaluates a saved run's suites, saving each as it arrives, and ends after the suite in progress on cancel", async () => {
    const { state, persistence, db, queue } = await setUp();
    const suites = suitesOf(TINY);
    expect(suites.length).toBeGreaterThan(1);
    let sawLoading = false;
    const watchLoading = state.subscribe((s) => {
      sawLoading ||= s.evaluation.loading;
    });
    await queue.evaluateRunSuites('r', 4);
    watchLoading();
    expect(state.getState().runs.r!.suiteResults?.map((s) => s.suite)).toEqual(suites);
    expect(state.getState().suitesEval).toBeNull();
    // The weights were loaded for it, and the loading notice is gone once they are (it used to stay up).
    expect(sawLoading).toBe(true);
    expect(state.getState().evaluation).toMatchObject({ loading: false, label: null });
    state.setState((s) => ({ runs: { r: { ...s.runs.r!, suiteResults: [] } } }));
    const unsubscribe = state.subscribe((s) => {
      if (s.suitesEval?.message.startsWith('suite 1 ') && !s.suitesEval.cancelRequested) {
        state.setState({ suitesEval: { ...s.suitesEval, cancelRequested: true } });
      }
    });
    await queue.evaluateRunSuites('r', 4);
    unsubscribe();
    expect(state.getState().runs.r!.suiteResults?.map((s) => s.suite)).toEqual([suites[0]]);
    await persistence.settled();
    expect((await db.getRun('r'))?.suiteResults).toHaveLength(1);
    await queue.evaluateRunSuites('r', 0);
    expect(state.getState().error).toMatch(/^Problems per suite: /);
  });
});
