/**
 * The playground's RL session: GRPO, with TLDR's length-tagged prompts and length rewards, continuing from an SFT
 * checkpoint. Everything RL-specific (sampling rollouts, rewards, advantages) lives here; the loss is grpo_loss.ts and
 * the rewards' formula rewards.ts. One RL step reads top to bottom:
 *
 *   prompts (P training-split problems, a pure function of (seed, step), length tags cycling through rl.levels)
 *   → rollouts (G sampled completions per prompt, P·G rows, on the policy's current weights)
 *   → score (task verifier, thinking span as evaluate.ts counts it, well-formedness, truncation)
 *   → rewards (groupRewards per group) → advantages (groupAdvantages)
 *   → pack prompt + completion into a batch [P·G, T] (targets on completion positions only)
 *   → old log-probs (only when μ > 1) and reference log-probs (only when β > 0)
 *   → μ × grpoStep (weighted cross-entropy step whose gradient is the GRPO loss's)
 *   → log (rl/… metrics averaged over a log window) and the first group's rollouts for the rollout viewer
 *
 * and at step boundaries: greedy samples of held-out prompts (rl.evalEverySteps) and checkpoints. Steps run one at a
 * time (the next step's rollouts need this step's weights), under one mutex shared with `evaluate` and `readState`.
 *
 * The policy starts from the SFT weights with fresh AdamW moments and a step counter at 0; with β > 0 a second,
 * frozen trainer holds the SFT weights as the reference model (it never steps; it only computes log-probs). Rollouts
 * are sampled at temperature 1 (validated), so the sampler's distribution is the policy the ratio refers to.
 * `step` counts RL steps (rollout batches); the checkpoint's TrainerState.step counts optimiser steps (μ per RL step).
 *
 * An interrupted stage resumes (GrpoSessionOptions.resume) from one of its checkpoints: weights, moments and optimiser
 * step kept, RL steps done = optimiser steps / μ. Prompts and sampling seeds of step s are pure functions of
 * (seed, s), so the resumed stage continues exactly as if it had not stopped; the reference model is then the stage's
 * starting (SFT) weights, passed separately, not the resumed policy.
 *
 * Events are the sessions' (session.ts SessionEvent) plus `rollouts` (RlSessionEvent, the worker's WorkerEvent). Run
 * control, evaluation, boundary work, metrics window and state are the sessions' shared base (session.ts).
 */

import type { ModelConfig } from '../model/config';
import type { Completion } from '../model/generate';
import { buildRlPrompts } from '../tasks/datasets';
import { getTask } from '../tasks/index';
import {
  ANSWER_END_ID,
  ANSWER_START_ID,
  decode as decodeTokens,
  EOS_ID,
  encode,
  PAD_ID,
  SPECIAL_TOKENS,
  THINK_END_ID,
  THINK_START_ID,
} from '../tasks/tokenizer';
import type { LengthTag } from '../tasks/types';
import type { Backend, DecodeBackend, TrainBackend, TrainerState } from './backend';
import { buildEvalSet, type EvalItem, HELD_OUT_SEED_OFFSET, SAMPLE_PROMPTS } from './data';
import { traceStats } from './evaluate';
import { type GrpoBatch, type GrpoLossConfig, groupAdvantages, grpoStep } from './grpo_loss';
import { METRIC, type MetricKey, RL_THINKING_TOKENS_BY_LEVEL } from './metrics';
import type { EvalPoint } from './results';
import { groupRewards, type RewardParts, type ScoredCompletion } from './rewards';
import {
  type DecodeConfig,
  type EvalConfig,
  modelConfigFor,
  type RlConfig,
  type RunConfig,
  rlConfigFor,
  rlOptimConfigFor,
  taskConfigFor,
} from './run_config';
import { type SessionEvent, TrainingSessionBase } from './session';

/** One sampled completion of a group, as the rollout viewer shows it. */
export interface RolloutCompletion {
  /** Decoded completion (special tokens spelled out). */
  text: string;
  reward: number;
  advantage: number;
  correct: boolean;
  thinkingTokens: number;
}

/** The first group of RL step `step` (after it: step = RL steps done). */
export interface RolloutsEvent {
  type: 'rollouts';
  step: number;
  prompt: string;
  level: LengthTag | null;
  completions: RolloutCompletion[];
}

export type RlSessionEvent = SessionEvent | RolloutsEvent;

