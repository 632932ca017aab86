import { describe, expect, it } from 'vitest';
import { runSelfTest } from '../../src/train/selftest';
import { gpuContext } from '../helpers/gpu';

// The "model learns" test: the engine self-test (src/train/selftest.ts: a one-block GPT of width 32 learning to
// reverse 3-digit strings, batch 16), run for real on the adapter. About half a minute on SwiftShader (≈0.6 s a step).
const STEPS = 60;
const THRESHOLD = 0.1;

describe('training on the GPU', () => {
  it(`learns to reverse 3-digit strings: held-out loss < ${THRESHOLD} within ${STEPS} steps, identical for a seed`, async () => {
    const ctx = await gpuContext();
    const first = await runSelfTest(ctx, STEPS, 1);
    // ln(12) ≈ 2.48 at chance.
    expect(first.losses[0]).toBeGreaterThan(2);
    expect(first.heldOutLoss).toBeLessThan(THRESHOLD);
    // Same seed, same adapter → the same numbers (no atomics, fixed reduction order). The first 8 steps are inside
    // the 10-step warmup, so the shorter run has the same learning rates.
    const again = await runSelfTest(ctx, 8, 1);
    expect(again.losses).toEqual(first.losses.slice(0, 8));
  });
});
