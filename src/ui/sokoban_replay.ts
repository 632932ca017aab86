/**
 * Replay of a Sokoban evaluation episode for the board viewer (src/ui/SokobanBoard.tsx): the start board text of a
 * suite sample and its turns' actions, stepped with the task's own `step`, and a board as a grid of cell kinds to
 * draw. Pure (no DOM).
 */
import { RUN_FILE_LIMITS } from '../runs/run_file';
import { ACTIONS, type Action, isSolved, parseBoard, type SokobanState, step } from '../tasks/sokoban';

/**
 * Most rows and columns of a board the viewer replays: the run file's bound (the tasks generate 10×10 at most). Each
 * step and each drawn frame costs cells × boxes, so a larger board, e.g. from a run saved before the bound, is refused
 * rather than allowed to freeze the tab.
 */
export const MAX_REPLAY_BOARD_SIDE = RUN_FILE_LIMITS.maxBoardSide;

export type CellKind = 'wall' | 'floor' | 'target' | 'box' | 'box-on-target' | 'player' | 'player-on-target';

/** The board symbol of each cell kind (docs/tasks.md). */
export const CELL_SYMBOL: Record<CellKind, string> = {
  wall: '#',
  floor: '_',
  target: 'O',
  box: 'X',
  'box-on-target': '√',
  player: 'P',
  'player-on-target': 'S',
};

/** A board as rows of cell kinds, [height][width]. */
export function boardCells(s: SokobanState): CellKind[][] {
  const rows: CellKind[][] = [];
  const boxes = new Set(s.boxes);
  for (let r = 0; r < s.height; r++) {
    const row: CellKind[] = [];
    for (let c = 0; c < s.width; c++) {
      const i = r * s.width + c;
      const target = s.cells[i] === 'O';
      if (boxes.has(i)) row.push(target ? 'box-on-target' : 'box');
      else if (s.player === i) row.push(target ? 'player-on-target' : 'player');
      else if (s.cells[i] === '#') row.push('wall');
      else row.push(target ? 'target' : 'floor');
    }
    rows.push(row);
  }
  return rows;
}

/** What one turn did to the board. */
export type ReplayOutcome =
  /** The action moved the player (and maybe a box). */
  | 'moved'
  /** A valid action that changed nothing (walked into a wall or a blocked box). */
  | 'blocked'
  /** No action was parsed (or an unknown one was recorded): the turn used an action and changed nothing. */
  | 'invalid';

export interface ReplayFrame {
  /** The board after this frame's turn (frame 0: the start board). */
  state: SokobanState;
  /** The action applied; null for frame 0 and for invalid turns. */
  action: Action | null;
  /** Null for frame 0. */
  outcome: ReplayOutcome | null;
  solved: boolean;
}

function asAction(a: string | null): Action | null {
  return a !== null && (ACTIONS as readonly string[]).includes(a) ? (a as Action) : null;
}

/**
 * The frames of an episode: the start board (parsed from `board`, the task's text form), then one frame per action.
 * A null or unknown action leaves the board unchanged (as in the environment, an unparseable answer uses an action and
 * changes nothing). Throws, with the parser's message, on a malformed board, and on a board with more than
 * MAX_REPLAY_BOARD_SIDE rows or columns (checked before parsing).
 */
export function replayEpisode(board: string, actions: readonly (string | null)[]): ReplayFrame[] {
  const rows = board.split('\n');
  const width = rows.reduce((w, row) => Math.max(w, row.length), 0);
  if (rows.length > MAX_REPLAY_BOARD_SIDE || width > MAX_REPLAY_BOARD_SIDE) {
    throw new Error(
      `the board has ${rows.length} rows and up to ${width} columns; the viewer replays boards of at most ${MAX_REPLAY_BOARD_SIDE}×${MAX_REPLAY_BOARD_SIDE}`,
    );
  }
  let s = parseBoard(board);
  const frames: ReplayFrame[] = [{ state: s, action: null, outcome: null, solved: isSolved(s) }];
  for (const raw of actions) {
    const a = asAction(raw);
    let outcome: ReplayOutcome;
    if (a === null) outcome = 'invalid';
    else {
      const next = step(s, a);
      outcome = next === s ? 'blocked' : 'moved';
      s = next;
    }
    frames.push({ state: s, action: a, outcome, solved: isSolved(s) });
  }
  return frames;
}
