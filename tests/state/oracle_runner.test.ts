/**
 * OracleRunner (src/state/oracle_runner.ts) with the engine client over the fake engine worker, whose computeOracle
 * runs what the worker runs: the real session's computeOracle (src/train/session.ts → src/train/oracle.ts) on a tiny
 * model trained a few steps on the CPU backend, aborted by cancelOracle. The runs database is fake-indexeddb. Checks
 * the stated reasons the button is disabled, progress in the state, a cancel that saves nothing, the frontier saved
 * with the run (state, IndexedDB, run file), its step on the run's timeline, and bad settings refused by name.
 */
import { describe, expect, it } from 'vitest';
import { parseRunFile } from '../../src/runs/run_file';
import { EngineClient } from '../../src/state/engine_client';
import { EvalQueue } from '../../src/state/eval_queue';
import { OracleRunner, type OracleSettings, oracleBlocker } from '../../src/state/oracle_runner';
import { Persistence } from '../../src/state/persistence';
import type { TrainerState } from '../../src/train/backend';
import { createCpuBackend } from '../../src/train/backend_cpu';
import { summarizeOracle } from '../../src/train/oracle';
import type { RunConfig } from '../../src/train/run_config';
import { SftSession } from '../../src/train/sft';
import {
  ORACLE_CANCELLED,
  type OracleProgressListener,
  type OracleRequest,
  type OracleResult,
} from '../../src/worker/api';
import { tinyOneDigitRun } from '../helpers/tiny_run';
import { FakeEngine, makeRun, openedPersistence, testState, until } from './fakes';

const CONFIG: RunConfig = {
  ...tinyOneDigitRun(3, { steps: 3, warmupSteps: 1, evalLossEverySteps: 0, samplesEverySteps: 0 }),
  decode: { ...tinyOneDigitRun(3, {}).decode, maxNewTokens: 12 },
  eval: { size: 6, variant: 'id', seed: 1000 },
};
const SETTINGS: OracleSettings = { problems: 5, answerTokens: 6, trace: 'greedy' };

/** The fake worker with a real model: a CPU-backend SFT session, and the worker's abort-between-batches contract. */
class CpuOracleEngine extends FakeEngine {
  model: SftSession | null = null;
  requests: OracleRequest[] = [];
  private abort: AbortController | null = null;

  override async loadModel(config: RunConfig, state: TrainerState): Promise<void> {
    await super.loadModel(config, state);
    await this.model?.destroy();
    this.model = SftSession.load(createCpuBackend(), config, state, { decodeRows: 8 });
  }

  override async computeOracle(request: OracleRequest, onProgress: OracleProgressListener): Promise<OracleResult> {
    this.requests.push(request);
    if (!this.model) throw new Error('no model yet');
    const abort = new AbortController();
    this.abort = abort;
    try {
      return await this.model.computeOracle(request.evalConfig, {
        answerTokens: request.answerTokens,
        trace: request.trace,
        maxNewTokens: request.maxNewTokens,
        seed: request.evalConfig.seed,
        signal: abort.signal,
        onProgress,
      });
    } finally {
      this.abort = null;
    }
  }

  override async cancelOracle(): Promise<void> {
    this.calls.push('cancelOracle');
    this.abort?.abort(new Error(ORACLE_CANCELLED));
  }
}

/** Weights after `CONFIG`'s 3 SFT steps on the CPU backend (trained once for the file). */
let trained: Promise<TrainerState> | null = null;
function trainedWeights(): Promise<TrainerState> {
  trained ??= (async () => {
    const session = new SftSession(createCpuBackend(), CONFIG, () => {}, undefined, { logWindowMs: 0 });
    await session.run();
    const state = await session.readState();
    await session.destroy();
    return state;
  })();
  return trained;
}

async function setUp() {
  const weights = await trainedWeights();
  const run = makeRun('r', { config: CONFIG, stepsDone: 3, checkpointStep: 3 });
  const state = testState({
    config: CONFIG,
    runs: { r: run, bare: makeRun('bare') },
    runOrder: ['r', 'bare'],
    activeRunId: 'r',
  });
  const { persistence, db } = await openedPersistence(state);
  persistence.saveCheckpoint('r', 3, { ...weights, params: weights.params.slice() });
  await persistence.settled();
  const fake = new CpuOracleEngine();
  const engine: EngineClient = new EngineClient(state, fake, persistence, () => queue.drain(), 10);
  const queue: EvalQueue = new EvalQueue(state, engine, persistence, 20);
  await engine.start();
  const runner = new OracleRunner(state, engine, persistence);
  return { state, persistence, db, fake, runner };
}

