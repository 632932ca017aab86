/**
 * The evaluation suites of the SFT-generalization lab (src/train/suites.ts).
 *
 * Scripted policies read only the prompt (they parse the board or the hand and solve it with the task's solver), so
 * they go through exactly the loop and scoring the model does. The model tests use a 1-layer dModel-32 model with a
 * context of 128 (a 6×6 Sokoban prompt is 66 tokens), trained for 15 steps on the CPU on answer-only Sokoban: enough
 * to write `<answer>Left</answer><eos>`, so its actions move the player and the replay check is not vacuous.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, type ModelConfig } from '../../src/model/config';
import { buildEvalSuite } from '../../src/tasks/datasets';
import * as gp from '../../src/tasks/general_points';
import { TASK_IDS, TASKS } from '../../src/tasks/index';
import {
  ACTIONS,
  type Action,
  isSolved,
  parseAction,
  parseBoard,
  renderBoard,
  renderPrompt,
  type SokobanProblem,
  type SokobanState,
  solve,
  step,
} from '../../src/tasks/sokoban';
import { countTokens, vocabSize } from '../../src/tasks/tokenizer';
import type { DecodeBackend, TrainBackend, TrainerState } from '../../src/train/backend';
import { createCpuBackend } from '../../src/train/backend_cpu';
import { DEFAULT_OPTIM_CONFIG } from '../../src/train/config';
import { CpuTrainer } from '../../src/train/cpu_trainer';
import { batchAt, buildSftData } from '../../src/train/data';
import { GrpoSession } from '../../src/train/grpo';
import {
  DEFAULT_DECODE_CONFIG,
  DEFAULT_RUN_CONFIG,
  type DecodeConfig,
  type RunConfig,
  taskConfigFor,
} from '../../src/train/run_config';
import { SftSession } from '../../src/train/sft';
import { SUITE_SAMPLES_PER_VERDICT } from '../../src/train/suite_types';
import {
  decoderPolicy,
  type EpisodeOutcome,
  evaluateSuites,
  evaluateSuitesWith,
  playEpisodes,
  roundSeed,
  type SuiteEvalOptions,
  type SuitePolicy,
  type SuiteResult,
  suiteKindOf,
  textPolicy,
} from '../../src/train/suites';

const sokobanRun: RunConfig = {
  ...DEFAULT_RUN_CONFIG,
  seed: 9,
  task: { ...DEFAULT_RUN_CONFIG.task, id: 'sokoban', targetStyle: 'answer' },
  sft: { ...DEFAULT_RUN_CONFIG.sft, batchSize: 8, trainSize: 128 },
};
const gpRun: RunConfig = { ...DEFAULT_RUN_CONFIG, task: { ...DEFAULT_RUN_CONFIG.task, id: 'general_points' } };

// ---------------------------------------------------------------- scripted policies (read the prompt only)

/** The board and the action line's names of a Sokoban prompt: `stated[i]` is the name the prompt gives ACTIONS[i]. */
function readSokobanPrompt(prompt: string): { state: SokobanState; stated: string[] } {
  const lines = prompt.split('\n');
  const line = lines.pop()!;
  if (!line.startsWith('act ') || !line.endsWith(':')) throw new Error(`not an action line: ${line}`);
  const stated = new Array<string>(4);
  line
    .slice(4, -1)
    .split(',')
    .forEach((part, i) => {
      // `name=Action`, or (training words) the plain names in the order Up,Down,Left,Right
      const eq = part.indexOf('=');
      if (eq < 0) stated[i] = part;
      else stated[ACTIONS.indexOf(part.slice(eq + 1) as Action)] = part.slice(0, eq);
    });
  return { state: parseBoard(lines.join('\n')), stated };
}

