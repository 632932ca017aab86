/**
 * Parity of the exported rewards.py with the TypeScript verifiers and rewards, per task, on generated and fuzzed
 * completions: right (the task's own CoT and answer-only targets), wrong (near-miss answers), malformed (tags
 * missing, doubled, out of order, cut), hostile (emoji, lone surrogates, JS-trim characters, text past the 8192-unit
 * window, deep nesting, huge numbers) and random edits of right completions.
 *
 *   "full" cases (text the Stoptime tokenizer can encode, i.e. what a model can write): the TS reward is the GRPO
 *   session's own path, scoreRollouts (verify, isWellFormed on the ids, thinking span) then groupRewards, per group;
 *   Python's score_batch and its three TRL reward functions must give the same correctness, format, length and
 *   total (exact up to float addition, 1e-12).
 *   "verify" cases (any string, non-strings and conversational messages): task.verify's correctness.
 * Reward settings rotate over budget / group / no length penalty, both target styles and several λ and budgets.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { promptRow, type Row } from '../../src/export/task_rows';
import { rewardConfigFor } from '../../src/export/trl_export';
import type { Completion } from '../../src/model/generate';
import { getTask, type TaskId } from '../../src/tasks/index';
import { encode, isEncodable } from '../../src/tasks/tokenizer';
import type { LengthTag } from '../../src/tasks/types';
import { type RlItem, scoreRollouts } from '../../src/train/grpo';
import { groupRewards, type RewardConfig } from '../../src/train/rewards';
import { DEFAULT_RL_CONFIG, DEFAULT_RUN_CONFIG, type RunConfig, taskConfigFor } from '../../src/train/run_config';
import { createRng, type Rng } from '../../src/util/rng';
import { removeTempDirs, runCheck, writePythonFiles } from './python';

afterAll(removeTempDirs);

const DIR = writePythonFiles();
/** Distinct completions per problem (before hostile ones). */
const PER_PROBLEM = 72;
const LEVELS: (LengthTag | null)[] = ['short', 'medium', 'long', null];
const REWARDS: { reward: RewardConfig; style: 'cot' | 'answer' }[] = [
  {
    style: 'cot',
    reward: { formatReward: 0.1, lengthPenalty: 'budget', lambda: 0.5, budgets: { short: 16, medium: 32, long: 64 } },
  },
  {
    style: 'cot',
    reward: { formatReward: 0.2, lengthPenalty: 'group', lambda: 0.7, budgets: { short: 16, medium: 32, long: 64 } },
  },
  {
    style: 'answer',
    reward: { formatReward: 0.3, lengthPenalty: 'none', lambda: 1, budgets: { short: 8, medium: 8, long: 8 } },
  },
  {
    style: 'cot',
    reward: { formatReward: 0, lengthPenalty: 'budget', lambda: 2, budgets: { short: 3, medium: 7, long: 13 } },
  },
  {
    style: 'answer',
    reward: { formatReward: 0.05, lengthPenalty: 'group', lambda: 0.3, budgets: { short: 1, medium: 2, long: 3 } },
  },
];

/** Characters random edits draw from: the vocabulary's, tag spellings, and (for verify-only cases) others. */
const VOCAB_PIECES = [
  ...'0123456789+-*/()=,.:;?!#_@$%&^~|[]√ \nabcxyzUDLRWait',
  '<think>',
  '</think>',
  '<answer>',
  '</answer>',
  '<eos>',
  '<pad>',
  '<short>',
];
const HOSTILE_PIECES = [
  '\u00a0',
  '\ufeff',
  '\u2028',
  '😀',
  '\ud800',
  '\udc00',
  '<',
  '>',
  '\t',
  '\u2212',
  '\u00d7',
  '\u00f7',
  'é',
];

function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[rng.int(xs.length)]!;
}

function mutate(rng: Rng, text: string, pieces: readonly string[]): string {
  let s = text;
  const edits = 1 + rng.int(4);
  for (let k = 0; k < edits; k++) {
    const i = rng.int(s.length + 1);
    const kind = rng.int(3);
    if (kind === 0) s = s.slice(0, i) + pick(rng, pieces) + s.slice(i);
    else if (kind === 1) s = s.slice(0, i) + s.slice(i + 1 + rng.int(3));
    else s = s.slice(0, i) + pick(rng, pieces) + s.slice(i + 1);
  }
  return s;
}

