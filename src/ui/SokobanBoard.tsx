/**
 * Sokoban in the results matrix's cell details: `SokobanBoard` draws one board (SVG: walls, floor, targets, boxes,
 * boxes on targets, the player), and `SokobanEpisode` steps through a suite sample's episode action by action from its
 * start board (`sample.board`), replayed with the task's own `step` (src/ui/sokoban_replay.ts). Each turn shows the
 * model's completion (thinking set apart), the action applied and the evaluation's note; an invalid turn leaves the
 * board unchanged and says so.
 */
import { memo, useMemo, useState } from 'react';
import type { SokobanState } from '../tasks/sokoban';
import type { SuiteSample } from '../train/suite_types';
import { CompletionText } from './CompletionText';
import { boardCells, type CellKind, type ReplayFrame, replayEpisode } from './sokoban_replay';

const CELL_PX = 24;

const rc = (s: SokobanState, i: number) => `(${Math.floor(i / s.width)},${i % s.width})`;

/** What a screen reader hears for a board: size, player, boxes and targets in the task's (row,col) coordinates. */
function describeBoard(s: SokobanState): string {
  const targets: number[] = [];
  for (let i = 0; i < s.cells.length; i++) if (s.cells[i] === 'O') targets.push(i);
  const onTarget = s.boxes.filter((b) => s.cells[b] === 'O').length;
  return (
    `Sokoban board ${s.height}×${s.width}: player ${rc(s, s.player)}; ` +
    `boxes ${s.boxes.map((b) => rc(s, b)).join(' ')}; targets ${targets.map((t) => rc(s, t)).join(' ')}; ` +
    `${onTarget} of ${s.boxes.length} boxes on targets`
  );
}

function Cell({ kind, x, y }: { kind: CellKind; x: number; y: number }) {
  const c = CELL_PX;
  const cx = x + c / 2;
  const cy = y + c / 2;
  if (kind === 'wall') return <rect className="sk-wall" x={x} y={y} width={c} height={c} />;
  const target = kind === 'target' || kind === 'box-on-target' || kind === 'player-on-target';
  return (
    <g>
      <rect className="sk-floor" x={x} y={y} width={c} height={c} />
      {target && <circle className="sk-target" cx={cx} cy={cy} r={c * 0.3} />}
      {(kind === 'box' || kind === 'box-on-target') && (
        <rect
          className={kind === 'box' ? 'sk-box' : 'sk-box sk-box-done'}
          x={x + c * 0.16}
          y={y + c * 0.16}
          width={c * 0.68}
          height={c * 0.68}
          rx={2}
        />
      )}
      {(kind === 'player' || kind === 'player-on-target') && (
        <circle className="sk-player" cx={cx} cy={cy} r={c * 0.24} />
      )}
    </g>
  );
}

/** One board, drawn. */
export const SokobanBoard = memo(function SokobanBoard({ state }: { state: SokobanState }) {
  const grid = boardCells(state);
  return (
    <svg
      className="sk-board"
      role="img"
      aria-label={describeBoard(state)}
      width={state.width * CELL_PX}
      height={state.height * CELL_PX}
      viewBox={`0 0 ${state.width * CELL_PX} ${state.height * CELL_PX}`}
    >
      {grid.map((row, r) =>
        row.map((kind, c) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: cells are positions on a fixed grid
          <Cell key={`${r}-${c}`} kind={kind} x={c * CELL_PX} y={r * CELL_PX} />
        )),
      )}
    </svg>
  );
});

/** The board symbols, drawn, for the legend under the episode viewer. */
function BoardLegend() {
  const items: [CellKind, string][] = [
    ['wall', 'wall'],
    ['target', 'target'],
    ['box', 'box'],
    ['box-on-target', 'box on target'],
    ['player', 'player'],
  ];
  return (
    <div className="sk-legend" aria-hidden="true">
      {items.map(([kind, label]) => (
        <span key={kind} className="legend-item">
          <svg aria-hidden="true" width={CELL_PX * 0.75} height={CELL_PX * 0.75} viewBox={`0 0 ${CELL_PX} ${CELL_PX}`}>
            <Cell kind={kind} x={0} y={0} />
          </svg>
          {label}
        </span>
      ))}
    </div>
  );
}