/** Plays an optimal plan, naming each action as the prompt states it ('stated') or by its training name ('words'). */
function sokobanPlanner(naming: 'stated' | 'words'): (prompt: string) => string {
  return (prompt) => {
    const { state, stated } = readSokobanPrompt(prompt);
    const plan = solve(state)!;
    const a = plan[0]!;
    const name = naming === 'words' ? a : stated[ACTIONS.indexOf(a)]!;
    return `<think>plan ${plan.join(',')}</think><answer>${name}</answer><eos>`;
  };
}

/** Solves a General Points prompt with the face values it states ('stated') or with J=Q=K=10 ('ten'). */
function gpSolver(rule: 'stated' | 'ten', solved: { count: number }): (prompt: string) => string {
  return (prompt) => {
    const [cardsPart, rulePart, targetPart] = prompt.split(';') as [string, string, string];
    const cards = cardsPart.slice('cards '.length).split(',');
    const stated: gp.FaceRule = { J: 10, Q: 10, K: 10 };
    for (const term of rulePart.split(',')) {
      // `J=11` or the chained `J=Q=K=5`
      const names = term.split('=');
      const value = Number(names.pop());
      for (const n of names) if (n === 'J' || n === 'Q' || n === 'K') stated[n] = value;
    }
    const faceRule = rule === 'ten' ? { J: 10, Q: 10, K: 10 } : stated;
    const target = Number(targetPart.slice('target '.length, -1));
    const expr = gp.solve(
      cards.map((c) => gp.cardValue(c, faceRule)),
      target,
    );
    if (expr === null) return '<answer>none</answer><eos>';
    solved.count++;
    return `<answer>${gp.formatExpr(expr)}</answer><eos>`;
  };
}

/** Records every round's prompts and replies of a policy. */
function recording(policy: SuitePolicy): { policy: SuitePolicy; rounds: { prompts: string[]; texts: string[] }[] } {
  const rounds: { prompts: string[]; texts: string[] }[] = [];
  return {
    rounds,
    policy: async (requests) => {
      const replies = await policy(requests);
      rounds.push({
        prompts: requests.flatMap((r) => r.prompts),
        texts: replies.flat().map((r) => (r.ok ? r.completion : `refused: ${r.reason}`)),
      });
      return replies;
    },
  };
}

/** Every SuiteResult invariant that does not depend on what the policy answered. */
function expectConsistent(r: SuiteResult, maxActions: number): void {
  expect(r.successes).toBeGreaterThanOrEqual(0);
  expect(r.successes).toBeLessThanOrEqual(r.problems);
  // Problems refused as too long are failures.
  expect(r.tooLong).toBeGreaterThanOrEqual(0);
  expect(r.tooLong).toBeLessThanOrEqual(r.problems - r.successes);
  const wins = r.samples.filter((s) => s.success);
  const losses = r.samples.filter((s) => !s.success);
  expect(wins).toHaveLength(Math.min(SUITE_SAMPLES_PER_VERDICT, r.successes));
  expect(losses).toHaveLength(Math.min(SUITE_SAMPLES_PER_VERDICT, r.problems - r.successes));
  expect(r.samples).toEqual([...wins, ...losses]); // successes first
  expect(r.meanThinkingTokens).toBeGreaterThanOrEqual(0);
  expect(r.evalTimeMs).toBeGreaterThanOrEqual(0);
  expect(JSON.parse(JSON.stringify(r))).toEqual(r); // plain JSON
  if (r.unit === 'answer') {
    expect(r.meanActions).toBeNull();
    for (const s of r.samples) expect(s.turns.length).toBeLessThanOrEqual(1);
    return;
  }
  expect(r.meanActions).toBeGreaterThanOrEqual(0);
  expect(r.meanActions).toBeLessThanOrEqual(maxActions);
  for (const s of r.samples) {
    expect(s.turns.length).toBeLessThanOrEqual(maxActions);
    // A sample's verdict is its replay's: solved within the limit.
    expect(s.prompt.startsWith(`${s.board}\n`)).toBe(true);
    let state = parseBoard(s.board!);
    for (const t of s.turns) if (t.action !== null) state = step(state, t.action as Action);
    expect(isSolved(state)).toBe(s.success);
    expect(s.reason === 'solved').toBe(s.success);
  }
}

