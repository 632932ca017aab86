/**
 * Sokoban, one action per prompt.
 *
 * Board symbols: `#` wall, `_` floor, `O` target, `X` box, `P` player, `√` box on target, `S` player on target.
 * Prompt (rows of the board, then the action line):
 *   `######\n#_O__#\n#_X__#\n#_P__#\n#____#\n######\nact Up,Down,Left,Right:`            (words, 'id')
 *   `...\nact A=Up,B=Down,C=Left,D=Right:`                                                  (alpha)
 *   `...\nact 1=Up,2=Down,3=Left,4=Right:`                                                  (numeric, fake_numeric)
 *   `...\nact !=Up,%=Down,~=Left,@=Right:`                                      (symbols: drawn per sample)
 *   `...\nact hat=Down,fox=Up,pen=Right,jam=Left:` / `act q=Left,b=Up,...:` / `act Up,Down,Left,Right:`
 *        (diverse, training only: one name pool per sample, entries in a shuffled order, or the plain training line)
 *   `...\nact Down=Up,Up=Down,Right=Left,Left=Right:`   (fake_swap: a deranged mapping of the training names)
 * CoT target: `<think>P(3,2);X(2,2);O(1,2);push X(2,2) Up on O;act Up</think><answer>Up</answer><eos>`; when the player
 * must first walk: `...;push X(2,2) Up from (3,2);go (3,2);act Left=C`. Coordinates are (row,col), 0-based, row 0 on
 * top. The think text locates player, boxes and targets, names the next push of an optimal plan (and where the player
 * must stand for it), then the action and its stated name.
 * Answer: the accepted name of the action. The fake variants state one mapping while the environment accepts only the
 * training words with their training meaning: 'fake_numeric' states 1..4 (characters an answer-only model never saw
 * in an action line), 'fake_swap' states the training words themselves, permuted (`Down=Up`: every token is one the
 * model was trained on, only the mapping differs). Following the stated mapping fails; answering in the training
 * vocabulary succeeds.
 *
 * Episode: prompt with the current board, parse one action, step, repeat; success when every box is on a target
 * within maxEpisodeActions (30) actions. Unparseable answers use up an action and change nothing.
 *
 * Levels are made by reverse play from the solved state (the player walks and pulls boxes), so every level is
 * solvable; a BFS over (player, boxes) gives optimal plans and the set of optimal first actions.
 *
 * Lengths: maxSequenceTokens(config) is a guaranteed bound (derivation at the function): 179 for 6x6 one box,
 * 257 for 10x10 two boxes. Measured longest CoT sequences over 150 samples per variant (seed 777, length tag
 * included): id 149, alpha 155, numeric 155, symbols 155, diverse 172, fake_numeric 157, fake_swap 167, boxes2 159,
 * size8 178, size10 217, size10_boxes2 227 (table in docs/tasks.md).
 */
import type { Rng } from '../util/rng';
import { shuffleInPlace } from '../util/rng';
import { buildPrompt, correctResult, extractAnswer, guardVerify, incorrect } from './format';
import { countTokens } from './tokenizer';
import type { GenerateOptions, LengthTag, VerifyResult, WrittenTarget } from './types';

export type Action = 'Up' | 'Down' | 'Left' | 'Right';
export const ACTIONS: readonly Action[] = ['Up', 'Down', 'Left', 'Right'];

export interface SokobanState {
  width: number;
  height: number;
  /** Static layer, row-major, one char per cell: '#' wall, '_' floor, 'O' target. */
  cells: string;
  /** Cell indices of the boxes, sorted ascending. */
  boxes: number[];
  player: number;
}

export type InstructionVariant = 'words' | 'alpha' | 'numeric' | 'symbols' | 'diverse' | 'fake_numeric' | 'fake_swap';

/** Names for [Up, Down, Left, Right]. */
export type ActionNames = [string, string, string, string];

export interface Instruction {
  variant: InstructionVariant;
  /** Names stated in the prompt. */
  stated: ActionNames;
  /** Names the environment accepts. */
  accepted: ActionNames;
  /**
   * Order in which the action line lists the actions (indices into ACTIONS); absent: Up, Down, Left, Right. Only
   * diverse training instructions shuffle it.
   */
  order?: number[];
  /** The action line is the plain list of the training names (`act Up,Down,Left,Right:`); absent: only for 'words'. */
  plain?: boolean;
}

