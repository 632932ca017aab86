/**
 * Evaluation suites of the SFT-generalization lab: a trained model is scored on every suite of its task (one per
 * variant: in distribution, instruction or rule variants, difficulty variants, the fake variant), giving one
 * `SuiteResult` each (types: suite_types.ts).
 *
 *   suite (buildEvalSuite: held-out problems of one variant; Sokoban: level starts)
 *   → Sokoban: episodes, round by round: prompt of every unfinished episode's current board → one completion each
 *     (policy) → parseAction → step → next round, until solved or out of actions
 *   → other tasks: one completion per problem → task.verify
 *   → successes, problems refused as too long for the context, thinking length, actions, sample episodes
 *     → SuiteResult
 *
 * The loop runs on a `SuitePolicy` (prompts → completions). The model's is `decoderPolicy` (generation on a
 * DecodeBackend, chunks of decoder.rows, as evaluate.ts); tests drive the same loop and scoring with scripted
 * policies (`textPolicy`). Sampling seeds are a pure function of (seed, suite, round), so an evaluation repeats.
 * The suites of one call are evaluated together, round by round, one policy call per round for all of them: fewer
 * generate calls, each decoding the episodes of several suites in one step (what a GPU's decode step has room for),
 * and since every prompt samples from the random stream its own suite and round fix (`chunkStreams`), a suite scores the
 * same whether evaluated alone or beside others (up to f32 rounding of the GPU's prefill).
 *
 * Suite sizes: suite v (index i in the task's variant list) is buildEvalSuite(size, v, seed + i), the problems
 * buildEvalSuites gives. When the held-out space of a variant holds fewer than `size` distinct problems (General Points'
 * face variants hold 33–58), the suite is the largest that builds (largestEvalSuite: a prefix of what `size` would give)
 * and its `problems` says how many were evaluated.
 */

import { ConfigError, type ConfigIssue } from '../model/config';
import type { SampleStream } from '../model/generate';
import { buildEvalSuite } from '../tasks/datasets';
import { thinkingTokens as thinkingTokensOfText } from '../tasks/format';
import { getTask, type TaskId } from '../tasks/index';
import {
  type Action,
  DEFAULT_SOKOBAN_CONFIG,
  episodeReward,
  type Instruction,
  isSolved,
  parseAction,
  renderBoard,
  renderPrompt,
  type SokobanConfig,
  type SokobanProblem,
  type SokobanState,
  step,
} from '../tasks/sokoban';
import { decode as decodeTokens, encode, isEncodable } from '../tasks/tokenizer';
import type { DecodeBackend } from './backend';
import { largestEvalSuite } from './data';
import { chunkStreams, generateWithStreams, traceStats } from './evaluate';
import {
  DEFAULT_DECODE_CONFIG,
  type DecodeConfig,
  decodeConfigSchema,
  type RunConfig,
  taskConfigFor,
  zodIssues,
} from './run_config';
import {
  SUITE_SAMPLES_PER_VERDICT,
  type SuiteKind,
  type SuiteResult,
  type SuiteSample,
  type SuiteTurn,
} from './suite_types';

export type { SuiteKind, SuiteResult, SuiteSample, SuiteTurn } from './suite_types';

/** What to evaluate: which suites, how many problems each, the seed, decoding, the episode length. */
export interface SuiteEvalOptions {
  /** Variants to evaluate (default: all of the task's); results come in the task's variant order. */
  variants?: string[];
  /** Problems per suite (fewer where the held-out space holds fewer, see the module comment). */
  size: number;
  /** Seed of the suites' problems and of sampling. */
  seed: number;
  /** Decode settings (default DEFAULT_DECODE_CONFIG: greedy, no intervention). */
  decode?: DecodeConfig;
  /** Sokoban: most actions per episode (default the task config's maxEpisodeActions, 30). */
  maxActions?: number;
  /**
   * Prompts per generate call (sessions: default their decoder's rows). More rows let each decode step serve more
   * episodes at once; the results do not depend on it (each prompt's random stream is fixed, SUITE_STREAM_ROWS).
   */
  decodeRows?: number;
}

/** Most problems per suite and most actions per episode (the run file keeps at most 256 turns per sample). */
export const MAX_SUITE_SIZE = 4096;
export const MAX_EPISODE_ACTIONS = 256;
/** Most prompts per generate call of a suite evaluation (SuiteEvalOptions.decodeRows). */
export const MAX_SUITE_DECODE_ROWS = 4096;

/**
 * What each variant tests, per task. Arithmetic has no instruction variants: add, sub and mul are subsets of the
 * training distribution ('id'), more_digits is harder. Sokoban's 'diverse' (and General Points' when present) is in
 * distribution only for diverse-instruction training.
 */
