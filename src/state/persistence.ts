/**
 * The playground's runs in the database (runs_db.ts, in the browser reached through its worker): loading them when the
 * page opens, one ordered chain of writes (a training run saved at most once per `saveIntervalMs`, status changes,
 * evaluation points and checkpoints at once), the RL stage's reference weights, delete and undo, import and export.
 *
 * Every write goes through one chain whose links handle their own failure (an error in the state), so the chain never
 * rejects and later writes still run. A run being deleted is skipped by every save, so an evaluation point or final
 * checkpoint arriving meanwhile cannot put it back.
 */

import { exportRunFile, parseRunFile, RUN_FILE_LIMITS } from '../runs/run_file';
import { type ResumePlan, type RunRecord, resumePlanFor } from '../runs/run_record';
import type { TrainerState } from '../train/backend';
import { rlConfigFor } from '../train/run_config';
import {
  type InterruptedNotice,
  isActive,
  message,
  type StateHandle,
  sortedIds,
  transferred,
} from './playground_state';
import { type DeletedRun, describeStorageError, newRunId, type RunsDb } from './runs_db';

/** A training run is written to the database at most this often (status changes and eval points are written at once). */
export const SAVE_INTERVAL_MS = 1000;

/** The database as the playground uses it: runs_db.ts's RunsDb, or its worker's comlink remote. */
export type RunsDbClient = Omit<RunsDb, 'close'>;

/** One run file of an export: the JSON text and, for separate weights, the safetensors bytes. */
export interface ExportedFiles {
  json: string;
  fileBaseName: string;
  safetensors: Uint8Array<ArrayBuffer> | null;
}

export class Persistence {
  private db: RunsDbClient | null = null;
  private chain: Promise<void> = Promise.resolve();
  private readonly saveTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly lastSavedAt = new Map<string, number>();
  /** Runs being deleted or deleted (see the file comment); undo takes a run out again. */
  private readonly deletedRunIds = new Set<string>();

  constructor(
    private readonly state: StateHandle,
    /** Opens the database (once, from `open`); its rejection leaves the runs in memory only. */
    private readonly connect: () => Promise<RunsDbClient>,
    private readonly saveIntervalMs = SAVE_INTERVAL_MS,
  ) {}

  /** Whether the database is open (false before `open` and when it could not be opened). */
  get available(): boolean {
    return this.db !== null;
  }

  /**
   * Opens the database and adds its runs to the state; runs stored as training are marked 'interrupted' (the newest of
   * them offered to resume), except those `trainingElsewhere` (another tab holds their lock, tab_locks.ts), which keep
   * their status. Without a database the state says so and runs stay in memory.
   */
  async open(trainingElsewhere: ReadonlySet<string> = new Set()): Promise<void> {
    try {
      const db = await this.connect();
      this.db = db;
      const stored = await db.listRuns();
      const runs: Record<string, RunRecord> = {};
      let interrupted: RunRecord | null = null;
      for (const r of stored) {
        let run = r;
        if ((r.status === 'running' || r.status === 'paused') && !trainingElsewhere.has(r.id)) {
          run = { ...r, status: 'interrupted', updatedAt: Date.now() };
          await db.putRun(run);
          if (interrupted === null || run.createdAt > interrupted.createdAt) interrupted = run;
        }
        runs[run.id] = run;
      }
      const runOrder = sortedIds(runs);
      this.state.setState((s) => ({
        runs: { ...runs, ...s.runs },
        runOrder: [...s.runOrder, ...runOrder.filter((id) => !s.runOrder.includes(id))],
        activeRunId: s.activeRunId ?? runOrder[0] ?? null,
        interrupted: interrupted && interruptedNotice(interrupted),
      }));
    } catch (e) {
      this.db = null;
      this.state.setState({
        storageAvailable: false,
        error: `Saved runs are unavailable (runs will not be kept): ${describeStorageError(e)}`,
      });
    }
  }

  /** Settles once every write queued so far has. */
  settled(): Promise<void> {
    return this.chain;
  }

  isDeleted(runId: string): boolean {
    return this.deletedRunIds.has(runId);
  }

  /** Queues `op` on the write chain (nothing without a database). */
  write(op: (db: RunsDbClient) => Promise<unknown>): Promise<void> {
    const db = this.db;
    if (db === null) return Promise.resolve();
    this.chain = this.chain
      .then(() => op(db))
      .then(
        () => undefined,
        (e: unknown) => {
          this.state.setState({ error: `Could not save to the browser's storage: ${describeStorageError(e)}` });
        },
      );
    return this.chain;
  }

