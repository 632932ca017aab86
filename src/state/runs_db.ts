/**
 * Saved playground runs in the browser's IndexedDB (through `idb`), so runs and their checkpoints survive a reload.
 *
 * Three object stores (schema version 2):
 *   - 'runs'         RunRecord, key `id`, index 'by-name' (to name imported copies);
 *   - 'checkpoints'  one checkpoint per run, key `runId`: weights, AdamW moments (Float32Arrays, stored as typed arrays
 *                    by the structured clone) and the step;
 *   - 'rlReferences' (version 2) for a run with an RL stage whose loss has a KL term (rl.loss.beta > 0), key `runId`:
 *                    the weights the stage began from, its frozen reference model, which resuming the stage needs
 *                    once the run's checkpoint holds RL weights. Moments null.
 *
 * Invariant: a run's `checkpointStep` is the step of its stored checkpoint (null when none). Only the methods that
 * write checkpoints set it: `saveCheckpoint`, `restoreRun`, `importRun`; `putRun` keeps the stored value, so a record
 * held in memory while a checkpoint is saved cannot overwrite the newer step.
 *
 * Every write that touches more than one store is one readwrite transaction, awaited to its `done`, so a run and its
 * stored weights never disagree after a crash or a quota error. Free of React and zustand: the UI store calls this.
 */
import { type DBSchema, type IDBPDatabase, openDB } from 'idb';
import { buildParamLayout } from '../model/params';
import { RUN_FILE_LIMITS } from '../runs/run_file';
import type { RunRecord, RunStatus } from '../runs/run_record';
import type { TrainerState } from '../train/backend';
import { modelConfigFor } from '../train/run_config';

export const RUNS_DB_VERSION = 2;

interface StoredCheckpoint {
  runId: string;
  params: Float32Array;
  m: Float32Array | null;
  v: Float32Array | null;
  step: number;
  /** ms since epoch. */
  savedAt: number;
}

interface RunsSchema extends DBSchema {
  runs: { key: string; value: RunRecord; indexes: { 'by-name': string } };
  checkpoints: { key: string; value: StoredCheckpoint };
  rlReferences: { key: string; value: StoredCheckpoint };
}

/** What `deleteRun` removed, to put back with `restoreRun` (undo). */
export interface DeletedRun {
  run: RunRecord;
  checkpoint: TrainerState | null;
  /** The RL stage's reference weights (see 'rlReferences'); null when none were stored. */
  rlReference: TrainerState | null;
}

export interface RunsDb {
  /** Every run, most recently updated first. */
  listRuns(): Promise<RunRecord[]>;
  getRun(id: string): Promise<RunRecord | undefined>;
  /** Inserts or replaces a run; `checkpointStep` is kept as stored (see the file comment). */
  putRun(run: RunRecord): Promise<void>;
  /** In one transaction: replaces the run's checkpoint and stores the run with `checkpointStep = state.step`. */
  saveCheckpoint(run: RunRecord, state: TrainerState): Promise<void>;
  getCheckpoint(runId: string): Promise<TrainerState | undefined>;
  /**
   * In one transaction: stores the run (`checkpointStep` kept as stored, like `putRun`) and replaces its RL reference
   * weights with `reference` (removes them for null), so a run record naming an RL stage never outlives its reference.
   */
  saveRlReference(run: RunRecord, reference: TrainerState | null): Promise<void>;
  getRlReference(runId: string): Promise<TrainerState | undefined>;
  /** Removes the run, its checkpoint and RL reference; returns them for undo (undefined when there was no such run). */
  deleteRun(id: string): Promise<DeletedRun | undefined>;
  /** Puts a deleted run, its checkpoint and RL reference back as they were. */
  restoreRun(deleted: DeletedRun): Promise<void>;
  /**
   * Stores an imported run and its checkpoint in one transaction under a fresh id, named "name (imported)" (then
   * "(imported 2)", …) when a run of that name and the same seed exists (runs of one name and other seeds are a seed
   * group, src/ui/seed_groups.ts); a run exported while 'running' or 'paused' gets status 'imported'.
   * Returns the stored record.
   */
  importRun(run: RunRecord, checkpoint: TrainerState | null): Promise<RunRecord>;
  close(): void;
}

/** A fresh run id: 128 random bits as 32 hex digits. */
export function newRunId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let hex = '';
  for (const b of bytes) hex += b.toString(16).padStart(2, '0');
  return hex;
}