const SUITE_KINDS: Record<TaskId, Record<string, SuiteKind>> = {
  arithmetic: { id: 'id', add: 'id', sub: 'id', mul: 'id', more_digits: 'difficulty' },
  general_points: {
    id: 'id',
    face_11_12_13: 'instruction',
    face_5: 'instruction',
    face_7: 'instruction',
    face_12: 'instruction',
    high_card: 'difficulty',
    five_cards: 'difficulty',
    fake_face: 'fake',
    diverse: 'training',
  },
  sokoban: {
    id: 'id',
    alpha: 'instruction',
    numeric: 'instruction',
    symbols: 'instruction',
    size8: 'difficulty',
    size10: 'difficulty',
    boxes2: 'difficulty',
    size10_boxes2: 'difficulty',
    fake_numeric: 'fake',
    fake_swap: 'fake',
    diverse: 'training',
  },
};

/** The kind of a task's suite; throws for a variant the table does not know. */
export function suiteKindOf(task: TaskId, variant: string): SuiteKind {
  const kinds = SUITE_KINDS[task];
  if (!kinds) throw new Error(`suiteKindOf: unknown task '${task}'`);
  const kind = Object.hasOwn(kinds, variant) ? kinds[variant] : undefined;
  if (kind === undefined) throw new Error(`suiteKindOf: task '${task}' has no suite kind for variant '${variant}'`);
  return kind;
}

// ---------------------------------------------------------------- policies

/**
 * A policy's answer to one prompt: a completion, or a refusal. `tooLong`: refused because the prompt leaves no room to
 * generate in the context (counted apart in `SuiteResult.tooLong`).
 */
export type PolicyReply =
  | { ok: true; completion: string; thinkingTokens: number }
  | { ok: false; reason: string; tooLong: boolean };

/** One suite's prompts of one round, and that suite's sampling seed for the round (chosen by the loop). */
export interface PolicyRequest {
  prompts: readonly string[];
  seed: number;
}

/**
 * Answers every prompt of one round, for one suite or several at once: one reply list per request, in prompt order.
 * A request's replies must not depend on the requests beside it (the model's policy samples each prompt from a random
 * stream its own request fixes), so suites evaluated together score as each would alone.
 */
export type SuitePolicy = (requests: readonly PolicyRequest[]) => Promise<PolicyReply[][]>;

/**
 * Rows of the chunking that fixes each suite prompt's random stream (chunkStreams(seed, n, SUITE_STREAM_ROWS)), so
 * that a suite samples the same whatever decoder evaluates it. 32: the sessions' default decoder rows, whose streams
 * suites drew from before they shared chunks.
 */
export const SUITE_STREAM_ROWS = 32;

/**
 * The model as a policy: prompts are tokenized and generated with the decode settings `d` by evaluate.ts
 * `generateWithStreams`, all requests' prompts together in chunks of decoder.rows; request r's k-th generated prompt
 * draws from chunkStreams(seed_r, …, SUITE_STREAM_ROWS)[k], so its completion depends neither on the requests beside
 * it nor on decoder.rows (up to f32 rounding on the GPU). A prompt of contextLength tokens or more is refused, naming
 * both lengths. Thinking tokens are counted as `traceStats` counts them.
 */
export function decoderPolicy(decoder: DecodeBackend, contextLength: number, d: DecodeConfig): SuitePolicy {
  return async (requests) => {
    const replies: PolicyReply[][] = requests.map((r) => new Array(r.prompts.length));
    const fitting: { request: number; index: number; ids: number[] }[] = [];
    const streams: SampleStream[] = [];
    requests.forEach((r, request) => {
      const fits: { request: number; index: number; ids: number[] }[] = [];
      r.prompts.forEach((prompt, index) => {
        const ids = encode(prompt);
        if (ids.length < contextLength) fits.push({ request, index, ids });
        else {
          replies[request]![index] = {
            ok: false,
            tooLong: true,
            reason: `prompt too long: ${ids.length} tokens leave no room to generate in the context of ${contextLength}`,
          };
        }
      });
      fitting.push(...fits);
      streams.push(...chunkStreams(r.seed, fits.length, SUITE_STREAM_ROWS));
    });
    const completions =
      fitting.length === 0
        ? []
        : await generateWithStreams(
            decoder,
            fitting.map((p) => p.ids),
            streams,
            contextLength,
            d,
          );
    fitting.forEach((p, i) => {
      const c = completions[i]!;
      replies[p.request]![p.index] = {
        ok: true,
        completion: decodeTokens(c.tokens),
        thinkingTokens: traceStats(c, false, p.ids).thinkingTokens,
      };
    });
    return replies;
  };
}

