import { describe, expect, it } from 'vitest';
import { extractAnswer, wrapTarget } from '../../src/tasks/format';
import {
  ACTIONS,
  type Action,
  DEFAULT_SOKOBAN_CONFIG,
  DIVERSE_NAME_POOLS,
  DIVERSE_PLAIN_SHARE,
  generate,
  generateLevel,
  isSolved,
  makeInstruction,
  maxSequenceTokens,
  optimalActions,
  parseAction,
  parseBoard,
  playEpisode,
  problemPrompt,
  renderBoard,
  renderPrompt,
  SOKOBAN_VARIANTS,
  type SokobanState,
  type SokobanVariant,
  SYMBOL_POOL,
  solve,
  step,
  variantConfig,
  verify,
  writeAnswerOnly,
  writeTrace,
} from '../../src/tasks/sokoban';
import { countTokens, encode } from '../../src/tasks/tokenizer';
import { createRng } from '../../src/util/rng';

/** Independent BFS (string states, no shared code but the board parser) for optimal plan length. */
function refOptimalLength(s: SokobanState): number {
  const w = s.width;
  const moves: Record<Action, number> = { Up: -w, Down: w, Left: -1, Right: 1 };
  const key = (p: number, b: number[]) => `${p}|${[...b].sort((x, y) => x - y).join(',')}`;
  const solved = (b: number[]) => b.every((i) => s.cells[i] === 'O');
  if (solved(s.boxes)) return 0;
  const seen = new Set([key(s.player, s.boxes)]);
  let frontier: [number, number[]][] = [[s.player, s.boxes]];
  for (let depth = 1; frontier.length > 0; depth++) {
    const next: [number, number[]][] = [];
    for (const [p, b] of frontier) {
      for (const a of ACTIONS) {
        const to = p + moves[a];
        if (s.cells[to] === '#') continue;
        let nb = b;
        if (b.includes(to)) {
          const beyond = to + moves[a];
          if (s.cells[beyond] === '#' || b.includes(beyond)) continue;
          nb = b.map((x) => (x === to ? beyond : x));
        }
        const k = key(to, nb);
        if (seen.has(k)) continue;
        if (solved(nb)) return depth;
        seen.add(k);
        next.push([to, nb]);
      }
    }
    frontier = next;
  }
  return -1;
}

const board = ['######', '#_O__#', '#_X__#', '#_P__#', '#____#', '######'].join('\n');

describe('sokoban: mechanics', () => {
  it('renders and parses boards, including box/player on target', () => {
    const s = parseBoard(board);
    expect(renderBoard(s)).toBe(board);
    const t = parseBoard(['#####', '#S√X#', '#_O_#', '#####'].join('\n'));
    expect(t.boxes).toEqual([7, 8]);
    expect(renderBoard(t)).toBe(['#####', '#S√X#', '#_O_#', '#####'].join('\n'));
    expect(() => parseBoard('##\n#')).toThrow(/row 1/);
  });

  it('steps: walk, push, blocked push, wall', () => {
    const s = parseBoard(board);
    const pushed = step(s, 'Up');
    expect(renderBoard(pushed)).toBe(['######', '#_√__#', '#_P__#', '#____#', '#____#', '######'].join('\n'));
    expect(isSolved(pushed)).toBe(true);
    expect(step(pushed, 'Up')).toBe(pushed); // box against the wall
    const walled = parseBoard(['####', '#P_#', '####'].join('\n'));
    expect(step(walled, 'Left')).toBe(walled);
    expect(step(walled, 'Right').player).toBe(6);
    expect(solve(s)).toEqual(['Up']);
    expect(optimalActions(s)).toEqual(['Up']);
  });

  it('generated levels are solvable, BFS plans are optimal (checked by an independent BFS) and execute', () => {
    const rng = createRng(11);
    for (const variant of ['id', 'size8', 'boxes2', 'size10', 'size10_boxes2'] as SokobanVariant[]) {
      const c = variantConfig(DEFAULT_SOKOBAN_CONFIG, variant);
      for (let i = 0; i < (variant.startsWith('size10') ? 6 : 25); i++) {
        const { level, plan } = generateLevel(rng, c);
        expect(isSolved(level)).toBe(false);
        expect(plan.length).toBeGreaterThanOrEqual(c.minSolutionSteps);
        expect(plan.length).toBeLessThanOrEqual(c.maxSolutionSteps);
        expect(refOptimalLength(level)).toBe(plan.length);
        let s = level;
        for (const a of plan) s = step(s, a);
        expect(isSolved(s)).toBe(true);
        for (const a of ACTIONS) {
          const t = step(level, a);
          const isOpt = t !== level && refOptimalLength(t) === plan.length - 1;
          expect(optimalActions(level).includes(a)).toBe(isOpt);
        }
      }
    }
  });
});