function outcomeText(f: ReplayFrame): string {
  switch (f.outcome) {
    case 'moved':
      return `${f.action}: moved`;
    case 'blocked':
      return `${f.action}: blocked, nothing moved`;
    case 'invalid':
      return 'no valid action: the board is unchanged (the turn still used an action)';
    default:
      return 'start board';
  }
}

/** Steps through one Sokoban suite sample (an episode). */
export function SokobanEpisode({ sample }: { sample: SuiteSample }) {
  const replay = useMemo(() => {
    if (sample.board === undefined) return { frames: null, error: 'this sample has no start board to replay' };
    try {
      return {
        frames: replayEpisode(
          sample.board,
          sample.turns.map((t) => t.action),
        ),
        error: null,
      };
    } catch (e) {
      return { frames: null, error: `the start board cannot be read (${e instanceof Error ? e.message : e})` };
    }
  }, [sample]);
  const [t, setT] = useState(0);
  const frames = replay.frames;
  if (frames === null) {
    return (
      <div className="sk-episode">
        <p className="hint">Cannot replay: {replay.error}.</p>
        <ol className="sample-turns">
          {sample.turns.map((turn, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: turns of a sample never reorder
            <li key={i}>
              <span className="muted small">
                turn {i + 1} · {turn.action ?? 'no action'} · {turn.note}
              </span>
              <CompletionText completion={turn.completion} />
            </li>
          ))}
        </ol>
      </div>
    );
  }
  const last = frames.length - 1;
  const at = Math.min(t, last);
  const frame = frames[at] as ReplayFrame;
  const turn = at > 0 ? sample.turns[at - 1] : undefined;
  const end = frames[last] as ReplayFrame;
  const go = (k: number) => setT(Math.max(0, Math.min(last, k)));
  return (
    <div className="sk-episode">
      <div className="sk-stage">
        <SokobanBoard state={frame.state} />
        <div className="sk-side">
          <fieldset className="sk-controls">
            <legend className="sr-only">Episode turns</legend>
            <button type="button" onClick={() => go(0)} disabled={at === 0} title="Start board">
              <span aria-hidden="true">«</span> First
            </button>
            <button type="button" onClick={() => go(at - 1)} disabled={at === 0}>
              <span aria-hidden="true">‹</span> Previous
            </button>
            <button type="button" onClick={() => go(at + 1)} disabled={at === last}>
              Next <span aria-hidden="true">›</span>
            </button>
            <button type="button" onClick={() => go(last)} disabled={at === last}>
              Last <span aria-hidden="true">»</span>
            </button>
          </fieldset>
          <input
            type="range"
            className="sk-slider"
            min={0}
            max={last}
            step={1}
            value={at}
            onChange={(e) => go(Number(e.target.value))}
            aria-label="Turn"
            aria-valuetext={at === 0 ? 'start board' : `turn ${at} of ${last}`}
            disabled={last === 0}
          />
          <div className="sk-position" aria-live="polite">
            {at === 0 ? `start · ${last} turn${last === 1 ? '' : 's'}` : `turn ${at} of ${last}`} ·{' '}
            <span className={frame.outcome === 'invalid' ? 'sk-invalid' : undefined}>{outcomeText(frame)}</span>
          </div>
          {at === last && (
            <div className={sample.success ? 'sk-verdict sk-solved' : 'sk-verdict sk-unsolved'}>
              {sample.success ? '✓ solved' : '✗ not solved'} · {sample.reason}
              {end.solved !== sample.success && (
                <span className="hint">
                  {' '}
                  (the replay ends {end.solved ? 'solved' : 'unsolved'}, unlike the evaluation's record)
                </span>
              )}
            </div>
          )}
          <BoardLegend />
        </div>
      </div>
      {turn ? (
        <div className="sk-turn">
          <div className="muted small">
            action <strong>{turn.action ?? 'none'}</strong> · note {turn.note} · {turn.thinkingTokens} thinking tokens
          </div>
          <CompletionText completion={turn.completion} />
        </div>
      ) : (
        <p className="muted small">The first prompt shows this board. Step forward to see each turn's output.</p>
      )}
    </div>
  );
}