// ---------------------------------------------------------------- tests

describe('suiteKindOf', () => {
  it('names a kind for every variant of every task and throws for an unknown one', () => {
    for (const id of TASK_IDS) {
      for (const v of TASKS[id].variants)
        expect(['id', 'instruction', 'difficulty', 'fake', 'training']).toContain(suiteKindOf(id, v));
      expect(suiteKindOf(id, 'id')).toBe('id');
    }
    expect(suiteKindOf('sokoban', 'fake_numeric')).toBe('fake');
    expect(suiteKindOf('sokoban', 'diverse')).toBe('training');
    expect(suiteKindOf('sokoban', 'size10_boxes2')).toBe('difficulty');
    expect(suiteKindOf('sokoban', 'symbols')).toBe('instruction');
    expect(suiteKindOf('general_points', 'fake_face')).toBe('fake');
    expect(suiteKindOf('general_points', 'face_7')).toBe('instruction');
    expect(suiteKindOf('general_points', 'five_cards')).toBe('difficulty');
    expect(suiteKindOf('arithmetic', 'mul')).toBe('id');
    expect(suiteKindOf('arithmetic', 'more_digits')).toBe('difficulty');
    expect(() => suiteKindOf('sokoban', 'size12')).toThrow(/'size12'/);
    expect(() => suiteKindOf('arithmetic', 'toString')).toThrow(/'toString'/);
  });
});

