/**
 * Registry of the reasoning tasks by id, behind one interface so dataset builders and trainers can treat them alike.
 * Each task module also exports its own richer API (see the module comments).
 */
import type { Rng } from '../util/rng';
import * as arithmetic from './arithmetic';
import * as gp from './general_points';
import * as sokoban from './sokoban';
import type { GenerateOptions, LengthTag, TaskId, VerifyResult, WrittenTarget } from './types';

export interface TaskDef<P, C, V extends string> {
  id: TaskId;
  defaultConfig: C;
  /** Variant ids; 'id' is the training distribution. */
  variants: readonly V[];
  /** Variant used for diverse-instruction training data, or null when the task has none. */
  diverseVariant: V | null;
  generate(rng: Rng, config: C, opts: GenerateOptions<V>): P;
  renderPrompt(p: P, lengthTag: LengthTag | null): string;
  writeTrace(p: P, rng: Rng, config: C): WrittenTarget;
  writeAnswerOnly(p: P): WrittenTarget;
  verify(p: P, completion: string): VerifyResult;
  /** Canonical key of the problem (what the prompt asks). */
  problemKey(p: P): string;
  /** Every key that must fall on one side of the train/eval split (Sokoban: the level and the shown state). */
  splitKeys(p: P): string[];
  variantOf(p: P): V;
  /** Guaranteed bound on prompt (with a length tag) + CoT target tokens for a config and variant. */
  maxSequenceTokens(config: C, variant: V): number;
}

export const arithmeticTask: TaskDef<
  arithmetic.ArithmeticProblem,
  arithmetic.ArithmeticConfig,
  arithmetic.ArithmeticVariant
> = {
  id: 'arithmetic',
  defaultConfig: arithmetic.DEFAULT_ARITHMETIC_CONFIG,
  variants: arithmetic.ARITHMETIC_VARIANTS,
  diverseVariant: null,
  generate: arithmetic.generate,
  renderPrompt: arithmetic.renderPrompt,
  writeTrace: arithmetic.writeTrace,
  writeAnswerOnly: arithmetic.writeAnswerOnly,
  verify: arithmetic.verify,
  problemKey: arithmetic.problemKey,
  splitKeys: (p) => [arithmetic.problemKey(p)],
  variantOf: (p) => p.variant,
  maxSequenceTokens: (c, v) => arithmetic.maxSequenceTokens(arithmetic.variantConfig(c, v)),
};

export const generalPointsTask: TaskDef<gp.GpProblem, gp.GeneralPointsConfig, gp.GpVariant> = {
  id: 'general_points',
  defaultConfig: gp.DEFAULT_GENERAL_POINTS_CONFIG,
  variants: gp.GP_VARIANTS,
  diverseVariant: 'diverse',
  generate: gp.generate,
  renderPrompt: gp.renderPrompt,
  writeTrace: gp.writeTrace,
  writeAnswerOnly: gp.writeAnswerOnly,
  verify: gp.verify,
  problemKey: gp.problemKey,
  splitKeys: (p) => [gp.problemKey(p)],
  variantOf: (p) => p.variant,
  maxSequenceTokens: (c) => gp.maxSequenceTokens(c),
};

export const sokobanTask: TaskDef<sokoban.SokobanProblem, sokoban.SokobanConfig, sokoban.SokobanVariant> = {
  id: 'sokoban',
  defaultConfig: sokoban.DEFAULT_SOKOBAN_CONFIG,
  variants: sokoban.SOKOBAN_VARIANTS,
  diverseVariant: 'diverse',
  generate: sokoban.generate,
  renderPrompt: sokoban.problemPrompt,
  writeTrace: (p) => sokoban.writeTrace(p),
  writeAnswerOnly: sokoban.writeAnswerOnly,
  verify: sokoban.verify,
  problemKey: sokoban.problemKey,
  splitKeys: (p) => [sokoban.stateKey(p.level), sokoban.stateKey(p.state)],
  variantOf: (p) => p.variant,
  maxSequenceTokens: (c, v) => sokoban.maxSequenceTokens(sokoban.variantConfig(c, v)),
};

/** Any task, with its problem and config types erased (method parameters are bivariant). */
export type AnyTask = TaskDef<unknown, unknown, string>;

export const TASKS: Record<TaskId, AnyTask> = {
  arithmetic: arithmeticTask as AnyTask,
  general_points: generalPointsTask as AnyTask,
  sokoban: sokobanTask as AnyTask,
};

export const TASK_IDS: readonly TaskId[] = ['arithmetic', 'general_points', 'sokoban'];

export function getTask(id: TaskId): AnyTask {
  const t = TASKS[id];
  if (!t) throw new Error(`unknown task '${id}'`);
  return t;
}

export * from './types';
export { arithmetic, gp as generalPoints, sokoban };
