import { afterEach, describe, expect, it } from 'vitest';
import { crossEntropy, crossEntropyF64, weightedLossSum } from '../../src/cpu/crossentropy';
import { assertNoErrors } from '../../src/gpu/context';
import { runDispatches } from '../../src/gpu/dispatch';
import { prepareCrossEntropy } from '../../src/gpu/ops/crossentropy';
import type { Rng } from '../../src/util/rng';
import { expectAllClose } from '../helpers/allclose';
import { centralDifferences } from '../helpers/finite_diff';
import {
  gpuContext,
  poisoned,
  REDUCTION_FORMS,
  randomF32,
  readF32,
  reductionOption,
  seeded,
  upload,
  usesSubgroups,
  withLimits,
} from '../helpers/gpu';

// Validation errors arrive asynchronously; by the end of a test (after its awaits) they have been reported.
afterEach(async () => {
  assertNoErrors(await gpuContext());
});

// Tolerances. Logits are U(-5, 5). The GPU's logsumexp is max + log(Σ exp) in f32: the sum of V ≤ 300 terms in
// (0, 1] carries a relative error ≲ V·6e-8 ≈ 2e-5 worst case (≈ 1e-6 typically), so the loss (≤ ~12) is good to
// ~1e-5 absolute; atol 5e-5 + rtol 1e-5 leaves headroom. dlogits = w·(p − onehot) with |w| ≤ 1 and p carrying the same
// relative error: atol 2e-6 + rtol 1e-4 (a wrong element is off by ~p or by 1). The total sums N ≤ 40 terms of
// magnitude ≤ 12 in f32: ≲ 40·12·6e-8 ≈ 3e-5 plus each loss's error: atol 5e-4.
const LOSS_TOL = { rtol: 1e-5, atol: 5e-5 };
const DLOGITS_TOL = { rtol: 1e-4, atol: 2e-6 };
const TOTAL_TOL = { rtol: 1e-5, atol: 5e-4 };

function makeInputs(rng: Rng, N: number, V: number) {
  const logits = randomF32(rng, N * V, -5, 5);
  const targets = new Int32Array(N);
  for (let i = 0; i < N; i++) targets[i] = rng.next() < 0.15 ? -1 : rng.int(V);
  const weights = randomF32(rng, N, -1, 1); // GRPO advantages can be negative
  return { logits, targets, weights };
}

describe('crossentropy_forward_backward.wgsl against the CPU reference', () => {
  for (const [N, V] of [
    [1, 1],
    [13, 7],
    [40, 64],
    [9, 100],
    [5, 300],
    [3, 1],
  ] as const) {
    for (const form of REDUCTION_FORMS) {
      it(`N=${N} V=${V} (${form} reductions)`, async () => {
        const ctx = await gpuContext();
        const subgroups = reductionOption(ctx, form);
        const rng = seeded(N * 1000 + V);
        const { logits, targets, weights } = makeInputs(rng, N, V);
        if (N >= 3) targets[N - 1] = -1; // always exercise an ignored row
        const logitsGpu = upload(ctx, logits);
        const losses = poisoned(ctx, N);
        const total = poisoned(ctx, 1);
        const dispatches = prepareCrossEntropy(ctx, {
          N,
          V,
          logits: logitsGpu,
          targets: upload(ctx, targets),
          weights: upload(ctx, weights),
          losses,
          total,
          subgroups,
        });
        expect(dispatches.length).toBe(2);
        expect(usesSubgroups(dispatches[0]!)).toBe(subgroups);
        runDispatches(ctx, dispatches);
        const ref = crossEntropy(logits, targets, weights, N, V);
        const gotLosses = await readF32(ctx, losses);
        expectAllClose(gotLosses, ref.losses, LOSS_TOL, 'losses');
        expectAllClose(await readF32(ctx, logitsGpu), ref.dlogits, DLOGITS_TOL, 'dlogits (in place over logits)');
        expectAllClose(await readF32(ctx, total), [weightedLossSum(ref.losses, weights, N)], TOTAL_TOL, 'total');
        for (let i = 0; i < N; i++) if (targets[i] === -1) expect(gotLosses[i]).toBe(0);
      });
    }
  }

  it('handles more rows than one grid dimension holds (2D grid), without the total', async () => {
    // The per-dimension limit faked down to 3 (the device is the real one): 7 rows need a 3×3 grid whose last two
    // workgroups fall past the end, the layout 65 536+ rows would get on a real device, at a test's size.
    const real = await gpuContext();
    const ctx = withLimits(real, { maxComputeWorkgroupsPerDimension: 3 });
    const [N, V] = [7, 5];
    const rng = seeded(5);
    const { logits, targets, weights } = makeInputs(rng, N, V);
    const logitsGpu = upload(ctx, logits);
    const losses = poisoned(ctx, N);
    const dispatches = prepareCrossEntropy(ctx, {
      N,
      V,
      logits: logitsGpu,
      targets: upload(ctx, targets),
      weights: upload(ctx, weights),
      losses,
    });
    expect(dispatches.length).toBe(1);
    expect(dispatches[0]!.workgroups).toEqual([3, 3, 1]);
    runDispatches(ctx, dispatches);
    const ref = crossEntropy(logits, targets, weights, N, V);
    expectAllClose(await readF32(real, losses), ref.losses, LOSS_TOL, 'losses');
    expectAllClose(await readF32(real, logitsGpu), ref.dlogits, DLOGITS_TOL, 'dlogits');
  });

  it('CPU dlogits match central finite differences of Σ w·loss (f64)', () => {
    const [N, V] = [6, 9];
    const rng = seeded(11);
    const { logits, targets, weights } = makeInputs(rng, N, V);
    targets[2] = -1;
    const x = Float64Array.from(logits);
    const f = (z: Float64Array): number =>
      weightedLossSum(crossEntropyF64(z, targets, weights, N, V).losses, weights, N);
    const analytic = crossEntropyF64(x, targets, weights, N, V).dlogits;
    const numeric = centralDifferences(x, () => f(x), 1e-5);
    // f64 central differences: truncation ~eps²·|f'''| ≈ 1e-10, rounding ~1e-16·|f|/eps ≈ 1e-10.
    expectAllClose(analytic, numeric, { rtol: 1e-6, atol: 1e-8 }, 'dlogits');
    expect(analytic.some((v) => Math.abs(v) > 1e-2)).toBe(true);
  });

  it('rejects bad shapes with clear errors', async () => {
    const ctx = await gpuContext();
    const t = upload(ctx, new Float32Array(10));
    const base = { logits: t, targets: t, weights: t, losses: t };
    expect(() => prepareCrossEntropy(ctx, { ...base, N: 3, V: 4 })).toThrow(/logits has 10 elements, needs 12/);
    expect(() => prepareCrossEntropy(ctx, { ...base, N: 0, V: 4 })).toThrow(/N must be a positive integer/);
    expect(() => prepareCrossEntropy(ctx, { ...base, logits: upload(ctx, new Float32Array(64)), N: 11, V: 2 })).toThrow(
      /targets has 10 elements, needs 11/,
    );
    expect(() => crossEntropy(new Float32Array(4), Int32Array.from([4]), new Float32Array(1), 1, 4)).toThrow(
      /target 4 of row 0 outside/,
    );
  });
});
