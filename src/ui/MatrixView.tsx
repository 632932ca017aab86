/**
 * The generalization lab's results matrix (src/runs/matrix.ts): rows = methods (a run, or the runs of one method
 * trained with several seeds), columns = the task's evaluation suites grouped by kind, each cell the mean success
 * rate over the seeds with its 95% interval ("0.42 [0.31, 0.55]"), count and seed count on a viridis colour scale
 * (src/ui/matrix_scale.ts). A cell is a button: it opens the suite's sample episodes or answers for that
 * run below the table (Sokoban replayed on a board, General Points with its formula checked). A cell with problems that
 * failed because a prompt did not fit the model's context is flagged (⚠), since its rate then says more about the
 * context length than about the method. Runs come from the store
 * (saved and imported runs alike: any with suite results); checkboxes leave some out. Exports the matrix as JSON and
 * CSV.
 */
import { memo, useMemo, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import {
  buildMatrix,
  findSuiteResult,
  hasSuiteResults,
  type MatrixCell,
  type MatrixColumn,
  type MatrixRow,
  type MatrixRunSummary,
  type MatrixSeedResult,
  matrixToCsv,
  matrixToJson,
  perSeedText,
  type ResultsMatrix,
  suiteTasks,
} from '../runs/matrix';
import type { RunRecord } from '../runs/run_record';
import { download, useStore } from '../state/store';
import type { TaskId } from '../tasks/types';
import type { SuiteKind, SuiteResult, SuiteSample } from '../train/suite_types';
import { percent } from '../util/format';
import { wilsonInterval } from '../util/stats';
import { CompletionText } from './CompletionText';
import { GpDetail } from './GpDetail';
import { NO_RATE_COLOR, rateColor, scaleGradient, textColorFor } from './matrix_scale';
import { SokobanEpisode } from './SokobanBoard';

const TASK_LABEL: Record<TaskId, string> = {
  sokoban: 'Sokoban',
  general_points: 'General Points',
  arithmetic: 'Arithmetic',
};
/** Task selector order: the lab's two tasks first. */
const TASK_ORDER: readonly TaskId[] = ['sokoban', 'general_points', 'arithmetic'];

const KIND_LABEL: Record<SuiteKind, string> = {
  id: 'In distribution',
  training: 'Training variant',
  instruction: 'Unseen instructions',
  difficulty: 'Harder',
  fake: 'Fake instruction',
};

const KIND_HELP: Record<SuiteKind, string> = {
  id: 'the training distribution',
  training: 'in distribution only for the methods trained on it (diverse instructions)',
  instruction: 'the same problems under instructions or rules no method trained on',
  difficulty: 'harder problems (bigger boards, more boxes, more or higher cards)',
  fake: 'the prompt states an unseen mapping the environment ignores: following the prompt fails',
};

function summaryText(s: MatrixRunSummary): string {
  const parts = [s.targetStyle === 'cot' ? 'CoT' : 'answer-only', s.instructions, s.modelSize, `SFT ${s.sftSteps}`];
  if (s.rlSteps !== null) parts.push(`RL ${s.rlSteps}`);
  return parts.join(' · ');
}

function unitWord(unit: MatrixColumn['unit'], n: number): string {
  return unit === 'episode' ? (n === 1 ? 'episode' : 'episodes') : n === 1 ? 'answer' : 'answers';
}

/** "3 of 4 episodes failed because a prompt did not fit the model's context", or null when none did. */
function tooLongText(unit: MatrixColumn['unit'], tooLong: number, problems: number): string | null {
  if (tooLong === 0) return null;
  return `${tooLong} of ${problems} ${unitWord(unit, problems)} failed because a prompt did not fit the model's context`;
}

/** "0.42 [0.31, 0.55]": the cell's mean and interval as fractions. */
const fraction2 = (x: number) => x.toFixed(2);

function cellLabel(row: MatrixRow, col: MatrixColumn, c: MatrixCell): string {
  const rate = c.rate === null ? 'no problems' : percent(c.rate);
  const tooLong = tooLongText(col.unit, c.tooLong, c.problems);
  const mean = c.seeds > 1 ? `mean ${rate} over ${c.seeds} seeds` : rate;
  return (
    `${row.label}, suite ${col.suite} (${KIND_LABEL[col.kind]}): ${c.successes} of ${c.problems} ` +
    `${unitWord(col.unit, c.problems)} succeeded, ${mean}, 95% interval ${percent(c.ci[0])} to ${percent(c.ci[1])}` +
    (c.turns !== null && c.parsedTurns !== null && c.turns > 0
      ? `; ${c.parsedTurns} of ${c.turns} answers parsed`
      : '') +
    (tooLong === null ? '' : `; warning: ${tooLong}`)
  );
}

/** Saves text as a file (the store's download helper). */
function downloadText(text: string, fileName: string, type: string): void {
  download(new Blob([text], { type }), fileName);
}

function CellButton({
  row,
  col,
  cell,
  selected,
  onSelect,
}: {
  row: MatrixRow;
  col: MatrixColumn;
  cell: MatrixCell;
  selected: boolean;
  onSelect: () => void;
}) {
  const background = cell.rate === null ? NO_RATE_COLOR : rateColor(cell.rate);
  const color = textColorFor(background);
  const [lo, hi] = cell.ci;
  const tooLong = tooLongText(col.unit, cell.tooLong, cell.problems);
  return (
    <button
      type="button"
      className="matrix-cell"
      style={{ background, color }}
      aria-pressed={selected}
      aria-label={cellLabel(row, col, cell)}
      title={`Show the sample ${unitWord(col.unit, 2)} of this suite${tooLong === null ? '' : `. ⚠ ${tooLong}`}`}
      onClick={onSelect}
      data-testid="matrix-cell"
    >
      <span className="cell-rate">{cell.rate === null ? '—' : fraction2(cell.rate)}</span>
      <span className="cell-count">
        {cell.successes}/{cell.problems}
      </span>
      {cell.seeds > 1 && (
        <span className="cell-seeds" title={perSeedText(cell)} data-testid="matrix-cell-seeds">
          {cell.seeds} seeds
        </span>
      )}
      <span className="cell-ci-bar" aria-hidden="true">
        <span className="ci-range" style={{ left: `${100 * lo}%`, width: `${100 * (hi - lo)}%` }} />
        {cell.rate !== null && <span className="ci-mark" style={{ left: `${100 * cell.rate}%` }} />}
      </span>
      <span className="cell-ci">
        [{fraction2(lo)}, {fraction2(hi)}]
      </span>
      {tooLong !== null && (
        <span className="cell-too-long" aria-hidden="true" data-testid="matrix-cell-too-long">
          ⚠ {cell.tooLong} too long
        </span>
      )}
    </button>
  );
}

function MatrixTable({
  matrix,
  selected,
  onSelect,
}: {
  matrix: ResultsMatrix;
  selected: { runId: string; suite: string } | null;
  onSelect: (runId: string, suite: string) => void;
}) {
  const groups: { kind: SuiteKind; count: number }[] = [];
  for (const col of matrix.columns) {
    const g = groups.at(-1);
    if (g && g.kind === col.kind) g.count++;
    else groups.push({ kind: col.kind, count: 1 });
  }
  return (
    <div className="matrix-scroll">
      <table className="matrix" data-testid="results-matrix">
        <caption className="sr-only">
          Success rate of each method (rows) on each evaluation suite (columns) of {TASK_LABEL[matrix.task]}
        </caption>
        <thead>
          <tr>
            <th rowSpan={2} scope="col" className="matrix-corner">
              Method (run)
            </th>
            {groups.map((g, i) => (
              <th
                // biome-ignore lint/suspicious/noArrayIndexKey: groups follow the column order
                key={i}
                colSpan={g.count}
                scope="colgroup"
                className="matrix-kind"
                title={KIND_HELP[g.kind]}
              >
                {KIND_LABEL[g.kind]}
              </th>
            ))}
          </tr>
          <tr>
            {matrix.columns.map((col) => (
              <th key={col.suite} scope="col" className="matrix-suite" title={`${col.suite}: ${KIND_HELP[col.kind]}`}>
                {col.suite}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {matrix.rows.map((row, i) => (
            <tr key={row.runId}>
              <th scope="row" className="matrix-method">
                <div className="matrix-method-name" title={row.label}>
                  {row.label}
                </div>
                <div className="muted small">{summaryText(row.summary)}</div>
              </th>
              {matrix.columns.map((col, j) => {
                const cell = matrix.cells[i]?.[j] ?? null;
                return (
                  <td key={col.suite}>
                    {cell ? (
                      <CellButton
                        row={row}
                        col={col}
                        cell={cell}
                        selected={selected?.runId === row.runId && selected.suite === col.suite}
                        onSelect={() => onSelect(row.runId, col.suite)}
                      />
                    ) : (
                      <span className="matrix-missing" title="This run was not evaluated on this suite">
                        <span aria-hidden="true">—</span>
                        <span className="sr-only">not evaluated</span>
                      </span>
                    )}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ScaleLegend() {
  return (
    <div className="matrix-legend">
      <span className="legend-scale">
        <span className="small">0%</span>
        <span className="legend-bar" style={{ background: scaleGradient() }} aria-hidden="true" />
        <span className="small">100%</span>
      </span>
      <span className="hint">
        Colour: success rate on the viridis scale, perceptually uniform (equal steps in rate look equal; darker is
        lower, readable in greyscale and with colour-vision deficiencies); text is black or white, whichever contrasts
        more. Each cell: the success rate (mean over the row's seeds), successes/problems over all of them, the seed
        count when there are several, and the 95% interval (one seed: Wilson; several: Wilson at the sample size the
        spread between seeds leaves, src/runs/matrix.ts), drawn as a bar (tick: the rate) and written below it. ⚠ N too
        long: N problems failed because a prompt did not fit the model's context (still counted, as failures). — : not
        evaluated.
      </span>
    </div>
  );
}

function SampleBody({ task, suite, sample }: { task: TaskId; suite: string; sample: SuiteSample }) {
  if (task === 'sokoban') return <SokobanEpisode sample={sample} />;
  if (task === 'general_points') return <GpDetail sample={sample} suite={suite} />;
  return (
    <ol className="sample-turns">
      {sample.turns.map((turn, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: turns of a sample never reorder
        <li key={i}>
          <span className="muted small">
            answer {turn.action ?? 'none'} · {turn.note} · {turn.thinkingTokens} thinking tokens
          </span>
          <CompletionText prompt={i === 0 ? sample.prompt : undefined} completion={turn.completion} />
        </li>
      ))}
    </ol>
  );
}

/**
 * The details pane of one cell: the suite's counts, interval, thinking and actions, the problems that did not fit the
 * context (when any), and its sample episodes or answers.
 */
export function CellDetails({ run, result, onClose }: { run: RunRecord; result: SuiteResult; onClose: () => void }) {
  const [index, setIndex] = useState(0);
  const sample = result.samples[Math.min(index, result.samples.length - 1)];
  const { low: lo, high: hi } = wilsonInterval(result.successes, result.problems);
  const verb = result.unit === 'episode' ? 'solved' : 'correct';
  const tooLong = tooLongText(result.unit, result.tooLong ?? 0, result.problems);
  return (
    <section className="matrix-details" aria-labelledby="matrix-details-title" data-testid="matrix-details">
      <div className="matrix-details-head">
        <h3 id="matrix-details-title">
          {run.name} · {result.suite} <span className="muted">({KIND_LABEL[result.kind]})</span>
        </h3>
        <button type="button" className="link" onClick={onClose}>
          Close
        </button>
      </div>
      <p className="small matrix-details-stats">
        {result.successes}/{result.problems} {unitWord(result.unit, result.problems)} {verb}
        {result.problems > 0 &&
          ` (${percent(result.successes / result.problems)}, 95% CI ${percent(lo)}–${percent(hi)})`}{' '}
        · mean {result.meanThinkingTokens.toFixed(1)} thinking tokens
        {result.meanActions !== null && ` · ${result.meanActions.toFixed(1)} actions per episode`}
        {result.turns !== undefined &&
          result.parsedTurns !== undefined &&
          result.turns > 0 &&
          ` · ${result.parsedTurns}/${result.turns} answers parsed (${percent(result.parsedTurns / result.turns)})`}{' '}
        · evaluated in {(result.evalTimeMs / 1000).toFixed(1)} s
      </p>
      {tooLong !== null && (
        <p className="small matrix-too-long" data-testid="matrix-details-too-long">
          <span aria-hidden="true">⚠ </span>
          {tooLong}. They count as failures, so this rate measures the context length as much as the method.
        </p>
      )}
      {sample === undefined ? (
        <p className="muted small">No samples were kept for this suite.</p>
      ) : (
        <>
          <fieldset className="sample-picker">
            <legend className="sr-only">Sample</legend>
            {result.samples.map((s, i) => (
              <button
                // biome-ignore lint/suspicious/noArrayIndexKey: a result's samples never reorder
                key={i}
                type="button"
                className={s.success ? 'sample-ok' : 'sample-bad'}
                aria-pressed={i === Math.min(index, result.samples.length - 1)}
                title={s.reason}
                onClick={() => setIndex(i)}
              >
                <span aria-hidden="true">{s.success ? '✓' : '✗'}</span> {result.unit} {i + 1}
                <span className="sr-only">{s.success ? ', succeeded' : ', failed'}</span>
              </button>
            ))}
          </fieldset>
          <p className="small">
            <span className={sample.success ? 'mark-ok' : 'mark-bad'}>{sample.success ? 'Succeeded' : 'Failed'}</span>:{' '}
            {sample.reason}
          </p>
          <SampleBody key={`${result.suite}/${index}`} task={result.task} suite={result.suite} sample={sample} />
        </>
      )}
    </section>
  );
}

function RunChooser({
  runs,
  excluded,
  onToggle,
}: {
  runs: readonly RunRecord[];
  excluded: ReadonlySet<string>;
  onToggle: (runId: string) => void;
}) {
  return (
    <fieldset className="matrix-runs">
      <legend className="subhead">Runs in the matrix</legend>
      {runs.map((r) => (
        <label key={r.id} className="check">
          <input
            type="checkbox"
            checked={!excluded.has(r.id)}
            onChange={() => onToggle(r.id)}
            data-testid="matrix-run-toggle"
          />
          <span className="matrix-run-name">{r.name}</span>
          {runs.some((o) => o !== r && o.name === r.name) && (
            <span className="muted small"> · seed {r.config.seed}</span>
          )}
        </label>
      ))}
    </fieldset>
  );
}

/** The per-seed results of the selected cell (its row's runs that have the suite), or none. */
function selectedCellSeeds(
  matrix: ResultsMatrix | null,
  selected: { runId: string; suite: string } | null,
): MatrixSeedResult[] {
  if (matrix === null || selected === null) return [];
  const i = matrix.rows.findIndex((r) => r.runId === selected.runId);
  const j = matrix.columns.findIndex((c) => c.suite === selected.suite);
  return (i < 0 || j < 0 ? null : matrix.cells[i]?.[j])?.perSeed ?? [];
}

/** Runs that carry suite results (a training run without them never re-renders the view). */
function useEvaluatedRuns(): RunRecord[] {
  return useStore(
    useShallow((s) =>
      s.runOrder
        .map((id) => s.runs[id])
        .filter((r): r is RunRecord => r !== undefined && (r.suiteResults?.length ?? 0) > 0),
    ),
  );
}

/** The results matrix of the store's evaluated runs. */
export const MatrixView = memo(function MatrixView() {
  return <MatrixPanel runs={useEvaluatedRuns()} />;
});

/** The results matrix over `runs` (those without suite results are ignored): task selector, run choice, table, details. */
export function MatrixPanel({ runs }: { runs: readonly RunRecord[] }) {
  const tasks = useMemo(() => {
    const present = suiteTasks(runs);
    return TASK_ORDER.filter((t) => present.includes(t));
  }, [runs]);
  const [taskChoice, setTaskChoice] = useState<TaskId | null>(null);
  const task = taskChoice !== null && tasks.includes(taskChoice) ? taskChoice : (tasks[0] ?? null);
  // Oldest first: the order the lab queues its methods in.
  const candidates = useMemo(
    () => (task === null ? [] : runs.filter((r) => hasSuiteResults(r, task)).sort((a, b) => a.createdAt - b.createdAt)),
    [runs, task],
  );
  const [excluded, setExcluded] = useState<ReadonlySet<string>>(new Set());
  const matrix = useMemo(
    () =>
      task === null
        ? null
        : buildMatrix(
            candidates.filter((r) => !excluded.has(r.id)),
            task,
          ),
    [candidates, excluded, task],
  );
  // The selected cell (its row's first run and its suite) and, in a row of several seeds, the seed's run shown.
  const [selected, setSelected] = useState<{ runId: string; suite: string } | null>(null);
  const [seedRunId, setSeedRunId] = useState<string | null>(null);
  const selectedSeeds = selectedCellSeeds(matrix, selected);
  const shownRunId =
    seedRunId !== null && selectedSeeds.some((p) => p.runId === seedRunId) ? seedRunId : selectedSeeds[0]?.runId;
  const selectedRun = candidates.find((r) => r.id === shownRunId && !excluded.has(r.id));
  const selectedResult =
    selected && selectedRun && task !== null ? findSuiteResult(selectedRun, task, selected.suite) : null;

  if (task === null || matrix === null) {
    return (
      <p className="muted small" data-testid="results-matrix-empty">
        No evaluated runs yet. Runs appear here once they carry suite results: the lab's runs, or run files from{' '}
        <code>npm run experiment</code> with a matrix preset imported in the Runs panel.
      </p>
    );
  }
  const toggle = (runId: string) =>
    setExcluded((prev) => {
      const next = new Set(prev);
      if (next.has(runId)) next.delete(runId);
      else next.add(runId);
      return next;
    });
  const empty = matrix.rows.length === 0;
  return (
    <div className="matrix-view">
      <div className="matrix-toolbar">
        {tasks.length > 1 && (
          <fieldset className="matrix-tasks">
            <legend className="sr-only">Task</legend>
            {tasks.map((t) => (
              <button
                key={t}
                type="button"
                aria-pressed={t === task}
                className={t === task ? 'primary' : undefined}
                data-testid={`matrix-task-${t}`}
                onClick={() => {
                  setTaskChoice(t);
                  setSelected(null);
                }}
              >
                {TASK_LABEL[t]}
              </button>
            ))}
          </fieldset>
        )}
        <div className="button-row matrix-exports">
          <button
            type="button"
            disabled={empty}
            onClick={() => downloadText(matrixToJson(matrix), `stoptime-matrix-${task}.json`, 'application/json')}
            data-testid="export-matrix-json"
          >
            Export matrix JSON
          </button>
          <button
            type="button"
            disabled={empty}
            onClick={() => downloadText(matrixToCsv(matrix), `stoptime-matrix-${task}.csv`, 'text/csv;charset=utf-8')}
            data-testid="export-matrix-csv"
          >
            Export CSV
          </button>
        </div>
      </div>
      <div className="matrix-body">
        <RunChooser runs={candidates} excluded={excluded} onToggle={toggle} />
        <div className="matrix-main">
          {empty ? (
            <p className="muted small">Every run is left out: tick one to show it.</p>
          ) : (
            <>
              <MatrixTable
                matrix={matrix}
                selected={selectedResult ? selected : null}
                onSelect={(runId, suite) =>
                  setSelected((cur) => (cur?.runId === runId && cur.suite === suite ? null : { runId, suite }))
                }
              />
              <ScaleLegend />
            </>
          )}
          {matrix.warnings.length > 0 && (
            <ul className="issue-list">
              {matrix.warnings.map((w) => (
                <li key={w}>{w}</li>
              ))}
            </ul>
          )}
        </div>
      </div>
      {selectedRun && selectedResult && selectedSeeds.length > 1 && (
        <fieldset className="sample-picker matrix-seed-picker" data-testid="matrix-seed-picker">
          <legend className="small">Seed shown below</legend>
          {selectedSeeds.map((p) => (
            <button
              key={p.runId}
              type="button"
              aria-pressed={p.runId === selectedRun.id}
              onClick={() => setSeedRunId(p.runId)}
            >
              seed {p.seed}: {p.successes}/{p.problems}
            </button>
          ))}
        </fieldset>
      )}
      {selectedRun && selectedResult && (
        <CellDetails
          key={`${selectedRun.id}/${selectedResult.suite}`}
          run={selectedRun}
          result={selectedResult}
          onClose={() => setSelected(null)}
        />
      )}
    </div>
  );
}
