/**
 * Optimiser and schedule settings: one plain object, saved with every run. Defaults follow nanoGPT's small-model
 * settings (AdamW β = (0.9, 0.95), weight decay 0.1, clip 1.0, linear warmup then cosine decay to 10%).
 */
import { ConfigError, type ConfigIssue, checkPositiveInteger } from '../model/config';

export interface OptimConfig {
  /** Peak learning rate, reached after `warmupSteps`. */
  learningRate: number;
  /** Floor of the cosine decay, as a fraction of `learningRate`. */
  minLearningRateRatio: number;
  warmupSteps: number;
  /** Steps over which the cosine decays; the rate stays at the floor after. */
  decaySteps: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Global gradient-norm clip; 0 disables clipping. */
  gradClipNorm: number;
}

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

export function optimConfigIssues(config: unknown, prefix = 'optim'): ConfigIssue[] {
  if (typeof config !== 'object' || config === null) return [{ path: prefix, message: 'must be an object' }];
  const c = config as Record<string, unknown>;
  const issues: ConfigIssue[] = [];
  const num = (key: string, lo: number, hi: number, loInclusive = true) => {
    const v = c[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      issues.push({ path: `${prefix}.${key}`, message: `must be a finite number, got ${JSON.stringify(v)}` });
    } else if (v < lo || (!loInclusive && v === lo) || v > hi) {
      issues.push({
        path: `${prefix}.${key}`,
        message: `must be in ${loInclusive ? '[' : '('}${lo}, ${hi}], got ${v}`,
      });
    }
  };
  num('learningRate', 0, 10, false);
  num('minLearningRateRatio', 0, 1);
  num('weightDecay', 0, 10);
  num('beta1', 0, 1);
  num('beta2', 0, 1);
  num('eps', 0, 1, false);
  num('gradClipNorm', 0, 1e6);
  if (c.warmupSteps !== 0) checkPositiveInteger(issues, `${prefix}.warmupSteps`, c.warmupSteps, 1e9);
  checkPositiveInteger(issues, `${prefix}.decaySteps`, c.decaySteps, 1e9);
  for (const key of Object.keys(c)) {
    if (!(key in DEFAULT_OPTIM_CONFIG))
      issues.push({ path: `${prefix}.${key}`, message: 'is not an optimiser setting' });
  }
  return issues;
}

export function validateOptimConfig(config: unknown): OptimConfig {
  const issues = optimConfigIssues(config);
  if (issues.length > 0) throw new ConfigError(issues);
  return config as OptimConfig;
}
