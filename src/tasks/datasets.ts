/**
 * Dataset builders, deterministic from a seed.
 *
 * Train/eval split: a problem is held out (evaluation only) when the FNV-1a hash of any of its split keys (canonical
 * problem key; for Sokoban also the level's start state) falls below heldOutPercent of the hash range. Training sets
 * and RL prompt sets only contain problems none of whose keys are held out; evaluation suites only problems whose keys
 * all are. The split depends on nothing but the key, so it holds for every seed, size and variant. Keys identify
 * equivalent restatements (arithmetic: a+b and b+a; General Points: the value multiset, so J and 10 under J=10 are one
 * problem), so no eval question is a rewording of a training question. Build train and eval sets with the same
 * heldOutPercent. Formats, keys and eval capacities: docs/tasks.md.
 */
import { createRng, type Rng } from '../util/rng';
import { hashKey, type LengthTagRule, tagFor, wrapTarget } from './format';
import { type AnyTask, getTask } from './index';
import { countTokens } from './tokenizer';
import type { LengthTag, Sample, TargetStyle, TaskId } from './types';

export const DEFAULT_HELD_OUT_PERCENT = 20;

export function isHeldOut(key: string, heldOutPercent = DEFAULT_HELD_OUT_PERCENT): boolean {
  return hashKey(key) % 100 < heldOutPercent;
}

export interface BaseDatasetOptions {
  task: TaskId;
  size: number;
  seed: number;
  /** Task config (defaults to the task's DEFAULT_…_CONFIG). */
  config?: unknown;
  heldOutPercent?: number;
}

export interface SftOptions extends BaseDatasetOptions {
  style: TargetStyle;
  /** 'diverse' draws new instructions per sample (Sokoban: action names; General Points: the face-card rule). Default 'fixed'. */
  instructions?: 'fixed' | 'diverse';
  /** Variant for fixed instructions (default 'id'). */
  variant?: string;
  /** When set, each prompt gets the length tag of its own trace's thinking length (bar `untaggedPercent`). */
  lengthTags?: LengthTagRule | null;
}

export interface RlPrompt<P = unknown> {
  prompt: string;
  problem: P;
  key: string;
  variant: string;
}

export interface RlOptions extends BaseDatasetOptions {
  variant?: string;
  instructions?: 'fixed' | 'diverse';
  /** Length tag prefixed to every prompt (length-controlled RL), default none. */
  lengthTag?: LengthTag | null;
  /**
   * Sokoban: show the level's start state (true) or a state drawn uniformly along its optimal plan (false, the
   * default: the turns an episode meets, so the per-turn optimal-action reward covers every step of an episode, not
   * only its first). Other tasks ignore it.
   */
  atStart?: boolean;
}

export interface EvalOptions extends BaseDatasetOptions {
  variant: string;
  /** Reference target style (default 'answer', always correct; 'cot' uses the task's trace writer, which for
   * distilled arithmetic may be deliberately wrong, see meta.intendedCorrect). */
  style?: TargetStyle;
}

export function resolveVariant(
  task: AnyTask,
  instructions: 'fixed' | 'diverse' | undefined,
  variant: string | undefined,
): string {
  if (instructions === 'diverse') {
    if (task.diverseVariant === null) throw new Error(`task '${task.id}' has no diverse-instruction variant`);
    return task.diverseVariant;
  }
  const v = variant ?? 'id';
  if (!task.variants.includes(v)) throw new Error(`task '${task.id}' has no variant '${v}'`);
  return v;
}

function keysPass(task: AnyTask, p: unknown, wantHeldOut: boolean, pct: number): boolean {
  return task.splitKeys(p).every((k) => isHeldOut(k, pct) === wantHeldOut);
}