/**
 * A scripted policy: `answer(prompt)` is the completion. Thinking tokens are counted on its tokens as for the model
 * (text the tokenizer cannot encode: on the text, tasks/format.ts `thinkingTokens`).
 */
export function textPolicy(answer: (prompt: string) => string): SuitePolicy {
  return async (requests) =>
    requests.map((r) =>
      r.prompts.map((prompt) => {
        const completion = answer(prompt);
        const thinkingTokens =
          isEncodable(completion) && isEncodable(prompt)
            ? traceStats({ tokens: encode(completion), logprobs: [], finished: true }, false, encode(prompt))
                .thinkingTokens
            : thinkingTokensOfText(completion);
        return { ok: true, completion, thinkingTokens };
      }),
    );
}

// ---------------------------------------------------------------- Sokoban episodes

/** The start of an episode: a level and the instruction its prompts state. */
export interface EpisodeStart {
  level: SokobanState;
  instruction: Instruction;
}

export interface EpisodeOutcome {
  /** One turn per prompt answered (an invalid answer is a turn too: it uses up an action). */
  turns: SuiteTurn[];
  /** Actions used (= turns). */
  actionsUsed: number;
  finalState: SokobanState;
  /** Every box on a target within the limit (`episodeReward` = 1). */
  success: boolean;
  /** 'solved', 'out of actions (N)', or why the policy could not answer. */
  reason: string;
  /** Ended because the policy refused a prompt as too long for the context (at any turn). */
  tooLong: boolean;
}

