/**
 * The Sokoban episode replay of the matrix view's board viewer (src/ui/sokoban_replay.ts): frames follow the task's
 * own `step` from the parsed start board, invalid turns change nothing, and the cell grid spells the task's board text.
 */
import { describe, expect, it } from 'vitest';
import {
  ACTIONS,
  type Action,
  generateLevel,
  isSolved,
  parseBoard,
  renderBoard,
  type SokobanState,
  step,
} from '../../src/tasks/sokoban';
import { boardCells, CELL_SYMBOL, MAX_REPLAY_BOARD_SIDE, replayEpisode } from '../../src/ui/sokoban_replay';
import { createRng } from '../../src/util/rng';

const gridText = (s: SokobanState) =>
  boardCells(s)
    .map((row) => row.map((k) => CELL_SYMBOL[k]).join(''))
    .join('\n');

describe('boardCells', () => {
  it('spells every symbol the task renders, on a hand-made board', () => {
    const text = ['#######', '#P_O_X#', '#_√___#', '#__#_O#', '#######'].join('\n');
    const s = parseBoard(text);
    expect(gridText(s)).toBe(text);
    expect(boardCells(s)[1]).toEqual(['wall', 'player', 'floor', 'target', 'floor', 'box', 'wall']);
    expect(boardCells(s)[2]![2]).toBe('box-on-target');
    const onTarget = parseBoard(['####', '#S_#', '#X_#', '#O_#', '####'].join('\n'));
    expect(boardCells(onTarget)[1]![1]).toBe('player-on-target');
  });

  it("matches the task's renderBoard on generated levels", () => {
    const rng = createRng(7);
    for (let k = 0; k < 10; k++) {
      const { level } = generateLevel(rng);
      expect(gridText(level)).toBe(renderBoard(level));
    }
  });
});

describe('replayEpisode', () => {
  it("follows the task's step on random action sequences, invalid turns included", () => {
    const rng = createRng(11);
    for (let k = 0; k < 10; k++) {
      const { level } = generateLevel(rng);
      const actions: (string | null)[] = Array.from({ length: 20 }, () => {
        const r = rng.int(6);
        return r < 4 ? (ACTIONS[r] as Action) : r === 4 ? null : 'fox';
      });
      const frames = replayEpisode(renderBoard(level), actions);
      expect(frames).toHaveLength(actions.length + 1);
      let s = level;
      expect(renderBoard(frames[0]!.state)).toBe(renderBoard(s));
      actions.forEach((a, t) => {
        const f = frames[t + 1]!;
        if (a === null || a === 'fox') {
          expect(f.outcome).toBe('invalid');
          expect(f.action).toBeNull();
        } else {
          const next = step(s, a as Action);
          expect(f.outcome).toBe(renderBoard(next) === renderBoard(s) ? 'blocked' : 'moved');
          expect(f.action).toBe(a);
          s = next;
        }
        expect(renderBoard(f.state)).toBe(renderBoard(s));
        expect(f.solved).toBe(isSolved(s));
      });
    }
  });

  it('ends solved after an optimal plan and not before', () => {
    const rng = createRng(3);
    for (let k = 0; k < 5; k++) {
      const { level, plan } = generateLevel(rng);
      const frames = replayEpisode(renderBoard(level), plan);
      expect(frames.at(-1)!.solved).toBe(true);
      expect(frames.slice(0, -1).some((f) => f.solved)).toBe(false);
      expect(frames.slice(1).every((f) => f.outcome === 'moved')).toBe(true);
    }
  });

  it('refuses a board over 32×32 before parsing it, and replays one of 32×32', () => {
    /** A walled `h`×`w` room with the player in a corner and a box beside a target. */
    const room = (h: number, w: number) =>
      Array.from({ length: h }, (_, r) => {
        if (r === 0 || r === h - 1) return '#'.repeat(w);
        const inner = r === 1 ? `PXO${'_'.repeat(w - 5)}` : '_'.repeat(w - 2);
        return `#${inner}#`;
      }).join('\n');
    expect(MAX_REPLAY_BOARD_SIDE).toBe(32);
    const frames = replayEpisode(room(32, 32), ['Right']);
    expect([frames[0]!.state.height, frames[0]!.state.width]).toEqual([32, 32]);
    expect(frames[1]!.solved).toBe(true); // the box is pushed onto the target
    expect(() => replayEpisode(room(33, 8), [])).toThrow(/33 rows and up to 8 columns; .* at most 32×32/);
    expect(() => replayEpisode(room(8, 33), [])).toThrow(/8 rows and up to 33 columns/);
    // Checked before parsing: a huge malformed board gets the size message, not the parser's.
    expect(() => replayEpisode(`${'#'.repeat(40_000)}\n#`, [])).toThrow(/up to 40000 columns/);
  });

  it('a board without border walls: moves across its edge are blocked, rows never wrap', () => {
    const outcomes = (board: string, actions: string[]) => {
      const frames = replayEpisode(board, actions);
      return frames.slice(1).map((f) => [f.outcome, f.state.player]);
    };
    // Left from the start of row 1 would land on the end of row 0; Right from the end of row 0 on the start of row 1.
    expect(outcomes('___\nP__', ['Left', 'Up', 'Right', 'Right', 'Right'])).toEqual([
      ['blocked', 3],
      ['moved', 0],
      ['moved', 1],
      ['moved', 2],
      ['blocked', 2],
    ]);
    // Off the top and the bottom.
    expect(outcomes('P__\n___', ['Up', 'Down', 'Down'])).toEqual([
      ['blocked', 0],
      ['moved', 3],
      ['blocked', 3],
    ]);
    // A box is not pushed across the edge either.
    const pushed = replayEpisode('_PX\nO__', ['Right', 'Down']);
    expect(pushed.map((f) => f.outcome)).toEqual([null, 'blocked', 'moved']);
    expect(pushed[2]!.state.boxes).toEqual([2]);
    const pushedLeft = replayEpisode('___\nXP_', ['Left']);
    expect(pushedLeft[1]!.outcome).toBe('blocked');
  });

  it('reports a malformed board with the parser message', () => {
    expect(() => replayEpisode('####\n#P#', [])).toThrow(/row 1 has length 3, want 4/);
    expect(() => replayEpisode('####\n#__#\n####', ['Up'])).toThrow(/no player/);
  });
});