/** Builds one sample; the rng drives the trace writer. */
export function makeSample(
  task: AnyTask,
  problem: unknown,
  style: TargetStyle,
  rng: Rng,
  config: unknown,
  lengthTags: LengthTagRule | null = null,
  seed = 0,
): Sample<unknown> {
  const written = style === 'cot' ? task.writeTrace(problem, rng, config) : task.writeAnswerOnly(problem);
  const target = wrapTarget(written);
  const thinkingTokens = written.think === null ? 0 : countTokens(written.think);
  const lengthTag = lengthTags ? tagFor(lengthTags, thinkingTokens, task.problemKey(problem), seed) : null;
  const prompt = task.renderPrompt(problem, lengthTag);
  return {
    prompt,
    target,
    problem,
    meta: {
      task: task.id,
      variant: task.variantOf(problem),
      style,
      intendedCorrect: written.intendedCorrect,
      key: task.problemKey(problem),
      thinkingTokens,
      sequenceTokens: countTokens(prompt) + countTokens(target),
      lengthTag,
    },
  };
}

/** Supervised fine-tuning set: training-side problems only. */
export function buildSftSet(opts: SftOptions): Sample<unknown>[] {
  const task = getTask(opts.task);
  const config = opts.config ?? task.defaultConfig;
  const pct = opts.heldOutPercent ?? DEFAULT_HELD_OUT_PERCENT;
  const variant = resolveVariant(task, opts.instructions, opts.variant);
  const rng = createRng(opts.seed);
  const out: Sample<unknown>[] = [];
  for (let i = 0; i < opts.size; i++) {
    const r = rng.fork();
    const problem = task.generate(r, config, { variant, accept: (k) => !isHeldOut(k, pct) });
    out.push(makeSample(task, problem, opts.style, r, config, opts.lengthTags ?? null, opts.seed));
  }
  return out;
}

/** RL prompt set: training-side problems, prompts without targets (Sokoban: states along a level's optimal plan, or
 * its start with `atStart`). */
export function buildRlPrompts(opts: RlOptions): RlPrompt[] {
  const task = getTask(opts.task);
  const config = opts.config ?? task.defaultConfig;
  const pct = opts.heldOutPercent ?? DEFAULT_HELD_OUT_PERCENT;
  const variant = resolveVariant(task, opts.instructions, opts.variant);
  const rng = createRng(opts.seed);
  const out: RlPrompt[] = [];
  for (let i = 0; i < opts.size; i++) {
    const problem = task.generate(rng.fork(), config, {
      variant,
      atStart: opts.atStart ?? false,
      accept: (k) => !isHeldOut(k, pct),
    });
    out.push({
      prompt: task.renderPrompt(problem, opts.lengthTag ?? null),
      problem,
      key: task.problemKey(problem),
      variant,
    });
  }
  return out;
}

/**
 * Evaluation suite for one variant: held-out problems only, no duplicate keys within the suite (Sokoban: level start
 * states, for episodes). Throws when the held-out space cannot supply `size` distinct problems.
 */
export function buildEvalSuite(opts: EvalOptions): Sample<unknown>[] {
  const task = getTask(opts.task);
  const config = opts.config ?? task.defaultConfig;
  const pct = opts.heldOutPercent ?? DEFAULT_HELD_OUT_PERCENT;
  const variant = resolveVariant(task, 'fixed', opts.variant);
  const rng = createRng(opts.seed);
  const seen = new Set<string>();
  const out: Sample<unknown>[] = [];
  for (let i = 0; i < opts.size; i++) {
    const r = rng.fork();
    const problem = task.generate(r, config, {
      variant,
      atStart: true,
      accept: (k) => isHeldOut(k, pct) && !seen.has(k),
    });
    if (!keysPass(task, problem, true, pct)) throw new Error('eval problem escaped the held-out split');
    seen.add(task.problemKey(problem));
    out.push(makeSample(task, problem, opts.style ?? 'answer', r, config));
  }
  return out;
}

/** Evaluation suites for every variant of a task. */
export function buildEvalSuites(opts: Omit<EvalOptions, 'variant'>): Record<string, Sample<unknown>[]> {
  const task = getTask(opts.task);
  const out: Record<string, Sample<unknown>[]> = {};
  task.variants.forEach((variant, i) => {
    out[variant] = buildEvalSuite({ ...opts, variant, seed: opts.seed + i });
  });
  return out;
}