describe('fake variants, scored as the paper defines them (scripted policies through the same loop)', () => {
  it("Sokoban fake_numeric: answers following the prompt's 1..4 fail, training names succeed; numeric the reverse", async () => {
    const opts: SuiteEvalOptions = { size: 6, seed: 40, maxActions: 30 };
    const run = async (naming: 'stated' | 'words', variant: string) => {
      const rec = recording(textPolicy(sokobanPlanner(naming)));
      const [r] = await evaluateSuitesWith(rec.policy, sokobanRun, { ...opts, variants: [variant] });
      expect(r!.problems).toBe(6);
      expectConsistent(r!, 30);
      // Thinking tokens: the mean over every completion of the suite, recounted here from the text.
      const texts = rec.rounds.flatMap((round) => round.texts);
      expect(texts).toHaveLength(r!.meanActions! * 6);
      const thinking = texts.map((t) => countTokens(t.slice('<think>'.length, t.indexOf('</think>'))));
      expect(r!.meanThinkingTokens).toBeCloseTo(thinking.reduce((a, b) => a + b, 0) / texts.length, 9);
      // Every completion is a turn; the planner always writes one action name, parsed only if the prompt's
      // environment accepts that vocabulary.
      expect(r!.turns).toBe(texts.length);
      return r!;
    };
    const fakeStated = await run('stated', 'fake_numeric');
    const fakeWords = await run('words', 'fake_numeric');
    expect([fakeStated.suite, fakeStated.kind, fakeStated.unit]).toEqual(['fake_numeric', 'fake', 'episode']);
    expect(fakeStated.successes).toBe(0);
    expect(fakeStated.tooLong).toBe(0); // wrong answers, not refusals
    expect(fakeWords.successes).toBe(6);
    const numericStated = await run('stated', 'numeric');
    const numericWords = await run('words', 'numeric');
    expect(numericStated.successes).toBe(6);
    expect(numericWords.successes).toBe(0);
    // Answers parsed: all of them in the environment's vocabulary, none in the other one.
    expect([fakeWords.parsedTurns, numericStated.parsedTurns]).toEqual([fakeWords.turns, numericStated.turns]);
    expect([fakeStated.parsedTurns, numericWords.parsedTurns]).toEqual([0, 0]);
    expect(fakeStated.turns).toBe(6 * 30);
    // The stated-name answers were refused by the environment, using up every action.
    expect(fakeStated.meanActions).toBe(30);
    for (const s of fakeStated.samples) {
      expect(s.prompt.endsWith('act 1=Up,2=Down,3=Left,4=Right:')).toBe(true);
      expect(s.reason).toBe('out of actions (30)');
      for (const t of s.turns) expect([t.action, t.note.startsWith('invalid: not-accepted')]).toEqual([null, true]);
    }
    // Optimal play in training names takes exactly the optimal plan's length.
    for (const s of fakeWords.samples) expect(s.turns).toHaveLength(solve(parseBoard(s.board!))!.length);
  });

  it('General Points fake_face: answers with the stated J,Q,K = 11,12,13 fail, J=Q=K=10 succeed; face_11_12_13 the reverse', async () => {
    const opts: SuiteEvalOptions = { size: 8, seed: 3, variants: ['fake_face', 'face_11_12_13'] };
    const statedSolved = { count: 0 };
    const [faceS, fakeS] = await evaluateSuitesWith(textPolicy(gpSolver('stated', statedSolved)), gpRun, opts);
    const [faceT, fakeT] = await evaluateSuitesWith(textPolicy(gpSolver('ten', { count: 0 })), gpRun, opts);
    for (const r of [faceS, fakeS, faceT, fakeT]) {
      expect(r!.problems).toBe(8);
      expectConsistent(r!, 0);
    }
    // Results come in the task's variant order, whatever order was asked for.
    expect([faceS!.suite, fakeS!.suite]).toEqual(['face_11_12_13', 'fake_face']);
    expect([fakeS!.kind, fakeS!.unit]).toEqual(['fake', 'answer']);
    // The 8 face_11_12_13 hands are solvable with their stated values; so is some fake_face hand, so some of the
    // fake failures are real formulas, refused for the values they use.
    expect(statedSolved.count).toBeGreaterThan(8);
    expect(fakeS!.successes).toBe(0);
    expect(fakeS!.samples.some((s) => s.reason.startsWith('wrong-cards'))).toBe(true);
    expect(fakeT!.successes).toBe(8);
    expect(faceS!.successes).toBe(8);
    expect(faceT!.successes).toBe(0);
    for (const s of fakeT!.samples) expect([s.turns[0]!.note, s.turns[0]!.thinkingTokens]).toEqual(['ok', 0]);
    // One answer per problem, each a formula the parser reads, right or wrong.
    for (const r of [faceS, fakeS, faceT, fakeT]) expect([r!.turns, r!.parsedTurns]).toEqual([8, 8]);
  });
});