export type SokobanVariant =
  | 'id'
  | 'size8'
  | 'size10'
  | 'boxes2'
  | 'size10_boxes2'
  | 'alpha'
  | 'numeric'
  | 'symbols'
  | 'diverse'
  | 'fake_numeric'
  | 'fake_swap';

export const SOKOBAN_VARIANTS: readonly SokobanVariant[] = [
  'id',
  'size8',
  'size10',
  'boxes2',
  'size10_boxes2',
  'alpha',
  'numeric',
  'symbols',
  'diverse',
  'fake_numeric',
  // Last, so the eval-suite seeds of the variants above (seed + index) are what they were before it existed.
  'fake_swap',
];

export interface SokobanVariantSpec {
  size: number | null;
  boxes: number | null;
  instruction: InstructionVariant;
}

/** null size/boxes: use the config's. */
export const SOKOBAN_VARIANT_SPECS: Record<SokobanVariant, SokobanVariantSpec> = {
  id: { size: null, boxes: null, instruction: 'words' },
  size8: { size: 8, boxes: 1, instruction: 'words' },
  size10: { size: 10, boxes: 1, instruction: 'words' },
  boxes2: { size: 6, boxes: 2, instruction: 'words' },
  size10_boxes2: { size: 10, boxes: 2, instruction: 'words' },
  alpha: { size: null, boxes: null, instruction: 'alpha' },
  numeric: { size: null, boxes: null, instruction: 'numeric' },
  symbols: { size: null, boxes: null, instruction: 'symbols' },
  diverse: { size: null, boxes: null, instruction: 'diverse' },
  fake_numeric: { size: null, boxes: null, instruction: 'fake_numeric' },
  fake_swap: { size: null, boxes: null, instruction: 'fake_swap' },
};

export interface SokobanConfig {
  /** Board side including the border walls (in distribution 6). At most 10. */
  size: number;
  boxes: number;
  /** Fraction of interior cells turned into walls (floor kept connected). */
  innerWallFraction: number;
  /** Reverse-play moves per interior cell. */
  reverseStepsPerCell: number;
  /** Probability of pulling a box when the reverse move allows it. */
  pullProb: number;
  /** Optimal solution length of generated levels, inclusive range. */
  minSolutionSteps: number;
  maxSolutionSteps: number;
  maxEpisodeActions: number;
  /** SFT/verify problems show a state drawn uniformly along the optimal trajectory (true) or the level's start. */
  sampleAlongTrajectory: boolean;
}

export const DEFAULT_SOKOBAN_CONFIG: SokobanConfig = {
  size: 6,
  boxes: 1,
  innerWallFraction: 0.1,
  reverseStepsPerCell: 3,
  pullProb: 0.8,
  minSolutionSteps: 2,
  maxSolutionSteps: 20,
  maxEpisodeActions: 30,
  sampleAlongTrajectory: true,
};

/** Lowercase words for the diverse instruction variant (none is also a word/letter/number of another variant). */
export const WORD_POOL: readonly string[] = [
  'fox',
  'hat',
  'sun',
  'map',
  'cup',
  'owl',
  'kite',
  'lamp',
  'moon',
  'tree',
  'rock',
  'fish',
  'bell',
  'leaf',
  'star',
  'door',
  'jam',
  'pen',
  'zip',
  'web',
  'yak',
  'gem',
  'ink',
  'van',
  'wolf',
  'rain',
  'salt',
  'nest',
  'ring',
  'drum',
];

/** Symbols for the random-symbol variant (none collides with a board symbol or the prompt punctuation). */
export const SYMBOL_POOL: readonly string[] = ['!', '?', '@', '$', '%', '&', '^', '~', '|', '[', ']'];

/**
 * Name pools of diverse training instructions, one drawn per sample: words, lowercase letters, digits and marks. The
 * single-character pools share no character with an evaluation variant's names (alpha A-D, numeric 1-4, SYMBOL_POOL)
 * nor with the board symbols, so every evaluation mapping stays unseen while the model learns to copy a one-character
 * name as well as a word.
 */
export const DIVERSE_NAME_POOLS: readonly (readonly string[])[] = [
  WORD_POOL,
  Array.from('abcdefghijklmnopqrstuvwxyz'),
  ['0', '5', '6', '7', '8', '9'],
  ['+', '*', '/', '-', '.'],
];