/** Answer strings for a problem: right ones, near misses, junk. */
function answersFor(task: TaskId, problem: unknown, row: Row, rng: Rng): string[] {
  if (task === 'arithmetic') {
    const v = BigInt(row.answer as string);
    return [
      `${v}`,
      ` ${v} `,
      `${v}\n`,
      `0${v < 0n ? -v : v}`,
      `${v + 1n}`,
      `${v - 1n}`,
      `${-v}`,
      `+${v}`,
      `${v}.0`,
      `${v}0`,
      '1'.repeat(31),
      '9'.repeat(30),
      '-0',
      `${v}-`,
      'x',
    ];
  }
  if (task === 'general_points') {
    const sol = row.solution as string;
    const cards = row.cards as string[];
    const values = (problem as { values: number[] }).values;
    return [
      sol,
      ` ${sol} `,
      `(${sol})`,
      sol.replace(/\*/g, ' * '),
      sol.replace(/\+/g, '+ '),
      sol.replace(/\d+/, (d) => String(Number(d) + 1)),
      sol.replace(/[+*]/, '-'),
      values.join('+'),
      values.join('*'),
      `${values.slice(1).join('+')}`,
      `${values.join('+')}+1`,
      cards.join('+'),
      `${'('.repeat(17)}${values.join('+')}${')'.repeat(17)}`,
      `${'('.repeat(16)}${values.join('+')}${')'.repeat(16)}`,
      `${values[0]}/(${values[1]}-${values[1]})*${values.slice(2).join('*')}`,
      `${sol}${' '.repeat(100)}`,
      '24',
      `1000+${values.join('-')}`,
      pick(rng, ['', '()', '+', `${sol})`]),
    ];
  }
  const accepted = row.accepted as string[];
  const stated = (problem as { instruction: { stated: string[] } }).instruction.stated;
  return [
    ...accepted,
    ...stated,
    ...accepted.map((a) => ` ${a} `),
    ...accepted.map((a) => a.toLowerCase()),
    'Up.',
    'act Up',
  ];
}

/** Completion texts around one answer: well-formed and malformed shapes. */
function shapes(think: string, a: string): string[] {
  return [
    `<think>${think}</think><answer>${a}</answer><eos>`,
    `<answer>${a}</answer><eos>`,
    `<think>${think}</think><answer>${a}</answer>`,
    `<think>${think}<answer>${a}</answer><eos>`,
    `<think>${think}</think><answer>${a}<eos>`,
    `<think>${think}</think><answer>${a}`,
    `<think><answer>${a}</answer></think><answer>no</answer><eos>`,
    a,
    `<think>${think}</think><answer></answer><eos>`,
    `<think>${think}</think><answer>${a}</answer><eos><answer>junk</answer>`,
    `<think>${think}</think></think><answer>${a}</answer><eos>`,
    `xx<think>${think}<eos></think><answer>${a}</answer><eos>`,
    `<think>${think}<short></think><answer>${a}</answer><eos>`,
    `<think>${think}</think><answer>${a}</answer><pad><eos>`,
  ];
}

interface Built {
  rows: Row[];
  groups: number[];
  texts: string[];
  problems: unknown[];
  levels: (LengthTag | null)[];
}