describe('prompts refused as too long for the context', () => {
  /** Replies to round `round`'s prompt `i` with `refuse(round, i)` when it names a refusal, else with `answer`. */
  function refusing(
    answer: (prompt: string) => string,
    refuse: (round: number, i: number) => { reason: string; tooLong: boolean } | null,
  ): SuitePolicy {
    const inner = textPolicy(answer);
    let round = 0;
    return async (requests) => {
      const replies = await inner(requests);
      const r = round++;
      return replies.map((list) =>
        list.map((reply, i) => {
          const refusal = refuse(r, i);
          return refusal === null ? reply : { ok: false, ...refusal };
        }),
      );
    };
  }

  it('Sokoban: an episode refused at a later turn counts as too long; another refusal does not', async () => {
    // Round 1 (each episode's second prompt): the first running episode is refused for length, the second for
    // another reason; the others play on to the solution.
    const policy = refusing(sokobanPlanner('words'), (round, i) =>
      round !== 1
        ? null
        : i === 0
          ? { reason: 'prompt too long: test', tooLong: true }
          : i === 1
            ? { reason: 'busy', tooLong: false }
            : null,
    );
    const [r] = await evaluateSuitesWith(policy, sokobanRun, { size: 5, seed: 40, variants: ['id'], maxActions: 30 });
    expectConsistent(r!, 30);
    expect([r!.problems, r!.successes, r!.tooLong]).toEqual([5, 3, 1]);
    const failures = r!.samples.filter((s) => !s.success);
    expect(failures.map((s) => [s.reason, s.turns.length])).toEqual([
      ['prompt too long: test', 1],
      ['busy', 1],
    ]);
  });

  it('answer tasks: a refused prompt counts as too long only when refused for length', async () => {
    const solved = { count: 0 };
    const policy = refusing(gpSolver('stated', solved), (_round, i) =>
      i % 3 === 0
        ? { reason: 'prompt too long: test', tooLong: true }
        : i % 3 === 1
          ? { reason: 'busy', tooLong: false }
          : null,
    );
    const [r] = await evaluateSuitesWith(policy, gpRun, { size: 9, seed: 2, variants: ['id'] });
    expectConsistent(r!, 0);
    expect([r!.problems, r!.successes, r!.tooLong]).toEqual([9, 3, 3]);
    // Without refusals nothing is too long.
    const [plain] = await evaluateSuitesWith(textPolicy(gpSolver('stated', solved)), gpRun, {
      size: 9,
      seed: 2,
      variants: ['id'],
    });
    expect([plain!.successes, plain!.tooLong]).toEqual([9, 0]);
  });
});

describe('suite sizes and options', () => {
  it('a suite larger than its held-out space shrinks to the largest that builds; bad options name the field', async () => {
    // face_7 holds 33 distinct held-out hands (docs/tasks.md).
    const [r] = await evaluateSuitesWith(textPolicy(gpSolver('stated', { count: 0 })), gpRun, {
      size: 40,
      seed: 1,
      variants: ['face_7'],
    });
    expect(r!.problems).toBe(33);
    expect(r!.successes).toBe(33);
    const policy = textPolicy(() => '');
    const bad = (o: Partial<SuiteEvalOptions>) =>
      evaluateSuitesWith(policy, sokobanRun, { size: 2, seed: 1, ...o } as SuiteEvalOptions);
    await expect(bad({ variants: ['id', 'size12'] })).rejects.toThrow(/variants\[1\].*'size12'/);
    await expect(bad({ variants: ['id', 'id'] })).rejects.toThrow(/variants\[1\].*twice/);
    await expect(bad({ variants: [] })).rejects.toThrow(/variants/);
    await expect(bad({ size: 0 })).rejects.toThrow(ConfigError);
    await expect(bad({ maxActions: 257 })).rejects.toThrow(/maxActions/);
    await expect(bad({ decode: { ...DEFAULT_DECODE_CONFIG, temperature: -1 } })).rejects.toThrow(/decode\.temperature/);
    // Sampling seeds differ per suite and round.
    const seeds = new Set([0, 1, 2].flatMap((suite) => [0, 1, 2].map((round) => roundSeed(5, suite, round))));
    expect(seeds.size).toBe(9);
  });
});

const model: ModelConfig = { vocabSize, contextLength: 128, dModel: 32, nLayers: 1, nHeads: 2, mlpRatio: 2, seed: 3 };
const greedy: DecodeConfig = { ...DEFAULT_DECODE_CONFIG, maxNewTokens: 10 };
const maxActions = 3;

/** 15 SFT steps on the CPU (batch 8, answer-only Sokoban): about 3 s, a pure function of the config. */
async function trainedState(): Promise<TrainerState> {
  const data = { ...buildSftData(sokobanRun), seqLen: model.contextLength };
  const optim = { ...DEFAULT_OPTIM_CONFIG, learningRate: 2e-2, warmupSteps: 3, decaySteps: 15 };
  const trainer = new CpuTrainer(model, optim, data.batchSize, model.contextLength);
  for (let s = 0; s < 15; s++) await trainer.step(batchAt(data, s));
  return trainer.readState();
}