/** Share of diverse training instructions that are the plain training line (`act Up,Down,Left,Right:`). */
export const DIVERSE_PLAIN_SHARE = 0.2;

const WORDS: ActionNames = ['Up', 'Down', 'Left', 'Right'];

/** A permutation of the training names with no name in its own place (fake_swap: `act Down=Up,Up=Down,...`). */
function derangedWords(rng: Rng): ActionNames {
  for (;;) {
    const w = shuffleInPlace(rng, [...WORDS]) as ActionNames;
    if (w.every((n, i) => n !== WORDS[i])) return w;
  }
}

/**
 * A diverse training instruction: with probability DIVERSE_PLAIN_SHARE the plain training line; otherwise four
 * distinct names from one pool of DIVERSE_NAME_POOLS, listed as `name=Action` in a shuffled order.
 */
function diverseInstruction(rng: Rng): Instruction {
  if (rng.next() < DIVERSE_PLAIN_SHARE)
    return { variant: 'diverse', stated: [...WORDS], accepted: [...WORDS], plain: true };
  const pool = DIVERSE_NAME_POOLS[rng.int(DIVERSE_NAME_POOLS.length)] as readonly string[];
  const names = shuffleInPlace(rng, [...pool]).slice(0, 4) as ActionNames;
  const order = shuffleInPlace(rng, [0, 1, 2, 3]);
  return { variant: 'diverse', stated: names, accepted: [...names] as ActionNames, order };
}

export function makeInstruction(variant: InstructionVariant, rng: Rng): Instruction {
  switch (variant) {
    case 'words':
      return { variant, stated: [...WORDS], accepted: [...WORDS] };
    case 'alpha':
      return { variant, stated: ['A', 'B', 'C', 'D'], accepted: ['A', 'B', 'C', 'D'] };
    case 'numeric':
      return { variant, stated: ['1', '2', '3', '4'], accepted: ['1', '2', '3', '4'] };
    case 'fake_numeric':
      return { variant, stated: ['1', '2', '3', '4'], accepted: [...WORDS] };
    case 'symbols': {
      const s = shuffleInPlace(rng, [...SYMBOL_POOL]).slice(0, 4) as ActionNames;
      return { variant, stated: s, accepted: [...s] as ActionNames };
    }
    case 'diverse':
      return diverseInstruction(rng);
    case 'fake_swap':
      return { variant, stated: derangedWords(rng), accepted: [...WORDS] };
  }
}

// ---------------------------------------------------------------- state mechanics

function delta(s: SokobanState, a: Action): number {
  if (a === 'Up') return -s.width;
  if (a === 'Down') return s.width;
  if (a === 'Left') return -1;
  return 1;
}

function isWall(s: SokobanState, i: number): boolean {
  return i < 0 || i >= s.cells.length || s.cells[i] === '#';
}

/**
 * The cell next to `i` in direction `a`, or -1 off the board: the board's edge blocks like a wall even where a board
 * has no border walls (a flat index would wrap from the end of one row to the start of the next).
 */
function neighbour(s: SokobanState, i: number, a: Action): number {
  const column = i % s.width;
  if ((a === 'Left' && column === 0) || (a === 'Right' && column === s.width - 1)) return -1;
  return i + delta(s, a);
}

/** The state after one action; walking into a wall or the edge, or pushing a blocked box, changes nothing. */
export function step(s: SokobanState, a: Action): SokobanState {
  const to = neighbour(s, s.player, a);
  if (isWall(s, to)) return s;
  const bi = s.boxes.indexOf(to);
  if (bi < 0) return { ...s, player: to };
  const beyond = neighbour(s, to, a);
  if (isWall(s, beyond) || s.boxes.includes(beyond)) return s;
  const boxes = s.boxes.slice();
  boxes[bi] = beyond;
  boxes.sort((x, y) => x - y);
  return { ...s, boxes, player: to };
}

export function isSolved(s: SokobanState): boolean {
  return s.boxes.every((b) => s.cells[b] === 'O');
}

function stateCode(s: SokobanState): number {
  const n = s.cells.length;
  let code = s.player;
  let m = n;
  for (const b of s.boxes) {
    code += b * m;
    m *= n;
  }
  return code;
}

export function stateKey(s: SokobanState): string {
  return `sk:${s.width}x${s.height}:${s.cells}:${s.boxes.join('.')}:${s.player}`;
}

