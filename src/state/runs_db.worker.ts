/// <reference lib="webworker" />
/**
 * The runs database (src/state/runs_db.ts) in its own worker, reached from the store through comlink. IndexedDB
 * serialises every value synchronously on the thread that writes it; a checkpoint (weights and AdamW moments, 10–32
 * MB for the small and medium models) made main-thread tasks of 100–250 ms when saved from the page (headless Chromium,
 * shared 2-core VM), long enough to stall the UI during training. Here that cost lands off the main thread, and
 * checkpoints arrive transferred, not copied.
 */
import * as Comlink from 'comlink';
import type { RunRecord } from '../runs/run_record';
import type { TrainerState } from '../train/backend';
import { type DeletedRun, openRunsDb, type RunsDb } from './runs_db';

let db: RunsDb | null = null;

function opened(): RunsDb {
  if (db === null) throw new Error('the runs database is not open');
  return db;
}

/** Buffers of checkpoints, to transfer them back instead of copying. */
function buffers(...states: (TrainerState | null | undefined)[]): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const state of states) {
    if (!state) continue;
    for (const a of [state.params, state.m, state.v]) {
      if (a && a.buffer instanceof ArrayBuffer && !out.includes(a.buffer)) out.push(a.buffer);
    }
  }
  return out;
}

const api = {
  async open(name?: string): Promise<void> {
    db ??= await openRunsDb(name);
  },
  listRuns: () => opened().listRuns(),
  getRun: (id: string) => opened().getRun(id),
  putRun: (run: RunRecord) => opened().putRun(run),
  saveCheckpoint: (run: RunRecord, state: TrainerState) => opened().saveCheckpoint(run, state),
  async getCheckpoint(runId: string): Promise<TrainerState | undefined> {
    const state = await opened().getCheckpoint(runId);
    return state && Comlink.transfer(state, buffers(state));
  },
  saveRlReference: (run: RunRecord, reference: TrainerState | null) => opened().saveRlReference(run, reference),
  async getRlReference(runId: string): Promise<TrainerState | undefined> {
    const state = await opened().getRlReference(runId);
    return state && Comlink.transfer(state, buffers(state));
  },
  async deleteRun(id: string): Promise<DeletedRun | undefined> {
    const deleted = await opened().deleteRun(id);
    return deleted && Comlink.transfer(deleted, buffers(deleted.checkpoint, deleted.rlReference));
  },
  restoreRun: (deleted: DeletedRun) => opened().restoreRun(deleted),
  importRun: (run: RunRecord, checkpoint: TrainerState | null) => opened().importRun(run, checkpoint),
  close(): void {
    db?.close();
    db = null;
  },
};

export type RunsDbWorkerApi = typeof api;

Comlink.expose(api);
