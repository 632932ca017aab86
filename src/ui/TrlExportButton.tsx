/**
 * "Export for TRL" on a saved run: builds the run's TRL export (src/export/trl_export.ts) as a zip in a worker
 * (src/export/export.worker.ts, one per export) and downloads it as `<run name>-trl.zip`. Errors go to the error box.
 */
import * as Comlink from 'comlink';
import { useState } from 'react';
import type { ExportWorkerApi } from '../export/export.worker';
import { runFileBaseName } from '../runs/run_file';
import type { RunRecord } from '../runs/run_record';
import { download, useStore } from '../state/store';

async function exportForTrl(run: RunRecord): Promise<void> {
  const worker = new Worker(new URL('../export/export.worker.ts', import.meta.url), {
    type: 'module',
    name: 'stoptime-trl-export',
  });
  // A worker that fails to load or throws outside a call reports an error event, never an answer: fail on it.
  const failed = new Promise<never>((_, reject) => {
    worker.addEventListener('error', (e) => reject(new Error(e.message || 'the export worker failed to start')));
  });
  try {
    const api = Comlink.wrap<ExportWorkerApi>(worker);
    const zip = await Promise.race([api.buildZip(run.name, run.config), failed]);
    download(new Blob([new Uint8Array(zip)], { type: 'application/zip' }), `${runFileBaseName(run)}-trl.zip`);
  } finally {
    worker.terminate();
  }
}

export function TrlExportButton({ run }: { run: RunRecord }) {
  const [busy, setBusy] = useState(false);
  return (
    <button
      type="button"
      className="link"
      disabled={busy}
      data-testid="export-trl"
      title="Datasets, rewards.py, stopping.py, SFT/GRPO configs and scripts for Hugging Face TRL, as a zip"
      onClick={() => {
        setBusy(true);
        exportForTrl(run)
          .catch((e: unknown) => {
            useStore.setState({
              error: `Could not export '${run.name}' for TRL: ${e instanceof Error ? e.message : e}`,
            });
          })
          .finally(() => setBusy(false));
      }}
    >
      {busy ? 'Exporting…' : 'Export for TRL'}
    </button>
  );
}