/** Cases for one task: problems across its variants, their completions in groups of one prompt each. */
function buildCases(task: TaskId, problemCount: number, variants: readonly string[], seed: number) {
  const t = getTask(task);
  const run: RunConfig = {
    ...DEFAULT_RUN_CONFIG,
    task: { ...DEFAULT_RUN_CONFIG.task, id: task, arithmeticMaxDigits: 3 },
  };
  const taskConfig = taskConfigFor(run);
  const rng = createRng(seed);
  const full: Built = { rows: [], groups: [], texts: [], problems: [], levels: [] };
  const verifyTexts: unknown[] = [];
  const verifyRows: Row[] = [];
  const verifyWant: boolean[] = [];
  const boards: string[] = [];
  const boardWant: string[][] = [];
  let group = 0;
  for (let k = 0; k < problemCount; k++) {
    const variant = variants[k % variants.length]!;
    const problem = t.generate(rng.fork(), taskConfig, { variant, atStart: k % 2 === 0 });
    const level = pick(rng, LEVELS);
    const row = promptRow(task, t.renderPrompt(problem, level), problem, level, variant);
    if (task === 'sokoban') {
      boards.push(row.board as string);
      boardWant.push([...(problem as { optimal: string[] }).optimal]);
      if (k % 2 === 1) delete row.optimal; // the reward then searches the board itself
    }
    const cot = t.writeTrace(problem, rng.fork(), taskConfig);
    const think = cot.think ?? '';
    const texts = new Set<string>();
    texts.add(`<think>${think}</think><answer>${cot.answer}</answer><eos>`);
    texts.add(`<answer>${t.writeAnswerOnly(problem).answer}</answer><eos>`);
    const answers = answersFor(task, problem, row, rng);
    const right = [...texts];
    // Every answer in the well-formed shape (right and wrong), the rest of the shapes drawn.
    const thinks = [think, think.slice(0, 3), '', `${think};Wait,${think}`];
    for (const a of answers) texts.add(shapes(pick(rng, thinks), a)[0]!);
    while (texts.size < PER_PROBLEM - 12) texts.add(pick(rng, shapes(pick(rng, thinks), pick(rng, answers))));
    for (let m = 0; m < 12; m++) texts.add(mutate(rng, pick(rng, right), VOCAB_PIECES));
    const encodable = [...texts].filter((x) => isEncodable(x));
    // Groups of 2–8 completions of this prompt.
    for (let i = 0; i < encodable.length; ) {
      const size = Math.min(encodable.length - i, 2 + rng.int(7));
      for (let j = 0; j < size; j++) {
        full.rows.push(row);
        full.groups.push(group);
        full.texts.push(encodable[i + j]!);
        full.problems.push(problem);
        full.levels.push(level);
      }
      group++;
      i += size;
    }
    // Verify-only: everything above, plus hostile text.
    const hostile = [
      ...[...texts].slice(0, 6).map((x) => mutate(rng, x, HOSTILE_PIECES)),
      `${'😀'.repeat(4100)}<answer>${answers[0]}</answer>`,
      `${'z'.repeat(8180)}<answer>${answers[0]}</answer><eos>`,
      `${'z'.repeat(8170)}<answer>${answers[0]}</answer><eos>`,
      `<answer>\u00a0\ufeff${answers[0]}\u2028</answer><eos>`,
      `<answer>\x1c${answers[0]}</answer><eos>`,
      `<answer>${answers[0]}\ud800</answer><eos>`,
    ];
    for (const x of [...texts, ...hostile]) {
      verifyTexts.push(x);
      verifyRows.push(row);
      verifyWant.push(t.verify(problem, x).correct);
    }
    verifyTexts.push([{ role: 'assistant', content: right[0] }], null, 42);
    verifyRows.push(row, row, row);
    verifyWant.push(t.verify(problem, right[0]!).correct, false, false);
  }
  return { full, verify: { texts: verifyTexts, rows: verifyRows, want: verifyWant }, boards, boardWant };
}

/** The cases of the groups `keep` selects, in order. */
function sliceGroups(full: Built, keep: (group: number) => boolean): Built {
  const out: Built = { rows: [], groups: [], texts: [], problems: [], levels: [] };
  full.groups.forEach((g, i) => {
    if (!keep(g)) return;
    out.rows.push(full.rows[i]!);
    out.groups.push(g);
    out.texts.push(full.texts[i]!);
    out.problems.push(full.problems[i]);
    out.levels.push(full.levels[i]!);
  });
  return out;
}

type Parts = [number, number, number, number];

/** The TS rewards of the full cases under one setting: scoreRollouts + groupRewards, group by group. */
function tsParts(task: TaskId, full: Built, setting: (typeof REWARDS)[number]): Parts[] {
  const run: RunConfig = {
    ...DEFAULT_RUN_CONFIG,
    task: { ...DEFAULT_RUN_CONFIG.task, id: task, targetStyle: setting.style },
    rl: { ...DEFAULT_RL_CONFIG, reward: setting.reward },
  };
  const out: Parts[] = [];
  for (let i = 0; i < full.texts.length; ) {
    let j = i;
    while (j < full.texts.length && full.groups[j] === full.groups[i]) j++;
    const item: RlItem = {
      prompt: full.rows[i]!.prompt as string,
      promptIds: encode(full.rows[i]!.prompt as string),
      problem: full.problems[i],
      level: full.levels[i]!,
    };
    const completions: Completion[] = full.texts
      .slice(i, j)
      .map((text) => ({ tokens: encode(text), logprobs: [], finished: text.endsWith('<eos>') }));
    const scored = scoreRollouts(run, [item], completions, j - i);
    for (const p of groupRewards(setting.reward, scored)) out.push([p.correctness, p.format, p.length, p.total]);
    i = j;
  }
  return out;
}