  /** Queues a write of the run as the state holds it when the write runs. */
  saveRunNow(runId: string): void {
    this.markSaved(runId);
    void this.write(async (db) => {
      const run = this.state.getState().runs[runId];
      if (run && !this.deletedRunIds.has(runId)) await db.putRun(run);
    });
  }

  /** saveRunNow, at most once per save interval (a training run changes with every flush). */
  saveRunSoon(runId: string): void {
    if (this.saveTimers.has(runId)) return;
    const since = performance.now() - (this.lastSavedAt.get(runId) ?? Number.NEGATIVE_INFINITY);
    this.saveTimers.set(
      runId,
      setTimeout(() => this.saveRunNow(runId), Math.max(0, this.saveIntervalMs - since)),
    );
  }

  private markSaved(runId: string): void {
    const timer = this.saveTimers.get(runId);
    if (timer !== undefined) clearTimeout(timer);
    this.saveTimers.delete(runId);
    this.lastSavedAt.set(runId, performance.now());
  }

  /**
   * Stores `raw` as the run's checkpoint at timeline step `step` (its `step` is set to it: an RL session counts its own
   * optimiser steps from 0, the run's checkpoint counts the run's), and the run with it. Transfers `raw`'s buffers.
   */
  saveCheckpoint(runId: string, step: number, raw: TrainerState): void {
    const state = raw.step === step ? raw : { ...raw, step };
    const run = this.state.getState().runs[runId];
    if (!run) return;
    const marked = { ...run, checkpointStep: step, updatedAt: Date.now() };
    this.state.setState((s) => ({ runs: { ...s.runs, [runId]: marked } }));
    this.markSaved(runId);
    void this.write(async (db) => {
      if (this.deletedRunIds.has(runId)) return;
      const latest = this.state.getState().runs[runId] ?? marked;
      await db.saveCheckpoint({ ...latest, checkpointStep: step }, transferred(state));
    });
  }

  /**
   * Saves `run` (which names its RL stage in `rlStartStep`) together with the stage's starting weights `from`, kept for a
   * resume once the run's checkpoint holds RL weights: the frozen reference of the KL term (β > 0; none is kept
   * otherwise). Queued before the session's first save of the run, in one transaction with the record, so a stored
   * record naming the stage always has its reference. Copies the weights: `from` itself goes to the engine worker.
   */
  saveRlStart(run: RunRecord, from: TrainerState): void {
    const reference: TrainerState | null =
      rlConfigFor(run.config).loss.beta > 0 ? { params: from.params.slice(), m: null, v: null, step: from.step } : null;
    void this.write(async (db) => {
      if (!this.deletedRunIds.has(run.id)) await db.saveRlReference(run, reference && transferred(reference));
    });
  }

  /** Deletes a run's RL reference weights (with the run's current record, in one transaction). */
  dropRlReference(runId: string): void {
    void this.write(async (db) => {
      const current = this.state.getState().runs[runId];
      if (current && !this.deletedRunIds.has(runId)) await db.saveRlReference(current, null);
    });
  }

  /** The run's stored checkpoint (undefined without one or without a database); `settled` first for the latest. */
  async checkpoint(runId: string): Promise<TrainerState | undefined> {
    return this.db ? this.db.getCheckpoint(runId) : undefined;
  }

  /** The stored weights of the run's RL stage's reference (undefined when none or when they cannot be read). */
  async rlReference(runId: string): Promise<TrainerState | undefined> {
    return this.db?.getRlReference(runId).catch(() => undefined);
  }

  /**
   * Deletes the run from the database (after the queued writes); what was deleted, for undo (null without a database).
   * Throws, saying why, when the database refused; the run is then saved again as before.
   */
  async deleteRun(runId: string): Promise<DeletedRun | null> {
    if (!this.db) return null;
    this.deletedRunIds.add(runId);
    try {
      await this.chain;
      return (await this.db.deleteRun(runId)) ?? null;
    } catch (e) {
      this.deletedRunIds.delete(runId);
      throw new Error(describeStorageError(e));
    }
  }

  /** Puts a deleted run back (undo) and adds it to the state. Throws, saying why, when it cannot. */
  async restoreRun(deleted: DeletedRun): Promise<void> {
    if (!this.db) return;
    try {
      await this.db.restoreRun({
        ...deleted,
        checkpoint: deleted.checkpoint && transferred(deleted.checkpoint),
        rlReference: deleted.rlReference && transferred(deleted.rlReference),
      });
      this.deletedRunIds.delete(deleted.run.id);
      const run = await this.db.getRun(deleted.run.id);
      if (!run) throw new Error('the restored run was not found');
      this.addRun(run);
    } catch (e) {
      throw new Error(describeStorageError(e));
    }
  }