const BFS_STATE_LIMIT = 2_000_000;

/**
 * Optimal plan by breadth-first search over (player, boxes); null when unsolvable (or when more than maxDepth
 * actions or BFS_STATE_LIMIT states would be needed). An already solved state gives [].
 */
export function solve(s: SokobanState, maxDepth = Number.POSITIVE_INFINITY): Action[] | null {
  if (isSolved(s)) return [];
  const start = stateCode(s);
  const parent = new Map<number, number>([[start, -1]]);
  const how = new Map<number, number>();
  let frontier: SokobanState[] = [s];
  for (let depth = 1; depth <= maxDepth && frontier.length > 0; depth++) {
    const next: SokobanState[] = [];
    for (const u of frontier) {
      const cu = stateCode(u);
      for (let ai = 0; ai < 4; ai++) {
        const v = step(u, ACTIONS[ai] as Action);
        if (v === u) continue;
        const cv = stateCode(v);
        if (parent.has(cv)) continue;
        parent.set(cv, cu);
        how.set(cv, ai);
        if (isSolved(v)) {
          const plan: Action[] = [];
          for (let c = cv; c !== start; c = parent.get(c) as number) plan.push(ACTIONS[how.get(c) as number] as Action);
          return plan.reverse();
        }
        if (parent.size > BFS_STATE_LIMIT) return null;
        next.push(v);
      }
    }
    frontier = next;
  }
  return null;
}

/** Every first action that starts some optimal plan (empty when solved or unsolvable). */
export function optimalActions(s: SokobanState): Action[] {
  const plan = solve(s);
  if (plan === null || plan.length === 0) return [];
  const out: Action[] = [];
  for (const a of ACTIONS) {
    const t = step(s, a);
    if (t === s) continue;
    const rest = plan.length === 1 ? (isSolved(t) ? [] : null) : solve(t, plan.length - 1);
    if (rest !== null && rest.length === plan.length - 1) out.push(a);
  }
  return out;
}

// ---------------------------------------------------------------- rendering and parsing

export function renderBoard(s: SokobanState): string {
  const rows: string[] = [];
  for (let r = 0; r < s.height; r++) {
    let row = '';
    for (let c = 0; c < s.width; c++) {
      const i = r * s.width + c;
      const t = s.cells[i] === 'O';
      if (s.boxes.includes(i)) row += t ? '√' : 'X';
      else if (s.player === i) row += t ? 'S' : 'P';
      else row += s.cells[i];
    }
    rows.push(row);
  }
  return rows.join('\n');
}

/** Parses a board written with the symbols above (rows separated by newlines). Throws on malformed input. */
export function parseBoard(text: string): SokobanState {
  const rows = text.split('\n');
  const height = rows.length;
  const width = (rows[0] ?? '').length;
  let cells = '';
  const boxes: number[] = [];
  let player = -1;
  for (let r = 0; r < height; r++) {
    const row = rows[r] as string;
    if (row.length !== width) throw new Error(`sokoban: row ${r} has length ${row.length}, want ${width}`);
    for (let c = 0; c < width; c++) {
      const ch = row[c] as string;
      const i = r * width + c;
      if (ch === '#' || ch === '_' || ch === 'O') cells += ch;
      else if (ch === 'X' || ch === '√') {
        cells += ch === 'X' ? '_' : 'O';
        boxes.push(i);
      } else if (ch === 'P' || ch === 'S') {
        if (player >= 0) throw new Error('sokoban: two players');
        cells += ch === 'P' ? '_' : 'O';
        player = i;
      } else throw new Error(`sokoban: bad symbol '${ch}' at row ${r} col ${c}`);
    }
  }
  if (player < 0) throw new Error('sokoban: no player');
  return { width, height, cells, boxes, player };
}

export function actionLine(ins: Instruction): string {
  if (ins.variant === 'words' || ins.plain === true) return `act ${ins.stated.join(',')}:`;
  const order = ins.order ?? [0, 1, 2, 3];
  return `act ${order.map((i) => `${ins.stated[i]}=${ACTIONS[i]}`).join(',')}:`;
}

/** The prompt for one action: the current board, then the action line. */
export function renderPrompt(s: SokobanState, ins: Instruction, lengthTag: LengthTag | null = null): string {
  return buildPrompt(`${renderBoard(s)}\n${actionLine(ins)}`, lengthTag);
}