describe('sokoban: samples, traces, verifier', () => {
  it('every trace verifies, names the right positions and fits the sequence bound (all variants)', () => {
    const rng = createRng(5);
    for (const variant of SOKOBAN_VARIANTS) {
      const c = variantConfig(DEFAULT_SOKOBAN_CONFIG, variant);
      const bound = maxSequenceTokens(c);
      for (let i = 0; i < 20; i++) {
        const prob = generate(rng, DEFAULT_SOKOBAN_CONFIG, { variant });
        const w = writeTrace(prob);
        const target = wrapTarget(w);
        expect(verify(prob, target)).toMatchObject({ correct: true, reward: 1 });
        expect(verify(prob, wrapTarget(writeAnswerOnly(prob))).correct).toBe(true);
        const s = prob.state;
        expect(w.think).toContain(`P(${Math.floor(s.player / s.width)},${s.player % s.width})`);
        for (const b of s.boxes) expect(w.think).toContain(`(${Math.floor(b / s.width)},${b % s.width})`);
        expect(w.think).toMatch(/push X\(\d,\d\) (Up|Down|Left|Right)/);
        const full = problemPrompt(prob, 'medium') + target;
        expect(() => encode(full)).not.toThrow();
        expect(countTokens(full)).toBeLessThanOrEqual(bound);
        expect(parseBoard(problemPrompt(prob).split('\nact ')[0] as string)).toEqual(prob.state);
      }
    }
    expect(maxSequenceTokens(DEFAULT_SOKOBAN_CONFIG)).toBeLessThanOrEqual(256);
  });

  it('rejects wrong, blocked and unknown actions with reasons', () => {
    const s = parseBoard(board);
    const ins = makeInstruction('words', createRng(0));
    const prob = {
      level: s,
      state: s,
      instruction: ins,
      variant: 'id' as const,
      plan: ['Up'] as Action[],
      optimal: ['Up'] as Action[],
    };
    expect(verify(prob, '<answer>Up</answer>').correct).toBe(true);
    expect(verify(prob, '<answer>Down</answer>').reason).toMatch(/^suboptimal/);
    expect(verify(prob, '<answer>up</answer>').reason).toMatch(/^unknown-action/);
    expect(verify(prob, 'Up').reason).toBe('no-answer');
    const walled = parseBoard(['#####', '#P_O#', '#_X_#', '#___#', '#####'].join('\n'));
    const p2 = {
      ...prob,
      level: walled,
      state: walled,
      plan: solve(walled) as Action[],
      optimal: optimalActions(walled),
    };
    expect(verify(p2, '<answer>Up</answer>').reason).toMatch(/^no-op/);
  });
});