export interface GrpoSessionOptions {
  /** Shortest wall time (ms) a metrics event averages over. Default LOG_WINDOW_MS (100, session.ts). */
  logWindowMs?: number;
  /**
   * The model, when it is not the playground size `config.model` names (tests and benchmarks use smaller ones);
   * `from` must hold its weights.
   */
  model?: ModelConfig;
  /**
   * Resume an interrupted RL stage: `from` is then one of its checkpoints (see GrpoResume), not the SFT weights.
   * Absent: a fresh stage from `from`'s weights.
   */
  resume?: GrpoResume;
}

/** What resuming an RL stage needs besides the checkpoint `from` (whose step counts the stage's optimiser steps). */
export interface GrpoResume {
  /**
   * The weights the stage began from (the SFT checkpoint): the frozen reference model of the KL term. Required when
   * rl.loss.beta > 0; ignored otherwise (only its params are read).
   */
  reference?: TrainerState | null;
}

/**
 * RL steps done by a stage whose checkpoint has taken `optimiserSteps` optimiser steps (μ = numIterations per RL
 * step); throws a RangeError naming `field` when that is not a whole number of RL steps within the stage's `steps`.
 */
export function rlStepsDoneAt(
  rl: Pick<RlConfig, 'steps' | 'numIterations'>,
  optimiserSteps: number,
  field: string,
): number {
  const mu = rl.numIterations;
  if (!Number.isSafeInteger(optimiserSteps) || optimiserSteps < 0) {
    throw new RangeError(`${field} must be a non-negative integer (optimiser steps), got ${optimiserSteps}`);
  }
  if (optimiserSteps % mu !== 0) {
    throw new RangeError(
      `${field} = ${optimiserSteps} optimiser steps is not a whole number of RL steps (rl.numIterations = ${mu} per RL step)`,
    );
  }
  if (optimiserSteps > rl.steps * mu) {
    throw new RangeError(
      `${field} = ${optimiserSteps} optimiser steps exceeds the stage's rl.steps · rl.numIterations = ${rl.steps} · ${mu}`,
    );
  }
  return optimiserSteps / mu;
}

/** A prompt of an RL step: its text, ids, problem and length tag. */
export interface RlItem extends EvalItem {
  level: LengthTag | null;
}