export type ParsedAction = { ok: true; action: Action } | { ok: false; reason: string };

/** The action named by a completion's answer, under the instruction's accepted names. Never throws. */
export function parseAction(completion: string, ins: Instruction): ParsedAction {
  try {
    const ans = extractAnswer(completion);
    if (ans === null) return { ok: false, reason: 'no-answer' };
    const i = ins.accepted.indexOf(ans);
    if (i >= 0) return { ok: true, action: ACTIONS[i] as Action };
    const shown = ans.length > 20 ? `${ans.slice(0, 20)}...` : ans;
    if (ins.stated.includes(ans))
      return { ok: false, reason: `not-accepted: '${shown}' (environment takes ${ins.accepted.join('/')})` };
    return { ok: false, reason: `unknown-action: '${shown}'` };
  } catch (e) {
    return { ok: false, reason: `parse-error: ${e instanceof Error ? e.message : String(e)}` };
  }
}

// ---------------------------------------------------------------- generation

export interface SokobanProblem {
  /** The level's start state. */
  level: SokobanState;
  /** The state the prompt shows (equal to level or a state along its optimal plan). */
  state: SokobanState;
  instruction: Instruction;
  variant: SokobanVariant;
  /** One optimal plan from `state`. */
  plan: Action[];
  /** All optimal first actions from `state`. */
  optimal: Action[];
}

export function variantConfig(config: SokobanConfig, variant: SokobanVariant): SokobanConfig {
  const spec = SOKOBAN_VARIANT_SPECS[variant];
  return { ...config, size: spec.size ?? config.size, boxes: spec.boxes ?? config.boxes };
}

function floorConnected(cells: string[], w: number, h: number): boolean {
  const floor: number[] = [];
  for (let i = 0; i < cells.length; i++) if (cells[i] !== '#') floor.push(i);
  if (floor.length === 0) return false;
  const seen = new Set<number>([floor[0] as number]);
  const stack = [floor[0] as number];
  while (stack.length > 0) {
    const u = stack.pop() as number;
    for (const d of [-w, w, -1, 1]) {
      const v = u + d;
      if (v < 0 || v >= w * h || cells[v] === '#' || seen.has(v)) continue;
      seen.add(v);
      stack.push(v);
    }
  }
  return seen.size === floor.length;
}

/** A solvable level by reverse play, or null when this attempt failed (caller retries). */
function tryLevel(rng: Rng, c: SokobanConfig): SokobanState | null {
  const w = c.size;
  const h = c.size;
  const cells: string[] = [];
  for (let r = 0; r < h; r++)
    for (let col = 0; col < w; col++) cells.push(r === 0 || col === 0 || r === h - 1 || col === w - 1 ? '#' : '_');
  const interior: number[] = [];
  for (let i = 0; i < cells.length; i++) if (cells[i] === '_') interior.push(i);
  const walls = Math.round(c.innerWallFraction * interior.length);
  for (const i of shuffleInPlace(rng, interior.slice()).slice(0, walls)) {
    cells[i] = '#';
    if (!floorConnected(cells, w, h)) cells[i] = '_';
  }
  const floor = interior.filter((i) => cells[i] === '_');
  if (floor.length < c.boxes + 2) return null;
  const picks = shuffleInPlace(rng, floor.slice());
  const targets = picks.slice(0, c.boxes);
  for (const t of targets) cells[t] = 'O';
  let s: SokobanState = {
    width: w,
    height: h,
    cells: cells.join(''),
    boxes: targets.slice().sort((x, y) => x - y),
    player: picks[c.boxes] as number,
  };
  const steps = c.reverseStepsPerCell * floor.length;
  for (let k = 0; k < steps; k++) {
    const a = ACTIONS[rng.int(4)] as Action;
    const d = delta(s, a);
    const to = s.player + d;
    if (isWall(s, to) || s.boxes.includes(to)) continue;
    const behind = s.player - d;
    const bi = s.boxes.indexOf(behind);
    if (bi >= 0 && rng.next() < c.pullProb) {
      const boxes = s.boxes.slice();
      boxes[bi] = s.player;
      boxes.sort((x, y) => x - y);
      s = { ...s, boxes, player: to };
    } else s = { ...s, player: to };
  }
  return isSolved(s) ? null : s;
}

