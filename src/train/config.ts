/**
 * Optimiser and schedule settings: one plain object, saved with every run. Defaults follow nanoGPT's small-model
 * settings (AdamW β = (0.9, 0.95), weight decay 0.1, clip 1.0, linear warmup then cosine decay to 10%).
 */
import { z } from 'zod';
import { ConfigError, type ConfigIssue } from '../model/config';

const num = (lo: number, hi: number) => z.number().min(lo).max(hi);

export const optimConfigSchema = z.strictObject({
  /** Peak learning rate, reached after `warmupSteps`. */
  learningRate: z.number().gt(0).max(10),
  /** Floor of the cosine decay, as a fraction of `learningRate`. */
  minLearningRateRatio: num(0, 1),
  warmupSteps: z.number().int().min(0).max(1e9),
  /** Steps over which the cosine decays; the rate stays at the floor after. */
  decaySteps: z.number().int().min(1).max(1e9),
  weightDecay: num(0, 10),
  beta1: num(0, 1),
  beta2: num(0, 1),
  eps: z.number().gt(0).max(1),
  /** Global gradient-norm clip; 0 disables clipping. */
  gradClipNorm: num(0, 1e6),
});
export type OptimConfig = z.infer<typeof optimConfigSchema>;

export const DEFAULT_OPTIM_CONFIG: OptimConfig = {
  learningRate: 3e-3,
  minLearningRateRatio: 0.1,
  warmupSteps: 20,
  decaySteps: 2000,
  weightDecay: 0.1,
  beta1: 0.9,
  beta2: 0.95,
  eps: 1e-8,
  gradClipNorm: 1,
};

/** Learning rate at 0-based `step`: linear warmup from lr/warmup to lr, then cosine to lr·minRatio. */
export function learningRateAt(c: OptimConfig, step: number): number {
  if (step < c.warmupSteps) return (c.learningRate * (step + 1)) / c.warmupSteps;
  const progress = Math.min(1, (step - c.warmupSteps) / Math.max(1, c.decaySteps - c.warmupSteps));
  const minLr = c.learningRate * c.minLearningRateRatio;
  return minLr + 0.5 * (1 + Math.cos(Math.PI * progress)) * (c.learningRate - minLr);
}

/** zod issues as `path: message` pairs with dotted paths ("sft.batchSize"), under `prefix` when given. */
export function zodIssues(error: z.ZodError, prefix = ''): ConfigIssue[] {
  return error.issues.map((i) => ({
    path: [prefix, ...i.path.map(String)].filter((s) => s !== '').join('.') || '(root)',
    message: i.message,
  }));
}

/** Every problem with an optimiser config (empty when valid), paths under `prefix`. */
export function optimConfigIssues(config: unknown, prefix = 'optim'): ConfigIssue[] {
  const parsed = optimConfigSchema.safeParse(config);
  return parsed.success ? [] : zodIssues(parsed.error, prefix);
}

/** `config` itself, typed, or a ConfigError listing every problem. */
export function validateOptimConfig(config: unknown): OptimConfig {
  const parsed = optimConfigSchema.safeParse(config);
  if (!parsed.success) throw new ConfigError(zodIssues(parsed.error, 'optim'));
  return parsed.data;
}
