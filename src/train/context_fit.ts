/**
 * How well a context holds a run's task: the lengths (prompt + target, in tokens) of the first `sample` training
 * examples the run itself draws (same seed, task settings and length tags), the share of them each context holds,
 * and the smallest offered context that holds nearly all of them. The playground sizes the `tiny` model's context
 * with it (a 64-token context drops a fifth of the default arithmetic traces, the longest ones, which is exactly the
 * tail a study of stopping needs) and says beside the context field what share a chosen context drops.
 */
import { buildSftSet } from '../tasks/datasets';
import { fitsContext, tokenizeExample } from './data';
import { contextLengthFor, type PlaygroundModel, type RunConfig, taskConfigFor } from './run_config';

/** Contexts the playground offers (tokens). */
export const CONTEXT_CHOICES_TOKENS = [64, 128, 256, 512] as const;
/** Share of the sampled examples a fitted context must hold. */
export const FIT_SHARE = 0.99;
/** Examples sampled by default: enough to place the 99th percentile, quick enough to run while a setting is typed. */
export const FIT_SAMPLE = 200;

export interface ContextFit {
  /** Examples measured. */
  sampled: number;
  /** The longest of them (prompt + target, tokens). */
  longestTokens: number;
  /** Share of them that a context of `contextTokens` holds (a sequence of n tokens needs n − 1 positions). */
  share(contextTokens: number): number;
  /** The smallest of CONTEXT_CHOICES_TOKENS holding at least FIT_SHARE of them; null when none does. */
  fittedTokens: number | null;
}

/** What the fit reads of a run config: the training examples depend on these alone. */
export type FitInput = Pick<RunConfig, 'seed' | 'task'> & { sft: Pick<RunConfig['sft'], 'lengthTags'> };

/** Measures the first `sample` training examples of `c` (a pure function of the config). */
export function contextFit(c: FitInput, sample: number = FIT_SAMPLE): ContextFit {
  if (!Number.isInteger(sample) || sample < 1) throw new RangeError(`sample must be a positive integer, got ${sample}`);
  const lengths = buildSftSet({
    task: c.task.id,
    size: sample,
    seed: c.seed,
    config: taskConfigFor(c),
    style: c.task.targetStyle,
    instructions: c.task.instructions,
    lengthTags: c.sft.lengthTags ?? null,
  }).map((s) => tokenizeExample(s.prompt, s.target));
  const share = (contextTokens: number) => lengths.filter((s) => fitsContext(s, contextTokens)).length / lengths.length;
  return {
    sampled: lengths.length,
    longestTokens: Math.max(...lengths.map((s) => s.ids.length)),
    share,
    fittedTokens: CONTEXT_CHOICES_TOKENS.find((t) => share(t) >= FIT_SHARE) ?? null,
  };
}

/**
 * The model section for `size` on `c`'s task: `tiny` gets the smallest offered context that holds the task (none
 * when its own 64 does, or when nothing offered does); other sizes keep their own context.
 */
export function fittedModel(c: RunConfig, size: PlaygroundModel): RunConfig['model'] {
  if (size !== 'tiny') return { size };
  const fitted = contextFit(c).fittedTokens;
  return fitted === null || fitted <= contextLengthFor({ size }) ? { size } : { size, contextLength: fitted };
}
