import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/util/rng';
import {
  identityIndices,
  interpolateAt,
  normalQuantile,
  quantile,
  stratifiedBootstrap,
  tInterval,
  tQuantile,
  wilsonBounds,
  wilsonInterval,
} from '../../src/util/stats';

/**
 * The Wilson bounds as the two roots of (n + z²)p² − (2s + z²)p + s²/n = 0, i.e. the p with |p̂ − p| = z·√(p(1−p)/n):
 * an independent derivation from wilsonBounds's closed form.
 */
function wilsonByQuadratic(s: number, n: number, z: number): [number, number] {
  const a = n + z * z;
  const b = -(2 * s + z * z);
  const c = (s * s) / n;
  const disc = Math.sqrt(b * b - 4 * a * c);
  return [(-b - disc) / (2 * a), (-b + disc) / (2 * a)];
}

describe('normalQuantile', () => {
  it('matches tabulated standard normal quantiles', () => {
    // Published values (Abramowitz & Stegun table 26.5); the approximation is good to about 1e-9.
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963985, 7);
    expect(normalQuantile(0.5)).toBeCloseTo(0, 12);
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232306, 7);
    expect(normalQuantile(0.95)).toBeCloseTo(1.644853627, 7);
    expect(() => normalQuantile(1)).toThrow(RangeError);
  });
});

describe('tQuantile', () => {
  it('matches Student-t tables (two-sided 95% and 90%)', () => {
    // Tabulated t_{0.975, df}; Hill's series is accurate to about 1e-6 here, the table to 1e-4.
    const table: [number, number][] = [
      [1, 12.7062],
      [2, 4.3027],
      [3, 3.1824],
      [4, 2.7764],
      [9, 2.2622],
      [29, 2.0452],
      [100, 1.984],
    ];
    for (const [df, t] of table) expect(tQuantile(0.95, df)).toBeCloseTo(t, 3);
    expect(tQuantile(0.9, 5)).toBeCloseTo(2.015, 3);
  });
});

describe('wilsonInterval', () => {
  it('gives the textbook interval for 5 of 10 and the closed form at 0 of n', () => {
    const w = wilsonInterval(5, 10);
    expect(w.estimate).toBe(0.5);
    expect(w.low).toBeCloseTo(0.2366, 4);
    expect(w.high).toBeCloseTo(0.7634, 4);
    // 0 successes: the upper end is z²/(n + z²).
    const z = normalQuantile(0.975);
    const zero = wilsonInterval(0, 10);
    expect(zero.low).toBe(0);
    expect(zero.high).toBeCloseTo((z * z) / (10 + z * z), 10);
    expect(wilsonInterval(10, 10).high).toBe(1);
  });
  it('rejects impossible counts, and gives [0, 1] for no trials', () => {
    expect(() => wilsonInterval(11, 10)).toThrow(RangeError);
    expect(() => wilsonInterval(1.5, 10)).toThrow(RangeError);
    expect(() => wilsonInterval(1, Number.NaN)).toThrow(/n must be a non-negative integer/);
    expect(wilsonInterval(0, 0)).toMatchObject({ low: 0, high: 1 });
  });

  it('matches textbook values at 95% (Newcombe 1998), to 4 decimals', () => {
    for (const [s, n, lo, hi] of [
      [0, 10, 0, 0.2775],
      [10, 10, 0.7225, 1],
      [5, 10, 0.2366, 0.7634],
    ] as const) {
      const w = wilsonInterval(s, n);
      expect(w.low).toBeCloseTo(lo, 4);
      expect(w.high).toBeCloseTo(hi, 4);
    }
  });
});

describe('wilsonBounds', () => {
  it('matches the roots of the score equation for many counts and quantiles', () => {
    for (const z of [normalQuantile(0.975), 1, 2.576]) {
      for (const n of [1, 2, 3, 7, 32, 128, 1000]) {
        for (let s = 0; s <= n; s += Math.max(1, Math.floor(n / 9))) {
          const [lo, hi] = wilsonBounds(s / n, n, z);
          const [qlo, qhi] = wilsonByQuadratic(s, n, z);
          // Both are a handful of f64 operations on numbers below 1e4: agreement to 1e-12 is expected.
          expect(lo).toBeCloseTo(Math.max(0, qlo), 12);
          expect(hi).toBeCloseTo(Math.min(1, qhi), 12);
          expect(lo).toBeLessThanOrEqual(s / n);
          expect(hi).toBeGreaterThanOrEqual(s / n);
        }
      }
    }
  });

  it('is exactly 0 and 1 at the extremes, and takes a fractional (effective) sample size', () => {
    expect(wilsonBounds(0, 32, 1.96)[0]).toBe(0);
    expect(wilsonBounds(1, 32, 1.96)[1]).toBe(1);
    const [lo, hi] = wilsonBounds(0.5, 12.5, 1.96);
    const [lo12, hi12] = wilsonBounds(0.5, 12, 1.96);
    const [lo13, hi13] = wilsonBounds(0.5, 13, 1.96);
    expect(lo).toBeGreaterThan(lo12);
    expect(lo).toBeLessThan(lo13);
    expect(hi).toBeLessThan(hi12);
    expect(hi).toBeGreaterThan(hi13);
  });
});