/**
 * Episodes with a trained model, on the CPU backend: a generate call takes seconds on a software adapter, and the
 * decoders are checked against the reference model elsewhere (tests/model/generate.test.ts for the GPU,
 * tests/model/generate_cpu.test.ts for the CPU), so the episode loop runs on the CPU decoder only.
 */
describe('episodes with the model', () => {
  let state: TrainerState;
  const owned: { destroy(): void }[] = [];
  const sessions: { destroy(): Promise<void> }[] = [];
  /** Rounds in chunks of 3 and of 1 (greedy tokens do not depend on the chunking). */
  let chunkedDecoder: DecodeBackend;
  let cpuDecoder: DecodeBackend;
  let cpuTrainer: TrainBackend;
  /** 4 held-out level starts of the 'id' suite (seed 21 + 0: the problems evaluateSuites draws for it). */
  const levels = buildEvalSuite({
    task: 'sokoban',
    size: 4,
    variant: 'id',
    seed: 21,
    config: taskConfigFor(sokobanRun),
  }).map((s) => s.problem as SokobanProblem);
  let outcomes: EpisodeOutcome[];

  beforeAll(async () => {
    state = await trainedState();
    cpuTrainer = createCpuBackend().createTrainer(model, DEFAULT_OPTIM_CONFIG, 1, model.contextLength);
    await cpuTrainer.loadState(state);
    cpuDecoder = createCpuBackend().createDecoder(cpuTrainer, 3);
    chunkedDecoder = createCpuBackend().createDecoder(cpuTrainer, 1);
    owned.push(cpuDecoder, chunkedDecoder, cpuTrainer);
  }, 60_000);
  afterAll(async () => {
    for (const session of sessions) await session.destroy();
    for (const o of owned) o.destroy();
  });

  it('every prompt is the board after replaying the earlier actions; episodes stop when solved or out of actions', async () => {
    const starts = levels.map((p) => ({ level: p.level, instruction: p.instruction }));
    const recorded = recording(decoderPolicy(cpuDecoder, model.contextLength, greedy));
    outcomes = await playEpisodes(starts, recorded.policy, maxActions, (r) => roundSeed(21, 0, r));
    expect(outcomes).toHaveLength(4);
    // Independent replay with the task's parser and step.
    let moved = 0;
    const replayed = outcomes.map((o, e) => {
      const boards: SokobanState[] = [levels[e]!.level];
      o.turns.forEach((t, i) => {
        const parsed = parseAction(t.completion, starts[e]!.instruction);
        expect(t.action).toBe(parsed.ok ? parsed.action : null);
        const before = boards[i]!;
        const after = parsed.ok ? step(before, parsed.action) : before;
        if (after !== before) moved++;
        if (i < o.turns.length - 1) expect(isSolved(after)).toBe(false); // no turn after solving
        boards.push(after);
      });
      expect(o.actionsUsed).toBe(o.turns.length);
      const last = boards.at(-1)!;
      expect(o.finalState).toEqual(last);
      expect(o.success).toBe(isSolved(last));
      if (!isSolved(last)) expect(o.turns).toHaveLength(maxActions);
      return boards;
    });
    expect(moved).toBeGreaterThan(0); // the model's answers do move the player
    // Round r asked the episodes still running, in order, each about the board after its first r actions.
    expect(recorded.rounds).toHaveLength(Math.max(...outcomes.map((o) => o.turns.length)));
    recorded.rounds.forEach((round, r) => {
      const running = outcomes.flatMap((o, e) => (o.turns.length > r ? [e] : []));
      expect(round.prompts).toEqual(running.map((e) => renderPrompt(replayed[e]![r]!, starts[e]!.instruction)));
      expect(round.texts).toEqual(running.map((e) => outcomes[e]!.turns[r]!.completion));
    });
    // Greedy decoding: the same episodes token for token when each round is generated one prompt at a time.
    const oneByOne = await playEpisodes(
      starts,
      decoderPolicy(chunkedDecoder, model.contextLength, greedy),
      maxActions,
      (r) => roundSeed(21, 0, r),
    );
    expect(oneByOne).toEqual(outcomes);
  }, 60_000);

  it('evaluateSuites: one result per suite in variant order; id scores the same episodes; a prompt too long fails clearly', async () => {
    const results = await evaluateSuites(
      cpuDecoder,
      sokobanRun,
      { size: 4, seed: 21, variants: ['size10', 'id'], maxActions, decode: greedy },
      model.contextLength,
    );
    expect(results.map((r) => [r.suite, r.kind, r.unit, r.problems])).toEqual([
      ['id', 'id', 'episode', 4],
      ['size10', 'difficulty', 'episode', 4],
    ]);
    for (const r of results) expectConsistent(r, maxActions);
    const [id, size10] = results as [SuiteResult, SuiteResult];
    // The 'id' suite is the 4 levels above, played as playEpisodes played them.
    expect(id.successes).toBe(outcomes.filter((o) => o.success).length);
    expect(id.meanActions).toBe(outcomes.reduce((a, o) => a + o.actionsUsed, 0) / 4);
    const turns = outcomes.flatMap((o) => o.turns);
    expect(id.meanThinkingTokens).toBe(turns.reduce((a, t) => a + t.thinkingTokens, 0) / turns.length);
    for (const s of id.samples) {
      const e = levels.findIndex((p) => renderBoard(p.level) === s.board);
      expect(e).toBeGreaterThanOrEqual(0);
      expect(s.turns).toEqual(outcomes[e]!.turns);
    }
    // A 10×10 board (133 prompt tokens) leaves no room in a context of 128: every episode fails, saying why, and is
    // counted as too long; none of the 'id' episodes is.
    expect([size10.successes, size10.meanActions, size10.meanThinkingTokens]).toEqual([0, 0, 0]);
    expect(size10.tooLong).toBe(size10.problems);
    expect(id.tooLong).toBe(0);
    for (const s of size10.samples) {
      expect(s.turns).toEqual([]);
      expect(s.reason).toMatch(/prompt too long: 133 tokens .* context of 128/);
    }
    // An answer task: the model's policy refuses every General Points prompt in a context of 8 tokens (before any
    // generation), and each is a too-long failure.
    const [gpShort] = await evaluateSuites(
      cpuDecoder,
      gpRun,
      { size: 3, seed: 1, variants: ['id'], decode: greedy },
      8,
    );
    expectConsistent(gpShort!, 0);
    expect([gpShort!.problems, gpShort!.successes, gpShort!.tooLong]).toEqual([3, 0, 3]);
    for (const s of gpShort!.samples) expect(s.reason).toMatch(/prompt too long: \d+ tokens .* context of 8/);
  }, 60_000);

  it('suites evaluated together, sharing generation chunks, score as each alone under sampled decoding', async () => {
    const sampled: DecodeConfig = { ...greedy, temperature: 1 };
    const strip = (rs: SuiteResult[]) => rs.map((r) => ({ ...r, evalTimeMs: 0 }));
    for (const [run, variants] of [
      [sokobanRun, ['id', 'alpha', 'numeric']],
      [gpRun, ['id', 'face_5', 'high_card']],
    ] as const) {
      const opts: SuiteEvalOptions = { size: 4, seed: 21, variants: [...variants], maxActions, decode: sampled };
      // 4 problems a suite in rows of 3: every round's chunks hold prompts of two suites.
      const together = recording(decoderPolicy(cpuDecoder, model.contextLength, sampled));
      const results = await evaluateSuitesWith(together.policy, run, opts);
      expect(results.map((r) => r.suite)).toEqual([...variants]);
      const alone: SuiteResult[] = [];
      let aloneCalls = 0;
      for (const variant of variants) {
        const rec = recording(decoderPolicy(cpuDecoder, model.contextLength, sampled));
        alone.push(...(await evaluateSuitesWith(rec.policy, run, { ...opts, variants: [variant] })));
        aloneCalls += rec.rounds.length;
      }
      expect(strip(results)).toEqual(strip(alone));
      // Nor do they depend on the decoder's rows (streams are fixed per prompt): one prompt per call.
      const narrow = await evaluateSuitesWith(decoderPolicy(chunkedDecoder, model.contextLength, sampled), run, opts);
      expect(strip(narrow)).toEqual(strip(results));
      // One policy call per round for all suites.
      expect(together.rounds.length).toBeLessThanOrEqual(run === sokobanRun ? maxActions : 1);
      expect(together.rounds.length).toBeLessThan(aloneCalls);
      for (const r of results) expect(r.evalTimeMs).toBeGreaterThan(0);
      // Sampling mattered: greedy answers differ somewhere (so equal results are not greedy coincidence).
      const greedyResults = await evaluateSuites(cpuDecoder, run, { ...opts, decode: greedy }, model.contextLength);
      const texts = (rs: SuiteResult[]) =>
        rs.flatMap((r) => r.samples.flatMap((x) => x.turns.map((t) => t.completion)));
      expect(texts(greedyResults)).not.toEqual(texts(results));
    }
  }, 60_000);

  it('the sessions evaluate their current weights on the suites', async () => {
    const opts: SuiteEvalOptions = {
      size: 2,
      seed: 5,
      variants: ['fake_numeric', 'alpha'],
      maxActions: 2,
      decode: greedy,
    };
    const strip = (rs: SuiteResult[]) => rs.map((r) => ({ ...r, evalTimeMs: 0 }));
    const rl = new GrpoSession(createCpuBackend(), sokobanRun, () => {}, state, { model });
    sessions.push(rl);
    const fromSession = await rl.evaluateSuites(opts);
    expect(strip(fromSession)).toEqual(strip(await evaluateSuites(cpuDecoder, sokobanRun, opts, model.contextLength)));
    // A decoder of other rows for one evaluation: the same results.
    expect(strip(await rl.evaluateSuites({ ...opts, decodeRows: 5 }))).toEqual(strip(fromSession));
    await expect(rl.evaluateSuites({ ...opts, decodeRows: 0 })).rejects.toThrow(/decodeRows/);
    expect(fromSession.map((r) => r.suite)).toEqual(['alpha', 'fake_numeric']);
    await expect(rl.evaluateSuites({ ...opts, size: 1.5 })).rejects.toThrow(/size/);
    // SftSession: the run's own model ('tiny', context 64), arithmetic, untrained.
    const arithmeticRun: RunConfig = {
      ...DEFAULT_RUN_CONFIG,
      model: { size: 'tiny' },
      task: { ...DEFAULT_RUN_CONFIG.task, arithmeticMaxDigits: 1 },
    };
    const sft = new SftSession(createCpuBackend(), arithmeticRun, () => {});
    sessions.push(sft);
    const results = await sft.evaluateSuites({ size: 2, seed: 5, variants: ['more_digits', 'add'], decode: greedy });
    expect(results.map((r) => [r.suite, r.kind, r.unit, r.problems, r.meanActions])).toEqual([
      ['add', 'id', 'answer', 2, null],
      ['more_digits', 'difficulty', 'answer', 2, null],
    ]);
    for (const r of results) {
      expectConsistent(r, 0);
      for (const s of r.samples) expect(s.turns[0]!.completion.length).toBeGreaterThan(0);
    }
    await expect(sft.evaluateSuites({ size: 2, seed: 5, variants: ['alpha'] })).rejects.toThrow(/variants\[0\]/);
  }, 60_000);
});
