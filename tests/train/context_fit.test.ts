import { describe, expect, it } from 'vitest';
import { CONTEXT_CHOICES_TOKENS, contextFit, FIT_SHARE, fittedModel } from '../../src/train/context_fit';
import { buildSftData } from '../../src/train/data';
import { DEFAULT_RUN_CONFIG, modelConfigFor, type RunConfig, runConfigIssues } from '../../src/train/run_config';

const arithmetic: RunConfig = { ...DEFAULT_RUN_CONFIG, model: { size: 'tiny' } };
const withTask = (patch: Partial<RunConfig['task']>): RunConfig => ({
  ...arithmetic,
  task: { ...arithmetic.task, ...patch },
});

describe('contextFit', () => {
  it("agrees with the training set's own count of what a context drops", () => {
    // Two independent routes to the same number: the fit's share at 64 tokens, and buildSftData's dropped fraction
    // for the same examples (trainSize = the fit's sample) on the 64-token tiny model.
    const c: RunConfig = { ...arithmetic, sft: { ...arithmetic.sft, trainSize: 200 } };
    const fit = contextFit(c, 200);
    const data = buildSftData(c);
    expect(modelConfigFor(c).contextLength).toBe(64);
    expect(fit.share(64)).toBeCloseTo(1 - data.droppedFraction, 12);
    expect(fit.share(64)).toBeLessThan(1);
    expect(fit.share(fit.longestTokens - 1)).toBe(1);
    expect(fit.share(fit.longestTokens - 2)).toBeLessThan(1);
  });

  it('fits the smallest offered context holding 99% of the examples', () => {
    for (const c of [arithmetic, withTask({ targetStyle: 'answer' }), withTask({ id: 'sokoban' })]) {
      const fit = contextFit(c);
      expect(fit.fittedTokens).not.toBeNull();
      const fitted = fit.fittedTokens!;
      expect(fit.share(fitted)).toBeGreaterThanOrEqual(FIT_SHARE);
      const below = CONTEXT_CHOICES_TOKENS.filter((t) => t < fitted);
      for (const t of below) expect(fit.share(t)).toBeLessThan(FIT_SHARE);
    }
  });

  it("gives tiny a larger context only where its own drops examples, and leaves other sizes' alone", () => {
    // The default arithmetic traces (two digits, distilled, up to 90 thinking tokens) overflow 64 tokens.
    expect(contextFit(arithmetic).share(64)).toBeLessThan(FIT_SHARE);
    const fitted = fittedModel(arithmetic, 'tiny');
    expect(fitted.contextLength).toBeGreaterThan(64);
    expect(modelConfigFor({ ...arithmetic, model: fitted }).contextLength).toBe(fitted.contextLength);
    // Answer-only arithmetic fits 64: no override, so the config means what it meant before the field existed.
    expect(fittedModel(withTask({ targetStyle: 'answer' }), 'tiny')).toEqual({ size: 'tiny' });
    expect(fittedModel(arithmetic, 'small')).toEqual({ size: 'small' });
  });

  it('is checked as part of the run config', () => {
    const bad = { ...arithmetic, model: { size: 'tiny', contextLength: 4096 } };
    expect(runConfigIssues(bad).map((i) => i.path)).toContain('model.contextLength');
    expect(runConfigIssues({ ...arithmetic, model: { size: 'tiny', contextLength: 128 } })).toEqual([]);
    expect(() => contextFit(arithmetic, 0)).toThrow(/sample/);
  });
});
