/**
 * Saved runs (IndexedDB): select one to show it in the charts (and evaluate its weights), tick runs to overlay them,
 * rename inline, delete (with Undo), resume an interrupted run, export the shown run as a run file (weights inline or
 * as a separate .safetensors file) and import run files.
 */
import { memo, useRef, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { type RunRecord, stepsLabel } from '../runs/run_record';
import { isActive, useStore } from '../state/store';
import { RUN_COLORS } from './chart_data';
import { TrlExportButton } from './TrlExportButton';

function statusText(run: RunRecord): string {
  return run.status === 'finished' ? 'done' : run.status;
}

const RunRow = memo(function RunRow({ run, colorIndex }: { run: RunRecord; colorIndex: number | null }) {
  const active = useStore((s) => s.activeRunId === run.id);
  const compared = useStore((s) => s.compareRunIds.includes(run.id));
  const training = useStore((s) => isActive(s.session) && s.session.runId === run.id);
  const busy = useStore((s) => isActive(s.session));
  const { selectRun, toggleCompare, renameRun, deleteRun, resumeRun, applyRunSettings } = useStore.getState();
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(run.name);
  const cancelled = useRef(false);
  return (
    <li className={active ? 'run run-active' : 'run'} data-testid="run-row" data-run-id={run.id}>
      <div className="run-line">
        <input
          type="checkbox"
          id={`cmp-${run.id}`}
          checked={compared}
          onChange={() => toggleCompare(run.id)}
          aria-label={`Compare ${run.name}`}
          title="Overlay on the charts"
        />
        {colorIndex !== null && (
          <span className="swatch" style={{ background: RUN_COLORS[colorIndex % RUN_COLORS.length] }} />
        )}
        {editing ? (
          <form
            className="rename"
            onSubmit={(e) => {
              e.preventDefault();
              renameRun(run.id, draft);
              setEditing(false);
            }}
          >
            <label className="sr-only" htmlFor={`name-${run.id}`}>
              Run name
            </label>
            <input
              id={`name-${run.id}`}
              value={draft}
              maxLength={120}
              onChange={(e) => setDraft(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === 'Escape') {
                  cancelled.current = true;
                  setEditing(false);
                }
              }}
              onBlur={() => {
                if (!cancelled.current) renameRun(run.id, draft);
                setEditing(false);
              }}
              // biome-ignore lint/a11y/noAutofocus: the field appears because the user asked to rename
              autoFocus
            />
          </form>
        ) : (
          <button
            type="button"
            className="run-name"
            onClick={() => selectRun(run.id)}
            aria-pressed={active}
            title="Show in the charts and evaluate"
          >
            {run.name}
          </button>
        )}
      </div>
      <div className="run-meta">
        <span className={`state state-${run.status}`}>{training ? 'training' : statusText(run)}</span> ·{' '}
        {stepsLabel(run)} · {run.evalPoints.length} pts
        {run.checkpointStep !== null ? ` · ckpt @${run.checkpointStep}` : ' · no weights'}
      </div>
      <div className="run-actions">
        {run.status === 'interrupted' && run.checkpointStep !== null && (
          <button type="button" disabled={busy} onClick={() => void resumeRun(run.id)}>
            Resume
          </button>
        )}
        <button
          type="button"
          className="link"
          onClick={() => {
            cancelled.current = false;
            setDraft(run.name);
            setEditing(true);
          }}
        >
          Rename
        </button>
        <button type="button" className="link" disabled={busy} onClick={() => applyRunSettings(run.id)}>
          Use settings
        </button>
        <TrlExportButton run={run} />
        <button
          type="button"
          className="link danger"
          disabled={training}
          onClick={() => void deleteRun(run.id)}
          data-testid="delete-run"
        >
          Delete
        </button>
      </div>
    </li>
  );
});

function ExportImport() {
  const activeRunId = useStore((s) => s.activeRunId);
  const { exportRun, importFiles } = useStore.getState();
  const [separate, setSeparate] = useState(false);
  const [withMoments, setWithMoments] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);
  return (
    <div className="export-import">
      <div className="button-row">
        <button
          type="button"
          data-testid="export-run"
          disabled={activeRunId === null}
          onClick={() => activeRunId !== null && void exportRun(activeRunId, separate, withMoments)}
        >
          Export run
        </button>
        <label className="check">
          <input
            type="checkbox"
            checked={separate}
            onChange={(e) => setSeparate(e.target.checked)}
            data-testid="export-separate"
          />
          weights as separate file
        </label>
        <label className="check" title="AdamW moments beside the weights: an import resumes exactly as a reload does">
          <input
            type="checkbox"
            checked={withMoments}
            onChange={(e) => setWithMoments(e.target.checked)}
            data-testid="export-moments"
          />
          with optimiser state (exact resume)
        </label>
      </div>
      <div className="field">
        <label htmlFor="import-run">Import run files (.json; a .safetensors only with its one run file)</label>
        <input
          id="import-run"
          ref={fileInput}
          type="file"
          accept=".json,.safetensors,application/json"
          multiple
          data-testid="import-run"
          onChange={(e) => {
            const files = [...(e.target.files ?? [])];
            if (files.length > 0) void importFiles(files);
            if (fileInput.current) fileInput.current.value = '';
          }}
        />
      </div>
    </div>
  );
}

export const RunsPanel = memo(function RunsPanel() {
  const runs = useStore(useShallow((s) => s.runOrder.map((id) => s.runs[id]).filter((r) => r !== undefined)));
  const colorOf = useStore(
    useShallow((s) => {
      // Same colour order as the charts: the active run first, then the compared ones.
      const ids: string[] = [];
      if (s.activeRunId !== null) ids.push(s.activeRunId);
      for (const id of s.compareRunIds) if (!ids.includes(id)) ids.push(id);
      return ids.length > 1 ? ids : [];
    }),
  );
  const storage = useStore((s) => s.storageAvailable);
  return (
    <section className="panel" aria-labelledby="runs-title">
      <h2 id="runs-title">Runs</h2>
      {!storage && <p className="hint">Browser storage is unavailable: runs are kept only until the page closes.</p>}
      <ExportImport />
      {runs.length === 0 ? (
        <p className="muted small" data-testid="runs-list">
          No runs yet. Press Start to train one.
        </p>
      ) : (
        <ul className="runs" data-testid="runs-list">
          {runs.map((r) => {
            const k = colorOf.indexOf(r.id);
            return <RunRow key={r.id} run={r} colorIndex={k >= 0 ? k : null} />;
          })}
        </ul>
      )}
    </section>
  );
});
