/// <reference lib="webworker" />
/**
 * The playground's "Export for TRL" off the main thread: drawing a run's datasets (thousands of problems, General
 * Points' solver, Sokoban's search) and zipping them takes from a fraction of a second to several seconds, far over
 * the 50 ms a main-thread task may take. The page sends the run's name and config and gets the zip's bytes back,
 * transferred.
 */
import * as Comlink from 'comlink';
import type { RunConfig } from '../train/run_config';
import { buildTrlExport } from './trl_export';
import { zipStore } from './zip';

const api = {
  /** The zip of the run's export (src/export/trl_export.ts), every file at the archive's root. */
  buildZip(name: string, config: RunConfig): Uint8Array {
    const zip = zipStore(buildTrlExport({ name, config }).map((f) => ({ name: f.path, data: f.text })));
    return Comlink.transfer(zip, [zip.buffer as ArrayBuffer]);
  },
};

export type ExportWorkerApi = typeof api;

Comlink.expose(api);