/** u32 sampling seed of round `round` of suite `suite` (distinct streams for every pair). */
export function roundSeed(seed: number, suite: number, round: number): number {
  let h = (seed ^ Math.imul(suite + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = (h ^ Math.imul(round + 1, 0xc2b2ae35)) >>> 0;
  return Math.imul(h ^ (h >>> 13), 0x27d4eb2d) >>> 0;
}

/**
 * Plays Sokoban episodes together, one round per action: every unfinished episode's current board is rendered with
 * `renderPrompt` (the training prompt format), the policy answers all of them (`seedOf(round)`), each answer is parsed
 * with `parseAction` and applied with `step`. An episode ends when solved or after `maxActions` actions; an answer
 * that names no accepted action uses up an action and changes nothing (as `playEpisode`); a refused prompt ends the
 * episode as a failure (`tooLong` when the refusal was for length).
 */
export async function playEpisodes(
  starts: readonly EpisodeStart[],
  policy: SuitePolicy,
  maxActions: number,
  seedOf: (round: number) => number,
): Promise<EpisodeOutcome[]> {
  const [outcomes] = await playEpisodeSets([{ starts, seedOf }], policy, maxActions);
  return outcomes!;
}

/** Episodes of one suite and its sampling seed per round. */
export interface EpisodeSet {
  starts: readonly EpisodeStart[];
  seedOf: (round: number) => number;
}

/**
 * `playEpisodes` for several suites at once: each round asks the policy once, one request per suite with episodes
 * still running (its prompts in episode order, its seed `seedOf(round)`), so the suites share generation chunks.
 * Each suite's outcomes are what `playEpisodes` gives it alone, as long as the policy answers each request as it
 * would alone (SuitePolicy).
 */
export async function playEpisodeSets(
  sets: readonly EpisodeSet[],
  policy: SuitePolicy,
  maxActions: number,
): Promise<EpisodeOutcome[][]> {
  const episodes = sets.map((set) =>
    set.starts.map((s) => ({
      start: s,
      state: s.level,
      turns: [] as SuiteTurn[],
      refused: null as string | null,
      tooLong: false,
    })),
  );
  type Episode = (typeof episodes)[number][number];
  const running = (es: readonly Episode[]) =>
    es.filter((e) => e.refused === null && !isSolved(e.state) && e.turns.length < maxActions);
  for (let round = 0; ; round++) {
    const asked = episodes.map((es, set) => ({ set, active: running(es) })).filter((a) => a.active.length > 0);
    if (asked.length === 0) break;
    const replies = await policy(
      asked.map((a) => ({
        prompts: a.active.map((e) => renderPrompt(e.state, e.start.instruction)),
        seed: sets[a.set]!.seedOf(round),
      })),
    );
    if (replies.length !== asked.length) {
      throw new Error(`policy returned ${replies.length} reply lists for ${asked.length} requests`);
    }
    asked.forEach(({ active }, r) => {
      const got = replies[r]!;
      if (got.length !== active.length) {
        throw new Error(`policy returned ${got.length} replies for ${active.length} prompts`);
      }
      active.forEach((e, i) => {
        const reply = got[i]!;
        if (!reply.ok) {
          e.refused = reply.reason;
          e.tooLong = reply.tooLong;
          return;
        }
        const parsed = parseAction(reply.completion, e.start.instruction);
        let action: Action | null = null;
        let note: string;
        if (parsed.ok) {
          action = parsed.action;
          const next = step(e.state, action);
          note = next === e.state ? `blocked: ${action} changes nothing` : 'ok';
          e.state = next;
        } else note = `invalid: ${parsed.reason}`;
        e.turns.push({ completion: reply.completion, action, note, thinkingTokens: reply.thinkingTokens });
      });
    });
  }
  return episodes.map((es) =>
    es.map((e) => {
      const success = episodeReward(e.state, e.turns.length, maxActions) === 1;
      const reason = e.refused ?? (success ? 'solved' : `out of actions (${maxActions})`);
      return { turns: e.turns, actionsUsed: e.turns.length, finalState: e.state, success, reason, tooLong: e.tooLong };
    }),
  );
}

// ---------------------------------------------------------------- suites

/** Rejects bad options with a ConfigError naming every bad field; returns the resolved ones. */
export function checkSuiteOptions(
  config: RunConfig,
  opts: SuiteEvalOptions,
): { variants: string[]; decode: DecodeConfig; maxActions: number } {
  const task = getTask(config.task.id);
  const issues: ConfigIssue[] = [];
  const intIn = (path: string, v: unknown, lo: number, hi: number) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
      issues.push({ path, message: `must be an integer in [${lo}, ${hi}], got ${String(v)}` });
    }
  };
  intIn('size', opts.size, 1, MAX_SUITE_SIZE);
  intIn('seed', opts.seed, 0, 2 ** 31 - 1);
  if (opts.maxActions !== undefined) intIn('maxActions', opts.maxActions, 1, MAX_EPISODE_ACTIONS);
  if (opts.decodeRows !== undefined) intIn('decodeRows', opts.decodeRows, 1, MAX_SUITE_DECODE_ROWS);
  const decode = opts.decode ?? DEFAULT_DECODE_CONFIG;
  const parsed = decodeConfigSchema.safeParse(decode);
  if (!parsed.success) issues.push(...zodIssues(parsed.error, 'decode'));
  const wanted = opts.variants ?? [...task.variants];
  if (wanted.length === 0) issues.push({ path: 'variants', message: 'must name at least one variant' });
  wanted.forEach((v, i) => {
    if (!task.variants.includes(v)) {
      issues.push({
        path: `variants[${i}]`,
        message: `task '${task.id}' has no variant '${v}' (variants: ${task.variants.join(', ')})`,
      });
    } else if (wanted.indexOf(v) !== i) issues.push({ path: `variants[${i}]`, message: `'${v}' is listed twice` });
  });
  if (issues.length > 0) throw new ConfigError(issues);
  const episodeActions =
    config.task.id === 'sokoban'
      ? (taskConfigFor(config) as SokobanConfig).maxEpisodeActions
      : DEFAULT_SOKOBAN_CONFIG.maxEpisodeActions;
  return {
    variants: task.variants.filter((v) => wanted.includes(v)),
    decode,
    maxActions: opts.maxActions ?? episodeActions,
  };
}

/** One problem's verdict, before it becomes a SuiteSample. */
interface Scored {
  prompt: string;
  success: boolean;
  reason: string;
  turns: SuiteTurn[];
  board?: string;
  /** Ended by a prompt refused as too long for the context. */
  tooLong: boolean;
}

/**
 * Evaluates `policy` on the suites `opts` names (see the module comment) and returns one SuiteResult per suite, in
 * the task's variant order. All suites are evaluated together: each policy call (a Sokoban round, or an answer
 * task's one round) carries one request per suite, so the model's policy fills its generation chunks across suites;
 * every suite keeps its own problems and sampling seeds, and scores as it would alone. `evalTimeMs` of each suite is
 * its share, by prompts answered (turns), of the whole evaluation's wall time (the time of one suite alone is not
 * measured when several are evaluated together). `evaluateSuites` is this with the model's
 * decoder as the policy.
 */