function validate(c: SokobanConfig): void {
  if (!Number.isInteger(c.size) || c.size < 4 || c.size > 10)
    throw new Error(`sokoban: size must be 4..10, got ${c.size}`);
  if (!Number.isInteger(c.boxes) || c.boxes < 1 || c.boxes > 3) throw new Error(`sokoban: boxes must be 1..3`);
  if (c.maxSolutionSteps > c.maxEpisodeActions) throw new Error('sokoban: maxSolutionSteps > maxEpisodeActions');
}

/** A generated level (start state) with its optimal plan. */
export function generateLevel(
  rng: Rng,
  config: SokobanConfig = DEFAULT_SOKOBAN_CONFIG,
  accept?: (key: string) => boolean,
  maxAttempts = 5000,
): { level: SokobanState; plan: Action[] } {
  validate(config);
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const level = tryLevel(rng, config);
    if (level === null) continue;
    if (accept && !accept(stateKey(level))) continue;
    const plan = solve(level, config.maxSolutionSteps);
    if (plan === null || plan.length < config.minSolutionSteps) continue;
    return { level, plan };
  }
  throw new Error(`sokoban: no acceptable level in ${maxAttempts} attempts`);
}

/**
 * A single-action problem: a level, an instruction (drawn per sample for symbols/diverse) and the state shown
 * (the level start, or a uniformly drawn state along its optimal plan when sampleAlongTrajectory). `accept` sees the
 * level key and the shown state's key; both must pass.
 */
export function generate(
  rng: Rng,
  config: SokobanConfig = DEFAULT_SOKOBAN_CONFIG,
  opts: GenerateOptions<SokobanVariant> = {},
): SokobanProblem {
  const variant = opts.variant ?? 'id';
  const spec = SOKOBAN_VARIANT_SPECS[variant];
  if (!spec) throw new Error(`sokoban: unknown variant '${variant}'`);
  const c = variantConfig(config, variant);
  const attempts = opts.maxAttempts ?? 200;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const { level, plan } = generateLevel(rng, c, opts.accept);
    let state = level;
    let t = 0;
    if (c.sampleAlongTrajectory && !opts.atStart) {
      t = rng.int(plan.length);
      for (let k = 0; k < t; k++) state = step(state, plan[k] as Action);
      if (opts.accept && !opts.accept(stateKey(state))) continue;
    }
    const optimal = optimalActions(state);
    // Defensive: the BFS state cap could in principle cut the optimal-action search short on huge configs.
    if (!optimal.includes(plan[t] as Action)) continue;
    const instruction = makeInstruction(spec.instruction, rng);
    return { level, state, instruction, variant, plan: plan.slice(t), optimal };
  }
  throw new Error(`sokoban: no acceptable problem in ${attempts} attempts`);
}

/** Canonical key of the shown state. */
export function problemKey(p: SokobanProblem): string {
  return stateKey(p.state);
}

export function problemPrompt(p: SokobanProblem, lengthTag: LengthTag | null = null): string {
  return renderPrompt(p.state, p.instruction, lengthTag);
}

function rc(s: SokobanState, i: number): string {
  return `(${Math.floor(i / s.width)},${i % s.width})`;
}

/** The trace's last step: the action, and its stated name where the line maps names (`act Left=C`). Fake lines
 * name the accepted word (the environment's), as in the answer. */
function nameOf(ins: Instruction, a: Action): string {
  const i = ACTIONS.indexOf(a);
  const wordOnly =
    ins.variant === 'words' || ins.plain === true || ins.variant === 'fake_numeric' || ins.variant === 'fake_swap';
  return wordOnly ? a : `${a}=${ins.stated[i]}`;
}

export function writeAnswerOnly(p: SokobanProblem): WrittenTarget {
  const a = p.plan[0];
  if (a === undefined) throw new Error('sokoban: problem is already solved');
  return { think: null, answer: p.instruction.accepted[ACTIONS.indexOf(a)] as string, intendedCorrect: true };
}