describe('OracleRunner', () => {
  it('states why the frontier cannot be computed, and refuses without calling the worker', async () => {
    const { state, fake, runner } = await setUp();
    const s = () => state.getState();
    expect(oracleBlocker(s(), s().runs.r)).toBeNull();
    expect(oracleBlocker(s(), s().runs.bare)).toMatch(/no trained weights/);
    expect(oracleBlocker(s(), undefined)).toMatch(/No run/);
    expect(oracleBlocker({ ...s(), engine: null }, s().runs.r)).toMatch(/engine is not ready/);
    const session = { runId: 'r', kind: 'sft' as const, state: 'running' as const, step: 1, totalSteps: 3 };
    expect(oracleBlocker({ ...s(), session: { ...session, message: null } }, s().runs.r)).toMatch(/training/);
    const suites = { runId: 'r', message: '', cancelRequested: false };
    expect(oracleBlocker({ ...s(), suitesEval: suites }, s().runs.r)).toMatch(/suite evaluation/);
    const busyEval = { ...s().evaluation, busy: true };
    expect(oracleBlocker({ ...s(), evaluation: busyEval }, s().runs.r)).toMatch(/evaluation is running/);

    expect(await runner.compute('bare', SETTINGS)).toBe('refused');
    expect(s().error).toMatch(/^Oracle frontier: This run has no trained weights/);
    expect(await runner.compute('r', { ...SETTINGS, problems: 0 })).toBe('refused');
    expect(s().error).toMatch(/Problems must be a whole number/);
    expect(await runner.compute('r', { ...SETTINGS, trace: { temperature: -1 } })).toBe('refused');
    expect(s().error).toMatch(/temperature/);
    expect(fake.requests).toEqual([]);
    expect(fake.calls.filter((c) => c.startsWith('loadModel'))).toEqual([]);
  });

  it('shows progress, cancels between batches saving nothing, then saves the frontier with the run', async () => {
    const { state, persistence, db, fake, runner } = await setUp();
    const s = () => state.getState();

    // First attempt: cancelled once the own traces are done (the first progress report).
    const first = runner.compute('r', SETTINGS);
    expect(s().oracleJob).toMatchObject({ runId: 'r', rowsDone: 0, rowsTotal: 0 });
    // While it runs the worker's model belongs to it: no other run may load, Start is refused (engineBusy).
    expect(oracleBlocker(s(), s().runs.r)).toMatch(/being computed/);
    await until(() => (s().oracleJob?.rowsTotal ?? 0) > 0, 30_000);
    const job = s().oracleJob!;
    expect(job.rowsDone).toBe(SETTINGS.problems); // the own traces, one row per problem
    expect(job.rowsTotal).toBeGreaterThan(SETTINGS.problems);
    runner.cancel();
    expect(s().oracleJob?.cancelRequested).toBe(true);
    expect(await first).toBe('cancelled');
    expect(fake.calls).toContain('cancelOracle');
    expect(s().oracleJob).toBeNull();
    expect(s().error).toBeNull();
    expect(s().runs.r!.oracle ?? null).toBeNull();

    // Second attempt, to the end: progress rises to the total, and the result is saved with the run.
    const seen: [number, number][] = [];
    const unsubscribe = state.subscribe(() => {
      const j = s().oracleJob;
      const last = seen.at(-1);
      if (j && j.rowsTotal > 0 && (last?.[0] !== j.rowsDone || last[1] !== j.rowsTotal)) {
        seen.push([j.rowsDone, j.rowsTotal]);
      }
    });
    expect(await runner.compute('r', SETTINGS)).toBe('saved');
    unsubscribe();
    expect(s().oracleJob).toBeNull();
    const oracle = s().runs.r!.oracle!;
    const total = seen.at(-1)![1];
    expect(seen[0]).toEqual([SETTINGS.problems, total]);
    expect(seen.at(-1)).toEqual([total, total]);
    for (let i = 1; i < seen.length; i++) expect(seen[i]![0]).toBeGreaterThan(seen[i - 1]![0]);
    // Rows: one own trace per problem, then L + 1 truncations each; batches of the session's 8 decoder rows.
    const truncations = oracle.problems.reduce((n, p) => n + p.ownThinkingTokens + 1, 0);
    expect(total).toBe(SETTINGS.problems + truncations);
    expect(seen.length).toBe(1 + Math.ceil(truncations / 8));

    // What was asked: the decode panel's evaluation set with the form's problems, its decode budget, the form's rest.
    expect(fake.requests.at(-1)).toEqual({
      evalConfig: { ...s().config.eval, size: SETTINGS.problems },
      answerTokens: SETTINGS.answerTokens,
      trace: 'greedy',
      maxNewTokens: s().config.decode.maxNewTokens,
    });
    expect(fake.calls.filter((c) => c.startsWith('loadModel'))).toEqual(['loadModel 3']);
    // The weights' step on the run's timeline; every truncation verified; the summary is the problems' own.
    expect(oracle).toMatchObject({ step: 3, stage: 'sft', answerTokens: SETTINGS.answerTokens, trace: 'greedy' });
    expect(oracle.problems).toHaveLength(SETTINGS.problems);
    for (const p of oracle.problems) expect(p.correctAt).toMatch(new RegExp(`^[01]{${p.ownThinkingTokens + 1}}$`));
    expect(summarizeOracle(oracle.problems)).toEqual({
      summary: oracle.summary,
      frontier: oracle.frontier,
      byBudget: oracle.byBudget,
    });

    // Kept in IndexedDB (a reload reads it back) and carried by the run file.
    await persistence.settled();
    const reloaded = testState();
    const again = new Persistence(reloaded, async () => db, 20);
    await again.open();
    expect(reloaded.getState().runs.r?.oracle).toEqual(oracle);
    const file = await persistence.exportRun(s().runs.r!, false, () => fake.readModel());
    expect(parseRunFile(file.json).run.oracle).toEqual(oracle);
    await fake.model?.destroy();
  }, 60_000);

  it('refuses a second computation and a cancel that arrives while the weights load', async () => {
    const { state, fake, runner } = await setUp();
    const s = () => state.getState();
    const first = runner.compute('r', SETTINGS);
    // The weights are loading (nothing has reached the worker's computeOracle yet): Cancel ends it there.
    expect(await runner.compute('r', SETTINGS)).toBe('refused');
    expect(s().error).toMatch(/being computed/);
    runner.cancel();
    expect(await first).toBe('cancelled');
    expect(fake.requests).toEqual([]);
    expect(s().runs.r!.oracle ?? null).toBeNull();
    await fake.model?.destroy();
  }, 30_000);
});