export async function evaluateSuitesWith(
  policy: SuitePolicy,
  config: RunConfig,
  opts: SuiteEvalOptions,
): Promise<SuiteResult[]> {
  const { variants, maxActions } = checkSuiteOptions(config, opts);
  const taskId = config.task.id;
  const task = getTask(taskId);
  const taskConfig = taskConfigFor(config);
  const suites = variants.map((variant) => {
    const index = task.variants.indexOf(variant);
    const samples = largestEvalSuite(opts.size, (size) =>
      buildEvalSuite({ task: taskId, size, variant, seed: opts.seed + index, config: taskConfig }),
    );
    return { variant, samples, seedOf: (round: number) => roundSeed(opts.seed, index, round) };
  });
  const t0 = performance.now();
  let scored: Scored[][];
  let meanActions: (number | null)[];
  if (taskId === 'sokoban') {
    const problems = suites.map((s) => s.samples.map((x) => x.problem as SokobanProblem));
    const outcomes = await playEpisodeSets(
      suites.map((s, i) => ({
        starts: problems[i]!.map((p) => ({ level: p.level, instruction: p.instruction })),
        seedOf: s.seedOf,
      })),
      policy,
      maxActions,
    );
    scored = outcomes.map((os, i) =>
      os.map((o, e) => ({
        prompt: suites[i]!.samples[e]!.prompt,
        success: o.success,
        reason: o.reason,
        turns: o.turns,
        board: renderBoard(problems[i]![e]!.level),
        tooLong: o.tooLong,
      })),
    );
    meanActions = outcomes.map((os) => mean(os.map((o) => o.actionsUsed)));
  } else {
    const replies = await policy(suites.map((s) => ({ prompts: s.samples.map((x) => x.prompt), seed: s.seedOf(0) })));
    if (replies.length !== suites.length) {
      throw new Error(`policy returned ${replies.length} reply lists for ${suites.length} requests`);
    }
    scored = suites.map(({ samples }, i) => {
      const got = replies[i]!;
      if (got.length !== samples.length) {
        throw new Error(`policy returned ${got.length} replies for ${samples.length} prompts`);
      }
      return samples.map((s, k): Scored => {
        const reply = got[k]!;
        if (!reply.ok) {
          return { prompt: s.prompt, success: false, reason: reply.reason, turns: [], tooLong: reply.tooLong };
        }
        const verdict = task.verify(s.problem, reply.completion);
        const turn: SuiteTurn = {
          completion: reply.completion,
          action: verdict.answer,
          note: verdict.reason,
          thinkingTokens: reply.thinkingTokens,
        };
        return { prompt: s.prompt, success: verdict.correct, reason: verdict.reason, turns: [turn], tooLong: false };
      });
    });
    meanActions = suites.map(() => null);
  }
  const wallMs = performance.now() - t0;
  // Prompts each suite had answered (its turns; a refused prompt generates nothing).
  const answered = scored.map((ss) => ss.reduce((n, s) => n + s.turns.length, 0));
  const allAnswered = answered.reduce((a, b) => a + b, 0);
  return suites.map(({ variant }, i) => {
    const suiteScored = scored[i]!;
    const turns = suiteScored.flatMap((s) => s.turns);
    const keep = (success: boolean) =>
      suiteScored.filter((s) => s.success === success).slice(0, SUITE_SAMPLES_PER_VERDICT);
    return {
      task: taskId,
      suite: variant,
      kind: suiteKindOf(taskId, variant),
      unit: taskId === 'sokoban' ? 'episode' : 'answer',
      problems: suiteScored.length,
      successes: suiteScored.filter((s) => s.success).length,
      tooLong: suiteScored.filter((s) => s.tooLong).length,
      meanThinkingTokens: turns.length > 0 ? mean(turns.map((t) => t.thinkingTokens)) : 0,
      turns: turns.length,
      parsedTurns: turns.filter((t) => t.action !== null).length,
      meanActions: meanActions[i]!,
      evalTimeMs: allAnswered > 0 ? (wallMs * answered[i]!) / allAnswered : wallMs / suites.length,
      samples: [...keep(true), ...keep(false)].map(toSample),
    };
  });
}

/**
 * Evaluates the decoder's current weights on the suites of `config`'s task (greedy unless `opts.decode` says
 * otherwise); `contextLength`: the model's, which bounds prompt + completion.
 */
export function evaluateSuites(
  decoder: DecodeBackend,
  config: RunConfig,
  opts: SuiteEvalOptions,
  contextLength: number,
): Promise<SuiteResult[]> {
  const { decode } = checkSuiteOptions(config, opts);
  return evaluateSuitesWith(decoderPolicy(decoder, contextLength, decode), config, opts);
}

function toSample(s: Scored): SuiteSample {
  const sample: SuiteSample = { prompt: s.prompt, success: s.success, reason: s.reason, turns: s.turns };
  if (s.board !== undefined) sample.board = s.board;
  return sample;
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
}