/** A user-facing explanation of a failed storage operation (IndexedDB DOMExceptions by name). */
export function describeStorageError(e: unknown): string {
  const name = typeof e === 'object' && e !== null && 'name' in e ? String((e as { name: unknown }).name) : '';
  const detail = e instanceof Error ? e.message : String(e);
  switch (name) {
    case 'QuotaExceededError':
      return 'Browser storage is full: the run was not saved. Export and delete old runs to make room.';
    case 'VersionError':
      return 'The saved runs were written by a newer version of Stoptime: reload the page to update it.';
    case 'InvalidStateError':
      return 'The run database was closed (another tab may be updating Stoptime, or the browser is shutting down): reload the page.';
    case 'SecurityError':
      return 'This browser does not let the page store data (private browsing or site settings block IndexedDB): runs cannot be saved.';
    case 'UnknownError':
      return `The browser's storage failed (${detail}); a full disk or a damaged browser profile can cause this.`;
    case 'DataCloneError':
      return `The run could not be stored: ${detail}`;
    case 'AbortError':
      return `Saving was cancelled before it finished (${detail}).`;
    case 'StorageUnavailableError':
      return detail;
    default:
      return `Storage error: ${detail}`;
  }
}

class StorageUnavailableError extends Error {
  override name = 'StorageUnavailableError';
}

/** The array itself when it spans its whole buffer, else a copy (a view would store its whole buffer). */
function compact(a: Float32Array): Float32Array {
  return a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : a.slice();
}

/** Checks a checkpoint against the run's model before anything is written. */
function toStored(run: RunRecord, state: TrainerState): StoredCheckpoint {
  const expected = buildParamLayout(modelConfigFor(run.config)).totalElements;
  const check = (what: string, a: unknown, nullable: boolean) => {
    if (a === null && nullable) return;
    if (!(a instanceof Float32Array) || a.length !== expected) {
      const got = a instanceof Float32Array ? `${a.length} values` : String(a);
      throw new Error(
        `checkpoint ${what} of run ${run.id}: got ${got}, the run's '${run.config.model.size}' model has ${expected}`,
      );
    }
  };
  check('params', state.params, false);
  check('m', state.m, true);
  check('v', state.v, true);
  if (!Number.isSafeInteger(state.step) || state.step < 0)
    throw new Error(`checkpoint step of run ${run.id} must be a non-negative integer, got ${state.step}`);
  return {
    runId: run.id,
    params: compact(state.params),
    m: state.m && compact(state.m),
    v: state.v && compact(state.v),
    step: state.step,
    savedAt: Date.now(),
  };
}

function toState(c: StoredCheckpoint): TrainerState {
  return { params: c.params, m: c.m, v: c.v, step: c.step };
}

/** Statuses that describe a live session, meaningless for a run read from a file. */
const LIVE_STATUSES: readonly RunStatus[] = ['running', 'paused'];

/**
 * Runs `body` in `tx` and resolves once the transaction has committed. If `body` throws, the transaction is aborted
 * (nothing it wrote is kept) and the error rethrown; a failed commit (quota) rejects with the transaction's error.
 */
async function within<T>(tx: { done: Promise<void>; abort(): void }, body: () => Promise<T>): Promise<T> {
  // Handled here so an abort is never an unhandled rejection; the failure reaches the caller through `body` or below.
  tx.done.catch(() => undefined);
  let result: T;
  try {
    result = await body();
  } catch (e) {
    try {
      tx.abort();
    } catch {
      // Already aborted or finished.
    }
    throw e;
  }
  await tx.done;
  return result;
}