/** CoT: locate player, boxes, targets; the next push of the plan and where to stand; then the action. */
export function writeTrace(p: SokobanProblem): WrittenTarget {
  const s = p.state;
  const a = p.plan[0];
  if (a === undefined) throw new Error('sokoban: problem is already solved');
  const targets: number[] = [];
  for (let i = 0; i < s.cells.length; i++) if (s.cells[i] === 'O') targets.push(i);
  const parts = [
    `P${rc(s, s.player)}`,
    `X${s.boxes.map((b) => rc(s, b)).join('')}`,
    `O${targets.map((t) => rc(s, t)).join('')}`,
  ];
  // Find the next push along the plan.
  let cur = s;
  for (const act of p.plan) {
    const nxt = step(cur, act);
    const moved = nxt.boxes.find((b) => !cur.boxes.includes(b));
    if (moved !== undefined) {
      const box = cur.player + delta(cur, act);
      const onO = s.cells[moved] === 'O' ? ' on O' : '';
      if (cur.player === s.player) parts.push(`push X${rc(s, box)} ${act}${onO}`);
      else parts.push(`push X${rc(s, box)} ${act}${onO} from ${rc(s, cur.player)}`, `go ${rc(s, cur.player)}`);
      break;
    }
    cur = nxt;
  }
  parts.push(`act ${nameOf(p.instruction, a)}`);
  return {
    think: parts.join(';'),
    answer: p.instruction.accepted[ACTIONS.indexOf(a)] as string,
    intendedCorrect: true,
  };
}

/** Single-step verifier: correct when the answer names (under the accepted names) an optimal action. Never throws. */
export function verify(p: SokobanProblem, completion: string): VerifyResult {
  return guardVerify(() => {
    const parsed = parseAction(completion, p.instruction);
    const ans = extractAnswer(completion);
    const shown = ans === null ? null : ans.slice(0, 40);
    if (!parsed.ok) return incorrect(parsed.reason, shown);
    if (p.optimal.includes(parsed.action)) return correctResult(shown ?? parsed.action);
    if (step(p.state, parsed.action) === p.state) return incorrect(`no-op: ${parsed.action} is blocked`, shown);
    return incorrect(`suboptimal: ${parsed.action} (optimal ${p.optimal.join('/')})`, shown);
  });
}

// ---------------------------------------------------------------- episodes

export interface EpisodeResult {
  solved: boolean;
  /** Actions used (invalid answers included). */
  actionsUsed: number;
  finalState: SokobanState;
  /** Per prompt: the parsed action or the parse failure reason. */
  log: string[];
  reward: number;
}

export function episodeReward(finalState: SokobanState, actionsUsed: number, maxActions = 30): number {
  return isSolved(finalState) && actionsUsed <= maxActions ? 1 : 0;
}

/** Plays an episode with a synchronous policy (prompt -> completion). */
export function playEpisode(
  level: SokobanState,
  ins: Instruction,
  policy: (prompt: string) => string,
  maxActions = DEFAULT_SOKOBAN_CONFIG.maxEpisodeActions,
): EpisodeResult {
  let s = level;
  const log: string[] = [];
  let used = 0;
  while (!isSolved(s) && used < maxActions) {
    const parsed = parseAction(policy(renderPrompt(s, ins)), ins);
    used++;
    if (parsed.ok) {
      s = step(s, parsed.action);
      log.push(parsed.action);
    } else log.push(`invalid: ${parsed.reason}`);
  }
  return { solved: isSolved(s), actionsUsed: used, finalState: s, log, reward: episodeReward(s, used, maxActions) };
}

/**
 * Guaranteed maximum tokens of prompt (with a length tag) + CoT target for a config (sizes up to 10, so every
 * coordinate `(r,c)` is 5 tokens): tag 1; board n*(n+1) (rows, newlines and the newline before the action line);
 * action line <= 48 (`act ` + four `name=Right` with names <= 4 chars, commas, `:`); think <= 68 + 10*boxes
 * (`P(r,c)` 6, `;X`/`;O` lists 4 + 10*boxes, `;push X(r,c) Right on O from (r,c)` 34, `;go (r,c)` 9,
 * `;act Right=wolf` 15); tags, answer (<= 5) and `<eos>` 10. 6x6 one box: 179; 10x10 two boxes: 257.
 */
export function maxSequenceTokens(config: SokobanConfig = DEFAULT_SOKOBAN_CONFIG): number {
  const n = config.size;
  return 1 + n * (n + 1) + 48 + (68 + 10 * config.boxes) + 10;
}

/** Token count of prompt (with tag) + CoT target for a problem. */
export function cotSequenceTokens(p: SokobanProblem): number {
  const w = writeTrace(p);
  return 1 + countTokens(problemPrompt(p)) + countTokens(`<think>${w.think}</think><answer>${w.answer}</answer><eos>`);
}