  /**
   * Imports run files (`.stoptime.json`, with one `.safetensors` weights file for a single run file) into the database
   * (or memory, without one) and the state. Each file stands alone: a bad one is reported and the others are kept.
   * Returns the id of the last run imported (null for none), how many were, and the error to show (null for none).
   */
  async importFiles(
    files: readonly File[],
  ): Promise<{ lastId: string | null; imported: number; error: string | null }> {
    const json = files.filter((f) => f.name.toLowerCase().endsWith('.json'));
    const weights = files.filter((f) => f.name.toLowerCase().endsWith('.safetensors'));
    const other = files.filter((f) => !json.includes(f) && !weights.includes(f));
    // Several run files at once (e.g. the runs of a lab matrix); a separate weights file pairs with exactly one.
    if (json.length === 0 || other.length > 0 || weights.length > 1 || (weights.length === 1 && json.length > 1)) {
      const error =
        'Import: pick one or more .stoptime.json run files; a .safetensors weights file only together with its one ' +
        `run file (got ${files.map((f) => `'${f.name}'`).join(', ') || 'no files'}).`;
      return { lastId: null, imported: 0, error };
    }
    const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
    const failures: string[] = [];
    let lastId: string | null = null;
    let imported = 0;
    for (const file of json) {
      if (file.size > RUN_FILE_LIMITS.maxTextChars || (weights[0]?.size ?? 0) > RUN_FILE_LIMITS.maxWeightsBytes) {
        failures.push(
          `'${file.name}': too large (a run file is at most ${mib(RUN_FILE_LIMITS.maxTextChars)}, weights at most ${mib(RUN_FILE_LIMITS.maxWeightsBytes)})`,
        );
        continue;
      }
      try {
        const text = await file.text();
        const sidecar = weights[0] ? new Uint8Array(await weights[0].arrayBuffer()) : undefined;
        const parsed = parseRunFile(text, sidecar);
        let run: RunRecord;
        if (this.db) {
          run = await this.db.importRun(parsed.run, parsed.checkpoint && transferred(parsed.checkpoint));
        } else {
          const live = parsed.run.status === 'running' || parsed.run.status === 'paused';
          run = { ...parsed.run, id: newRunId(), checkpointStep: null, status: live ? 'imported' : parsed.run.status };
        }
        this.addRun(run);
        lastId = run.id;
        imported += 1;
      } catch (e) {
        failures.push(`'${file.name}': ${message(e)}`);
      }
    }
    if (failures.length === 0) return { lastId, imported, error: null };
    const error =
      json.length === 1
        ? `Import of ${failures[0]!.replace(/^'([^']*)': /, "'$1' failed: ")}`
        : `Import: ${failures.length} of ${json.length} files failed: ${failures.join('; ')}`;
    return { lastId, imported, error };
  }

  /**
   * The run file of a run, with its stored checkpoint or else `readModel`'s weights when the worker holds the run's
   * model and no session trains (null: exported without weights); `separate` puts the weights in their own file,
   * `withMoments` adds the checkpoint's AdamW moments (an import then resumes exactly).
   */
  async exportRun(
    run: RunRecord,
    separate: boolean,
    readModel: () => Promise<TrainerState>,
    withMoments = false,
  ): Promise<ExportedFiles> {
    const s = this.state.getState();
    await this.chain;
    let checkpoint: TrainerState | null =
      this.db && run.checkpointStep !== null ? ((await this.db.getCheckpoint(run.id)) ?? null) : null;
    if (checkpoint === null && s.modelRunId === run.id && !isActive(s.session)) checkpoint = await readModel();
    const file = exportRunFile(run, checkpoint, separate ? 'separate' : 'inline', { withMoments });
    return {
      json: file.json,
      fileBaseName: file.fileBaseName,
      safetensors: file.safetensors ? new Uint8Array(file.safetensors) : null,
    };
  }

  private addRun(run: RunRecord): void {
    this.state.setState((s) => {
      const runs = { ...s.runs, [run.id]: run };
      return { runs, runOrder: sortedIds(runs) };
    });
  }
}

function interruptedNotice(run: RunRecord): InterruptedNotice {
  const resumes: ResumePlan['stage'] | null =
    run.checkpointStep === null ? null : resumePlanFor(run, run.checkpointStep).stage;
  return {
    runId: run.id,
    name: run.name,
    step: run.stepsDone,
    checkpointStep: run.checkpointStep,
    rlStartStep: run.rlStartStep ?? null,
    resumes,
  };
}