/** u32 seed mixing the run seed with a step and an index (distinct streams per step and prompt). */
function mixSeed(seed: number, step: number, index: number): number {
  let h = (seed ^ Math.imul(step + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  return (h ^ Math.imul(index + 1, 0xc2b2ae35)) >>> 0;
}

/** Sampling seed of step `step`'s rollouts. */
export function rolloutSeed(seed: number, step: number): number {
  return mixSeed(seed, step, 0x7fffffff);
}

/**
 * The P prompts of RL step `step`: training-split problems (buildRlPrompts, a pure function of (seed, step, i)),
 * prompt i tagged with levels[(step·P + i) mod L] (none when rl.levels is empty). With P ≥ L (validated), every step
 * mixes all levels.
 */
export function rlPromptsAt(c: RunConfig, step: number): RlItem[] {
  const rl = rlConfigFor(c);
  const L = rl.levels.length;
  const items: RlItem[] = [];
  for (let i = 0; i < rl.promptsPerStep; i++) {
    const level = L > 0 ? rl.levels[(step * rl.promptsPerStep + i) % L]! : null;
    const [p] = buildRlPrompts({
      task: c.task.id,
      size: 1,
      seed: mixSeed(c.seed, step, i),
      config: taskConfigFor(c),
      instructions: c.task.instructions,
      lengthTag: level,
    });
    items.push({ prompt: p!.prompt, promptIds: encode(p!.prompt), problem: p!.problem, level });
  }
  return items;
}

/** What the session knows about one rollout after scoring. */
export interface ScoredRollout extends ScoredCompletion {
  completion: Completion;
  text: string;
  /** No `<eos>` within the budget. */
  truncated: boolean;
}

/**
 * Whether a completion has the run's target shape, token by token: 'cot': `<think>` t `</think><answer>` a
 * `</answer><eos>`; 'answer': `<answer>` a `</answer><eos>`; t without special tokens, a non-empty without them.
 */
export function isWellFormed(tokens: readonly number[], style: 'cot' | 'answer'): boolean {
  let i = 0;
  const plainRun = () => {
    const from = i;
    while (i < tokens.length && tokens[i]! >= SPECIAL_TOKENS.length) i++;
    return i - from;
  };
  if (style === 'cot') {
    if (tokens[i++] !== THINK_START_ID) return false;
    plainRun();
    if (tokens[i++] !== THINK_END_ID) return false;
  }
  if (tokens[i++] !== ANSWER_START_ID) return false;
  if (plainRun() === 0) return false;
  return tokens[i] === ANSWER_END_ID && tokens[i + 1] === EOS_ID && i + 2 === tokens.length;
}

/** Verifies and measures each completion (row r belongs to prompt ⌊r / G⌋). */
export function scoreRollouts(
  c: RunConfig,
  items: readonly RlItem[],
  completions: readonly Completion[],
  groupSize: number,
): ScoredRollout[] {
  const task = getTask(c.task.id);
  return completions.map((completion, r) => {
    const item = items[Math.floor(r / groupSize)]!;
    const text = decodeTokens(completion.tokens);
    const correct = task.verify(item.problem as never, text).correct;
    return {
      completion,
      text,
      correct,
      wellFormed: isWellFormed(completion.tokens, c.task.targetStyle),
      thinkingTokens: traceStats(completion, correct, item.promptIds).thinkingTokens,
      level: item.level,
      truncated: !completion.finished,
    };
  });
}

/**
 * Packs row r = prompt ⌊r / G⌋ + completion r into a [P·G, T] batch like data.ts packs SFT rows: tokens are the
 * sequence (PAD after), targets the next token on completion positions only (positions p − 1 … n − 2 for a prompt of p
 * and a sequence of n tokens), −1 elsewhere. Throws when a sequence is longer than T + 1 tokens.
 */
export function packRollouts(
  items: readonly RlItem[],
  completions: readonly Completion[],
  groupSize: number,
  seqLen: number,
): Pick<GrpoBatch, 'tokens' | 'targets' | 'completionMask'> {
  const N = completions.length * seqLen;
  const tokens = new Int32Array(N).fill(PAD_ID);
  const targets = new Int32Array(N).fill(-1);
  const completionMask = new Uint8Array(N);
  completions.forEach((completion, r) => {
    const prompt = items[Math.floor(r / groupSize)]!.promptIds;
    const seq = [...prompt, ...completion.tokens];
    if (seq.length > seqLen + 1) {
      throw new RangeError(`rollout ${r} has ${seq.length} tokens, more than T + 1 = ${seqLen + 1}`);
    }
    const row = r * seqLen;
    for (let t = 0; t < Math.min(seq.length, seqLen); t++) tokens[row + t] = seq[t]!;
    for (let t = prompt.length - 1; t < seq.length - 1; t++) {
      targets[row + t] = seq[t + 1]!;
      completionMask[row + t] = 1;
    }
  });
  return { tokens, targets, completionMask };
}

export class GrpoSession extends TrainingSessionBase<RolloutsEvent> {
  readonly rl: RlConfig;
  private readonly policy: TrainBackend;
  /** Frozen SFT model for the KL term (β > 0 only). */
  private readonly reference: TrainBackend | null;
  private readonly decoder: DecodeBackend;
  protected readonly ready: Promise<void>;
  protected readonly contextLength: number;
  private readonly lossConfig: GrpoLossConfig;
  private heldOutItems: RlItem[] | null = null;

  /**
   * Validates `config` (ConfigError naming every bad field) and loads `from`'s weights into the policy: with fresh
   * moments and step counter for a new stage, or, with `options.resume`, the checkpoint as it is (its step must be a
   * whole number of RL steps within rl.steps; β > 0 needs `options.resume.reference`).
   */
  constructor(
    private readonly backend: Backend,
    config: RunConfig,
    onEvent: (event: RlSessionEvent) => void,
    from: TrainerState,
    options: GrpoSessionOptions = {},
  ) {
    super(config, onEvent, options.logWindowMs);
    const rl = rlConfigFor(this.config);
    this.rl = rl;
    const model = options.model ?? modelConfigFor(this.config);
    this.contextLength = model.contextLength;
    this.lossConfig = { ...rl.loss, maxCompletionLength: rl.maxCompletionTokens };
    const rows = rl.promptsPerStep * rl.generationsPerPrompt;
    const optim = rlOptimConfigFor(this.config);
    const resume = options.resume;
    // Fresh stage: the SFT weights with fresh moments and step counter (the RL optimiser starts anew), and the same
    // weights as the reference. Resumed stage: the checkpoint as saved, and the stage's starting weights as reference.
    const start: TrainerState = resume ? from : { params: from.params, m: null, v: null, step: 0 };
    let referenceStart: TrainerState | null = null;
    if (rl.loss.beta > 0) {
      if (resume && !resume.reference) {
        throw new Error(
          `resuming an RL stage with rl.loss.beta = ${rl.loss.beta} > 0 needs resume.reference: the weights the stage began from (its KL reference)`,
        );
      }
      referenceStart = { params: (resume?.reference ?? from).params, m: null, v: null, step: 0 };
    }
    this.stepsDone = resume ? rlStepsDoneAt(rl, from.step, 'resume: from.step') : 0;
    this.policy = backend.createTrainer(model, optim, rows, model.contextLength);
    let reference: TrainBackend | null = null;
    try {
      reference = referenceStart ? backend.createTrainer(model, optim, rows, model.contextLength) : null;
      // A state of the wrong shape throws here (naming the field), not from the first step.
      const loads = [
        this.policy.loadState(start),
        ...(reference && referenceStart ? [reference.loadState(referenceStart)] : []),
      ];
      this.ready = Promise.all(loads).then(() => {});
      this.decoder = backend.createDecoder(this.policy, rows);
    } catch (e) {
      this.policy.destroy();
      reference?.destroy();
      throw e;
    }
    this.reference = reference;
    this.ready.catch(() => {});
  }

  /** The policy's trainer (for exports). Don't step it while the session runs. */
  get trainBackend(): TrainBackend {
    return this.policy;
  }

  /** Evaluates the policy's current weights (as SftSession.evaluate), between two RL steps; the point says 'rl'. */
  override async evaluate(decode: DecodeConfig, evalCfg: EvalConfig): Promise<EvalPoint> {
    return { ...(await super.evaluate(decode, evalCfg)), stage: 'rl' };
  }

  protected getDecoder(): DecodeBackend {
    return this.decoder;
  }

  protected createDecoder(rows: number): DecodeBackend {
    return this.backend.createDecoder(this.policy, rows);
  }

  protected releaseModels(): void {
    this.decoder.destroy();
    this.policy.destroy();
    this.reference?.destroy();
  }

  /** RL steps (rollout batches). */
  protected get totalSteps(): number {
    return this.rl.steps;
  }

  protected get tokensPerStep(): number {
    return this.rl.promptsPerStep * this.rl.generationsPerPrompt * this.contextLength;
  }

  protected get samplesEverySteps(): number {
    return this.rl.evalEverySteps;
  }

  protected get checkpointEverySteps(): number {
    return this.rl.checkpointEverySteps;
  }

  protected get sampleMaxNewTokens(): number {
    return this.rl.maxCompletionTokens;
  }

  protected override async afterError(): Promise<void> {
    await this.policy.drain().catch(() => {});
  }

  /** One RL step, then the samples and checkpoint due. The caller holds the lock. */
  protected async trainStep(): Promise<void> {
    await this.rlStep();
    await this.periodicWork(this.stepsDone);
  }

  /** One RL step (see the module comment). */
  private async rlStep(): Promise<void> {
    const c = this.config;
    const rl = this.rl;
    const s = this.stepsDone;
    const G = rl.generationsPerPrompt;
    const T = this.contextLength;

    // Prompts and rollouts: G samples per prompt at temperature 1, each within the context.
    const items = rlPromptsAt(c, s);
    const longest = Math.max(...items.map((it) => it.promptIds.length));
    if (longest >= T) {
      throw new Error(`an RL prompt has ${longest} tokens: no room to generate in the context of ${T} tokens`);
    }
    const completions = await this.decoder.generate(
      items.flatMap((it) => Array.from({ length: G }, () => it.promptIds)),
      {
        maxNewTokens: Math.min(rl.maxCompletionTokens, T - longest),
        sampling: {
          temperature: rl.temperature,
          topK: 0,
          topP: 1,
          stopTokenId: -1,
          stopTemperature: 1,
          stopLogitBias: 0,
        },
        seed: rolloutSeed(c.seed, s),
        eosId: EOS_ID,
        thinkStartId: THINK_START_ID,
        thinkEndId: THINK_END_ID,
      },
    );

    // Score, reward (per group), advantages.
    const scored = scoreRollouts(c, items, completions, G);
    const rewards: RewardParts[] = [];
    for (let g = 0; g < items.length; g++) rewards.push(...groupRewards(rl.reward, scored.slice(g * G, (g + 1) * G)));
    const totals = rewards.map((r) => r.total);
    const advantages = groupAdvantages(totals, G, rl.scaleRewards, rl.stdFloor);

    // Pack, then μ updates against the log-probs of the weights that sampled (and the reference's, for β > 0).
    const packed = packRollouts(items, completions, G, T);
    const batch: GrpoBatch = {
      ...packed,
      advantages,
      truncated: scored.map((r) => r.truncated),
      oldLogprobs: rl.numIterations > 1 ? await this.policy.tokenLogprobs(packed) : null,
      refLogprobs: this.reference ? await this.reference.tokenLogprobs(packed) : null,
    };
    let loss = 0;
    let clipFraction = 0;
    let kl: number | null = null;
    let gradNorm = 0;
    let learningRate = 0;
    for (let it = 0; it < rl.numIterations; it++) {
      const result = await grpoStep(this.policy, batch, this.lossConfig);
      loss += result.loss / rl.numIterations;
      clipFraction += (result.clipFractionLow + result.clipFractionHigh) / rl.numIterations;
      if (it === 0) kl = result.meanKl;
      gradNorm += result.stats.gradNorm / rl.numIterations;
      learningRate = result.stats.learningRate;
    }
    this.stepsDone = s + 1;

    // Log.
    const values: Partial<Record<MetricKey, number>> = {
      [METRIC.rlRewardMean]: mean(totals),
      [METRIC.rlRewardStd]: mean(items.map((_, g) => sampleStd(totals.slice(g * G, (g + 1) * G)))),
      [METRIC.rlAccuracy]: mean(scored.map((r) => (r.correct ? 1 : 0))),
      [METRIC.rlThinkingTokensMean]: mean(scored.map((r) => r.thinkingTokens)),
      [METRIC.rlCompletionTokensMean]: mean(completions.map((x) => x.tokens.length)),
      [METRIC.rlClipFraction]: clipFraction,
      [METRIC.rlFracZeroStdGroups]: mean(items.map((_, g) => (isConstant(totals.slice(g * G, (g + 1) * G)) ? 1 : 0))),
      [METRIC.rlTruncatedFraction]: mean(scored.map((r) => (r.truncated ? 1 : 0))),
      [METRIC.rlLoss]: loss,
      [METRIC.trainGradNorm]: gradNorm,
      [METRIC.trainLearningRate]: learningRate,
    };
    if (kl !== null) values[METRIC.rlKl] = kl;
    for (const level of ['short', 'medium', 'long'] as const) {
      const ofLevel = scored.filter((r) => r.level === level);
      if (ofLevel.length > 0) values[RL_THINKING_TOKENS_BY_LEVEL[level]] = mean(ofLevel.map((r) => r.thinkingTokens));
    }
    this.window.addStep(values);
    if (performance.now() - this.window.startMs >= this.logWindowMs || s + 1 === rl.steps) this.flushMetrics();
    this.emit({
      type: 'rollouts',
      step: s + 1,
      prompt: items[0]!.prompt,
      level: items[0]!.level,
      completions: scored.slice(0, G).map((r, j) => ({
        text: r.text,
        reward: totals[j]!,
        advantage: advantages[j]!,
        correct: r.correct,
        thinkingTokens: r.thinkingTokens,
      })),
    });
  }

  /** A few held-out prompts for the greedy samples (levels cycling as in training). */
  protected samplePrompts(): readonly EvalItem[] {
    this.heldOutItems ??= this.heldOutPrompts();
    return this.heldOutItems;
  }

  private heldOutPrompts(): RlItem[] {
    const task = getTask(this.config.task.id);
    const levels = this.rl.levels;
    const set = buildEvalSet(this.config, {
      size: SAMPLE_PROMPTS,
      variant: 'id',
      seed: this.config.seed + HELD_OUT_SEED_OFFSET,
    });
    return set.items
      .map((it, i) => {
        const level = levels.length > 0 ? levels[i % levels.length]! : null;
        const prompt = task.renderPrompt(it.problem as never, level);
        return { prompt, promptIds: encode(prompt), problem: it.problem, level };
      })
      .filter((it) => it.promptIds.length < this.contextLength);
  }
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** Unbiased standard deviation (0 for fewer than 2 values), as groupAdvantages and TRL's reward_std. */
function sampleStd(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const m = mean(values);
  return Math.sqrt(values.reduce((a, v) => a + (v - m) ** 2, 0) / (values.length - 1));
}

function isConstant(values: readonly number[]): boolean {
  return values.every((v) => v === values[0]);
}