describe('quantile, tInterval, interpolateAt', () => {
  it('uses linear (type-7) quantiles', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([1, 2, 3, 4], 0.25)).toBe(1.75);
    expect(quantile([7], 0.9)).toBe(7);
  });
  it('gives mean ± t·s/√n', () => {
    const t = tInterval([1, 2, 3, 4, 5]);
    // s = sqrt(2.5), se = sqrt(0.5), t_{0.975,4} = 2.776445
    expect(t.estimate).toBe(3);
    expect(t.high - 3).toBeCloseTo(2.776445 * Math.sqrt(0.5), 4);
    expect(tInterval([2]).low).toBe(2);
  });
  it('interpolates along the sorted curve and never extrapolates', () => {
    const curve = [
      { x: 30, y: 0.7 },
      { x: 10, y: 0.5 },
    ];
    expect(interpolateAt(curve, 20)).toBeCloseTo(0.6, 12);
    expect(interpolateAt(curve, 10)).toBe(0.5);
    expect(interpolateAt(curve, 9.99)).toBeNull();
    expect(interpolateAt(curve, 31)).toBeNull();
    expect(interpolateAt([], 1)).toBeNull();
  });
});

describe('stratifiedBootstrap', () => {
  const meanOf = (xs: Float64Array) => (draw: readonly Int32Array[]) => {
    const d = draw[0]!;
    let s = 0;
    for (let i = 0; i < d.length; i++) s += xs[d[i]!]!;
    return s / d.length;
  };

  it('is deterministic in its seed and collapses on constant data', () => {
    const xs = new Float64Array(50).fill(3);
    const r = stratifiedBootstrap([50], meanOf(xs), { replicates: 200, seed: 5 })!;
    expect(r.low).toBe(3);
    expect(r.high).toBe(3);
    const rng = createRng(9);
    const ys = Float64Array.from({ length: 80 }, () => rng.next());
    const a = stratifiedBootstrap([80], meanOf(ys), { replicates: 300, seed: 2 })!;
    const b = stratifiedBootstrap([80], meanOf(ys), { replicates: 300, seed: 2 })!;
    const c = stratifiedBootstrap([80], meanOf(ys), { replicates: 300, seed: 3 })!;
    expect(a).toEqual(b);
    expect(c.low).not.toBe(a.low);
  });

  it('gives about the normal-theory width for a proportion', () => {
    // 400 Bernoulli(0.5) outcomes: the 95% half-width of the mean is about 1.96·0.5/20 = 0.049.
    const xs = Float64Array.from({ length: 400 }, (_, i) => (i % 2 === 0 ? 1 : 0));
    const r = stratifiedBootstrap([400], meanOf(xs), { replicates: 2000, seed: 1 })!;
    expect(r.estimate).toBe(0.5);
    expect((r.high - r.low) / 2).toBeGreaterThan(0.049 * 0.85);
    expect((r.high - r.low) / 2).toBeLessThan(0.049 * 1.15);
  });

  it('pairs: a difference of two methods that agree on most problems has a narrow interval', () => {
    const rng = createRng(4);
    const a = Float64Array.from({ length: 300 }, () => (rng.next() < 0.6 ? 1 : 0));
    const b = Float64Array.from(a);
    for (let i = 0; i < 9; i++) b[i * 30] = 1 - b[i * 30]!; // 9 of 300 problems flip
    const diff = stratifiedBootstrap([300], (draw) => meanOf(a)(draw) - meanOf(b)(draw), { seed: 1 })!;
    const single = stratifiedBootstrap([300], meanOf(a), { seed: 1 })!;
    // Paired: SE ≈ √9/300 = 0.01 (width ≈ 0.04); one method alone: SE ≈ √(0.24/300) ≈ 0.028 (width ≈ 0.11).
    expect(diff.high - diff.low).toBeLessThan((single.high - single.low) / 2);
  });

  it('resamples each stratum within itself and drops undefined replicates', () => {
    // Stratum 0 is all 0, stratum 1 all 1: every replicate's mean of stratum means is exactly 0.5.
    const s0 = new Float64Array(10);
    const s1 = new Float64Array(20).fill(1);
    const stat = (draw: readonly Int32Array[]) => {
      const m = (xs: Float64Array, d: Int32Array) => d.reduce((s, i) => s + xs[i]!, 0) / d.length;
      return (m(s0, draw[0]!) + m(s1, draw[1]!)) / 2;
    };
    const r = stratifiedBootstrap([10, 20], stat, { replicates: 100 })!;
    expect([r.low, r.estimate, r.high]).toEqual([0.5, 0.5, 0.5]);
    let calls = 0;
    const flaky = stratifiedBootstrap([5], () => (calls++ % 2 === 0 ? 1 : null), { replicates: 10 })!;
    expect(flaky.undefinedReplicates).toBe(5);
    expect(stratifiedBootstrap([5], () => null)).toBeNull();
    expect(Array.from(identityIndices(3))).toEqual([0, 1, 2]);
  });
});