export async function openRunsDb(name = 'stoptime'): Promise<RunsDb> {
  if (typeof indexedDB === 'undefined')
    throw new StorageUnavailableError('This browser has no IndexedDB: runs cannot be saved.');
  const db: IDBPDatabase<RunsSchema> = await openDB<RunsSchema>(name, RUNS_DB_VERSION, {
    upgrade(database, oldVersion) {
      if (oldVersion < 1) {
        const runs = database.createObjectStore('runs', { keyPath: 'id' });
        runs.createIndex('by-name', 'name');
        database.createObjectStore('checkpoints', { keyPath: 'runId' });
      }
      if (oldVersion < 2) database.createObjectStore('rlReferences', { keyPath: 'runId' });
    },
    blocking() {
      // Another tab opens a newer schema: let it upgrade. Later calls here fail with InvalidStateError.
      db.close();
    },
  });

  const both = () => db.transaction(['runs', 'checkpoints'], 'readwrite');
  const all = () => db.transaction(['runs', 'checkpoints', 'rlReferences'], 'readwrite');

  return {
    async listRuns() {
      const runs = await db.getAll('runs');
      return runs.sort((a, b) => b.updatedAt - a.updatedAt || b.createdAt - a.createdAt || (a.id < b.id ? -1 : 1));
    },

    getRun(id) {
      return db.get('runs', id);
    },

    async putRun(run) {
      const tx = db.transaction(['runs'], 'readwrite');
      await within(tx, async () => {
        const runs = tx.objectStore('runs');
        const stored = await runs.get(run.id);
        await runs.put({ ...run, checkpointStep: stored?.checkpointStep ?? null });
      });
    },

    async saveCheckpoint(run, state) {
      const checkpoint = toStored(run, state);
      const tx = both();
      await within(tx, async () => {
        await Promise.all([
          tx.objectStore('checkpoints').put(checkpoint),
          tx.objectStore('runs').put({ ...run, checkpointStep: state.step }),
        ]);
      });
    },

    async getCheckpoint(runId) {
      const c = await db.get('checkpoints', runId);
      return c && toState(c);
    },

    async saveRlReference(run, reference) {
      const stored = reference && toStored(run, reference);
      const tx = db.transaction(['runs', 'rlReferences'], 'readwrite');
      await within(tx, async () => {
        const runs = tx.objectStore('runs');
        const references = tx.objectStore('rlReferences');
        const before = await runs.get(run.id);
        await Promise.all([
          runs.put({ ...run, checkpointStep: before?.checkpointStep ?? null }),
          stored ? references.put(stored) : references.delete(run.id),
        ]);
      });
    },

    async getRlReference(runId) {
      const c = await db.get('rlReferences', runId);
      return c && toState(c);
    },

    async deleteRun(id) {
      const tx = all();
      return within(tx, async () => {
        const run = await tx.objectStore('runs').get(id);
        const checkpoint = await tx.objectStore('checkpoints').get(id);
        const rlReference = await tx.objectStore('rlReferences').get(id);
        // The weights go even without a run (none should be left behind).
        await Promise.all([
          tx.objectStore('runs').delete(id),
          tx.objectStore('checkpoints').delete(id),
          tx.objectStore('rlReferences').delete(id),
        ]);
        return (
          run && {
            run,
            checkpoint: checkpoint ? toState(checkpoint) : null,
            rlReference: rlReference ? toState(rlReference) : null,
          }
        );
      });
    },

    async restoreRun(deleted) {
      const checkpoint = deleted.checkpoint && toStored(deleted.run, deleted.checkpoint);
      const rlReference = deleted.rlReference && toStored(deleted.run, deleted.rlReference);
      const tx = all();
      await within(tx, async () => {
        const checkpoints = tx.objectStore('checkpoints');
        const references = tx.objectStore('rlReferences');
        await Promise.all([
          tx.objectStore('runs').put({ ...deleted.run, checkpointStep: checkpoint ? checkpoint.step : null }),
          checkpoint ? checkpoints.put(checkpoint) : checkpoints.delete(deleted.run.id),
          rlReference ? references.put(rlReference) : references.delete(deleted.run.id),
        ]);
      });
    },

    async importRun(run, state) {
      // Validated against the run's model before the transaction; the id is filled in below.
      const checkpoint = state && toStored(run, state);
      const tx = both();
      return within(tx, async () => {
        const runs = tx.objectStore('runs');
        let id = newRunId();
        while ((await runs.getKey(id)) !== undefined) id = newRunId();
        const byName = runs.index('by-name');
        // A name is taken by a run of the same seed: another seed of one setting keeps its name (a seed group).
        const taken = async (n: string) =>
          (await byName.getAll(n)).some((r: RunRecord) => r.config.seed === run.config.seed);
        let name = run.name;
        for (let k = 1; await taken(name); k++) {
          const suffix = k === 1 ? ' (imported)' : ` (imported ${k})`;
          // Within the run file's name bound, so the copy can be exported again.
          name = run.name.slice(0, RUN_FILE_LIMITS.maxLabelChars - suffix.length) + suffix;
        }
        const record: RunRecord = {
          ...run,
          id,
          name,
          status: LIVE_STATUSES.includes(run.status) ? 'imported' : run.status,
          updatedAt: Date.now(),
          checkpointStep: checkpoint ? checkpoint.step : null,
        };
        const writes: Promise<unknown>[] = [runs.add(record)];
        if (checkpoint) writes.push(tx.objectStore('checkpoints').put({ ...checkpoint, runId: id }));
        await Promise.all(writes);
        return record;
      });
    },

    close() {
      db.close();
    },
  };
}