describe('sokoban: instruction and difficulty variants', () => {
  const rng = createRng(77);
  it('difficulty variants set board size and box count', () => {
    const want: Record<string, [number, number]> = {
      id: [6, 1],
      size8: [8, 1],
      size10: [10, 1],
      boxes2: [6, 2],
      size10_boxes2: [10, 2],
    };
    for (const [variant, [n, boxes]] of Object.entries(want)) {
      const prob = generate(rng, DEFAULT_SOKOBAN_CONFIG, { variant: variant as SokobanVariant });
      expect(prob.state.width).toBe(n);
      expect(prob.state.height).toBe(n);
      expect(prob.state.boxes).toHaveLength(boxes);
      expect(problemPrompt(prob)).toContain('act Up,Down,Left,Right:');
      expect(problemPrompt(prob).split('\n')).toHaveLength(n + 1);
    }
  });

  it('instruction variants change only the action line and the accepted names, never the board or the plan', () => {
    // 'diverse' too, but its line may be the plain one and lists its entries in any order: tested below.
    const instructionVariants: SokobanVariant[] = ['alpha', 'numeric', 'symbols', 'fake_numeric', 'fake_swap'];
    for (let seed = 0; seed < 15; seed++) {
      const base = generate(createRng(seed), DEFAULT_SOKOBAN_CONFIG, { variant: 'id' });
      const baseLines = problemPrompt(base).split('\n');
      for (const variant of instructionVariants) {
        const v = generate(createRng(seed), DEFAULT_SOKOBAN_CONFIG, { variant });
        expect({ level: v.level, state: v.state, plan: v.plan, optimal: v.optimal }).toEqual({
          level: base.level,
          state: base.state,
          plan: base.plan,
          optimal: base.optimal,
        });
        const lines = problemPrompt(v).split('\n');
        expect(lines.slice(0, -1)).toEqual(baseLines.slice(0, -1));
        expect(lines.at(-1)).not.toBe(baseLines.at(-1));
        // The mapping is stated for every action, in Up/Down/Left/Right order.
        expect(lines.at(-1)).toBe(`act ${ACTIONS.map((a, i) => `${v.instruction.stated[i]}=${a}`).join(',')}:`);
      }
    }
  });

  it('fake_numeric shows exactly the numeric prompt, but accepts the words instead of the numbers', () => {
    for (let seed = 0; seed < 10; seed++) {
      const fake = generate(createRng(seed), DEFAULT_SOKOBAN_CONFIG, { variant: 'fake_numeric' });
      const real = generate(createRng(seed), DEFAULT_SOKOBAN_CONFIG, { variant: 'numeric' });
      expect(problemPrompt(fake, 'short')).toBe(problemPrompt(real, 'short'));
      const a = fake.optimal[0] as Action;
      const k = ACTIONS.indexOf(a);
      expect(verify(real, `<answer>${k + 1}</answer>`).correct).toBe(true);
      expect(verify(real, `<answer>${a}</answer>`).correct).toBe(false);
      expect(verify(fake, `<answer>${k + 1}</answer>`).correct).toBe(false);
      expect(verify(fake, `<answer>${a}</answer>`).correct).toBe(true);
    }
  });

  it('difficulty variants change only board size and box count in the config', () => {
    for (const variant of SOKOBAN_VARIANTS) {
      const c = variantConfig(DEFAULT_SOKOBAN_CONFIG, variant);
      const { size, boxes, ...rest } = c;
      const { size: s0, boxes: b0, ...rest0 } = DEFAULT_SOKOBAN_CONFIG;
      expect(rest).toEqual(rest0);
      if (!['size8', 'size10', 'boxes2', 'size10_boxes2'].includes(variant)) expect([size, boxes]).toEqual([s0, b0]);
    }
  });

  it('alpha, numeric and symbols state their mapping and accept only it', () => {
    const s = parseBoard(board);
    const alpha = makeInstruction('alpha', rng);
    expect(renderPrompt(s, alpha)).toBe(`${board}\nact A=Up,B=Down,C=Left,D=Right:`);
    expect(parseAction('<answer>A</answer>', alpha)).toEqual({ ok: true, action: 'Up' });
    expect(parseAction('<answer>Up</answer>', alpha).ok).toBe(false);
    const num = makeInstruction('numeric', rng);
    expect(parseAction('<answer>4</answer>', num)).toEqual({ ok: true, action: 'Right' });
    const sym = makeInstruction('symbols', rng);
    expect(new Set(sym.stated).size).toBe(4);
    for (const x of sym.stated) expect(['#', '_', 'O', 'X', 'P', 'S', '√', ',', '=', ':']).not.toContain(x);
    expect(parseAction(`<answer>${sym.stated[1]}</answer>`, sym)).toEqual({ ok: true, action: 'Down' });
  });

  it('diverse draws one name pool per sample (or the plain training line), lists the entries in a shuffled order, and the answer and trace name the stated name', () => {
    const evalNames = new Set(['A', 'B', 'C', 'D', '1', '2', '3', '4', ...SYMBOL_POOL, ...ACTIONS]);
    const pools = new Set<number>();
    const orders = new Set<string>();
    let plain = 0;
    const n = 200;
    const r = createRng(41);
    for (let i = 0; i < n; i++) {
      const prob = generate(r, DEFAULT_SOKOBAN_CONFIG, { variant: 'diverse' });
      const ins = prob.instruction;
      const names = ins.stated;
      const line = problemPrompt(prob).split('\n').at(-1) as string;
      const a = prob.plan[0] as Action;
      const trace = writeTrace(prob).think as string;
      if (ins.plain === true) {
        plain++;
        expect(names).toEqual([...ACTIONS]);
        expect(line).toBe('act Up,Down,Left,Right:');
        expect(trace.endsWith(`;act ${a}`)).toBe(true);
      } else {
        expect(new Set(names).size).toBe(4);
        const pool = DIVERSE_NAME_POOLS.findIndex((p) => names.every((x) => p.includes(x)));
        expect(pool).toBeGreaterThanOrEqual(0);
        pools.add(pool);
        for (const x of names) expect(evalNames.has(x)).toBe(false);
        const order = ins.order as number[];
        expect([...order].sort()).toEqual([0, 1, 2, 3]);
        orders.add(order.join(''));
        expect(line).toBe(`act ${order.map((k) => `${names[k]}=${ACTIONS[k]}`).join(',')}:`);
        // The trace ends by naming the action and its stated name.
        expect(trace.endsWith(`;act ${a}=${names[ACTIONS.indexOf(a)]}`)).toBe(true);
      }
      expect(ins.accepted).toEqual(names);
      const answer = extractAnswer(wrapTarget(writeTrace(prob)));
      expect(answer).toBe(names[ACTIONS.indexOf(a)]);
      expect(verify(prob, `<answer>${answer}</answer>`).correct).toBe(true);
    }
    expect(pools.size).toBe(DIVERSE_NAME_POOLS.length);
    expect(orders.size).toBeGreaterThan(12);
    // Binomial(200, 0.2): mean 40, sd 5.7; the bounds are 4 sd away.
    expect(plain).toBeGreaterThan(17);
    expect(plain).toBeLessThan(63);
    expect(DIVERSE_PLAIN_SHARE).toBe(0.2);
  });

  it('fake_swap states a deranged mapping of the training words; the environment keeps the training meaning', () => {
    for (let seed = 0; seed < 20; seed++) {
      const fake = generate(createRng(seed), DEFAULT_SOKOBAN_CONFIG, { variant: 'fake_swap' });
      const stated = fake.instruction.stated;
      expect([...stated].sort()).toEqual([...ACTIONS].sort());
      for (let k = 0; k < 4; k++) expect(stated[k]).not.toBe(ACTIONS[k]);
      expect(fake.instruction.accepted).toEqual([...ACTIONS]);
      // Every character of the prompt is one the training prompts use.
      expect(problemPrompt(fake).split('\n').at(-1)).toBe(
        `act ${ACTIONS.map((a, k) => `${stated[k]}=${a}`).join(',')}:`,
      );
      const a = fake.plan[0] as Action;
      expect(verify(fake, `<answer>${a}</answer>`).correct).toBe(true);
      // Reading the stated mapping gives a word the environment takes as another action.
      const read = stated[ACTIONS.indexOf(a)] as string;
      const parsed = parseAction(`<answer>${read}</answer>`, fake.instruction);
      expect(parsed).toEqual({ ok: true, action: read });
      expect(read).not.toBe(a);
      // An answer-only target is the training word; the trace names only the word.
      expect(writeAnswerOnly(fake).answer).toBe(a);
      expect((writeTrace(fake).think as string).endsWith(`;act ${a}`)).toBe(true);
    }
  });

  it('fake_numeric states numbers but the environment accepts only the words', () => {
    const prob = generate(rng, DEFAULT_SOKOBAN_CONFIG, { variant: 'fake_numeric' });
    expect(problemPrompt(prob)).toContain('act 1=Up,2=Down,3=Left,4=Right:');
    const a = prob.optimal[0] as Action;
    const number = String(ACTIONS.indexOf(a) + 1);
    expect(verify(prob, `<answer>${number}</answer>`).reason).toMatch(/^not-accepted/);
    expect(verify(prob, `<answer>${a}</answer>`).correct).toBe(true);
  });
});