interface CheckResult {
  batches: Parts[][];
  trl: number[][][];
  verify: boolean[];
  optimal: string[][];
}

function checkTask(task: TaskId, problemCount: number, variants: readonly string[], seed: number): void {
  const { full, verify, boards, boardWant } = buildCases(task, problemCount, variants, seed);
  const settings = REWARDS.map((s) => ({
    setting: s,
    config: rewardConfigFor({
      ...DEFAULT_RUN_CONFIG,
      task: { ...DEFAULT_RUN_CONFIG.task, id: task, targetStyle: s.style },
      rl: { ...DEFAULT_RL_CONFIG, reward: s.reward },
    }),
  }));
  // Group g is scored under setting g mod 5 (every setting sees every kind of completion, each case runs once).
  const slices = settings.map((_, k) => sliceGroups(full, (g) => g % settings.length === k));
  // Each problem's row is sent once; cases name it by index.
  const table: Row[] = [];
  const indexOf = new Map<Row, number>();
  const idx = (r: Row) => {
    if (!indexOf.has(r)) indexOf.set(r, table.push(r) - 1);
    return indexOf.get(r)!;
  };
  const result = runCheck<CheckResult>(DIR, {
    kind: 'rewards',
    rows: table,
    batches: settings.map((s, k) => ({
      config: s.config,
      completions: slices[k]!.texts,
      rows: slices[k]!.rows.map(idx),
      groups: slices[k]!.groups,
    })),
    verify: { task, texts: verify.texts, rows: verify.rows.map(idx) },
    boards,
  });
  // Over 10,000 completions through every reward function, and over 10,000 through the verifier alone.
  expect(full.texts.length).toBeGreaterThanOrEqual(10_000);
  expect(verify.texts.length).toBeGreaterThanOrEqual(10_000);
  const wantCorrect = new Set(['1', '0']);
  let correct = 0;
  settings.forEach((s, k) => {
    const slice = slices[k]!;
    const want = tsParts(task, slice, s.setting);
    const got = result.batches[k]!;
    const trl = result.trl[k]!;
    let mismatches = 0;
    const first: string[] = [];
    for (let i = 0; i < want.length; i++) {
      const w = want[i]!;
      const g = got[i]!;
      const fromTrl = [trl[0]![i]!, trl[1]![i]!, trl[2]![i]!];
      // Same value up to float addition order: 1e-12 (the parts are sums of at most three terms).
      const bad = w.some((x, c) => Math.abs(x - g[c]!) > 1e-12) || fromTrl.some((x, c) => Math.abs(x - w[c]!) > 1e-12);
      if (bad) {
        mismatches++;
        if (first.length < 5) first.push(`${JSON.stringify(slice.texts[i])}: ts ${w} py ${g} trl ${fromTrl}`);
      }
    }
    expect(first, `${task} ${s.setting.reward.lengthPenalty}/${s.setting.style}: ${mismatches} mismatches`).toEqual([]);
    expect(wantCorrect.has(String(want[0]![0]))).toBe(true);
    expect(want.length).toBeGreaterThan(1000);
    correct += want.filter((p) => p[0] === 1).length;
  });
  // The cases are not trivially one-sided.
  expect(correct).toBeGreaterThan(full.texts.length * 0.05);
  expect(correct).toBeLessThan(full.texts.length * 0.95);
  const wrongVerify = verify.want.map((w, i) => (w === result.verify[i] ? null : i)).filter((i) => i !== null);
  expect(wrongVerify.slice(0, 5).map((i) => JSON.stringify(verify.texts[i!]).slice(0, 200))).toEqual([]);
  expect(result.optimal).toEqual(boardWant);
  expect(boards.length === 0 || boards.length === problemCount).toBe(true);
}

describe('rewards.py equals the TypeScript verifiers and TLDR rewards', () => {
  it('arithmetic', () => {
    checkTask('arithmetic', 172, ['id', 'add', 'sub', 'mul', 'more_digits'], 11);
  });
  it('general_points', () => {
    checkTask('general_points', 166, getTask('general_points').variants, 12);
  });
  it('sokoban', () => {
    checkTask('sokoban', 172, ['id', 'alpha', 'numeric', 'symbols', 'diverse', 'fake_numeric', 'boxes2', 'size8'], 13);
  });
});