describe('sokoban: episodes', () => {
  it('an optimal policy that reads the prompt solves every level within 30 actions; junk never does', () => {
    const rng = createRng(8);
    for (const variant of ['id', 'alpha', 'diverse', 'boxes2'] as SokobanVariant[]) {
      for (let i = 0; i < 8; i++) {
        const prob = generate(rng, DEFAULT_SOKOBAN_CONFIG, { variant, atStart: true });
        expect(prob.state).toEqual(prob.level);
        const ins = prob.instruction;
        const policy = (prompt: string): string => {
          const s = parseBoard(prompt.split('\nact ')[0] as string);
          const a = (solve(s) as Action[])[0] as Action;
          return `<think>x</think><answer>${ins.accepted[ACTIONS.indexOf(a)]}</answer><eos>`;
        };
        const res = playEpisode(prob.level, ins, policy);
        expect(res).toMatchObject({ solved: true, reward: 1 });
        expect(res.actionsUsed).toBe(prob.plan.length);
        const junk = playEpisode(prob.level, ins, () => '<answer>???</answer>');
        expect(junk).toMatchObject({ solved: false, reward: 0, actionsUsed: 30 });
      }
    }
  });

  it('same seed gives the same problems', () => {
    const a = Array.from({ length: 10 }, (_, i) =>
      generate(createRng(i), DEFAULT_SOKOBAN_CONFIG, { variant: 'diverse' }),
    );
    const b = Array.from({ length: 10 }, (_, i) =>
      generate(createRng(i), DEFAULT_SOKOBAN_CONFIG, { variant: 'diverse' }),
    );
    expect(a).toEqual(b);
  });
});
