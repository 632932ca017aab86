/**
 * Interval statistics for evaluation results: pure functions, no imports but the seeded RNG, unit-tested on cases with
 * known answers (tests/util/stats.test.ts).
 *
 *   wilsonInterval        a binomial proportion's score interval (accuracy of one point on n problems)
 *   wilsonBounds          the same formula at any (effective, fractional) sample size and quantile
 *   quantile              type-7 (linear) sample quantile, as R's default and numpy's 'linear'
 *   tInterval             mean of a few values (one per seed) with a Student-t interval
 *   interpolateAt         y at x along a piecewise-linear curve (no extrapolation)
 *   stratifiedBootstrap   percentile bootstrap of any statistic of several strata (seeds), each resampled within
 *                         itself (problems within a seed). Every point of a statistic sees the same draw, so
 *                         differences between methods on the same problems are paired.
 */
import { createRng } from './rng';

/** An estimate with a two-sided interval at `level` (0.95 = 95%). */
export interface Interval {
  estimate: number;
  low: number;
  high: number;
  level: number;
}

/** Standard normal quantile: the x with Φ(x) = p (Acklam's rational approximation, relative error below 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile: p must be in (0, 1), got ${p}`);
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239,
  ];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (
      (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
      ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1)
    );
  }
  if (p > 1 - lo) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  );
}

/** Wilson score interval of `successes` out of `n` (estimate: successes / n). n = 0 gives [0, 1] around 0. */
export function wilsonInterval(successes: number, n: number, level = 0.95): Interval {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`wilsonInterval: n must be a non-negative integer, got ${n}`);
  if (!Number.isInteger(successes) || successes < 0 || successes > n)
    throw new RangeError(`wilsonInterval: successes must be an integer in [0, n], got ${successes} of ${n}`);
  if (n === 0) return { estimate: 0, low: 0, high: 1, level };
  const [low, high] = wilsonBounds(successes / n, n, normalQuantile(1 - (1 - level) / 2));
  return { estimate: successes / n, low, high, level };
}

/**
 * The Wilson score formula for a rate p in [0, 1] at a sample size n > 0 that need not be an integer (an effective
 * size, as src/runs/matrix.ts's design-effect interval uses) and normal quantile z:
 *   centre ± half, centre = (p + z²/2n) / (1 + z²/n), half = z / (1 + z²/n) · √(p(1−p)/n + z²/4n²),
 * exactly 0 and 1 at p = 0 and p = 1 (rounding would otherwise leave ±1e-17). Arguments are not checked.
 */
export function wilsonBounds(p: number, n: number, z: number): [number, number] {
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z / denom) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  const lo = p === 0 ? 0 : Math.max(0, centre - half);
  const hi = p === 1 ? 1 : Math.min(1, centre + half);
  return [lo, hi];
}

/** Type-7 quantile of values sorted ascending (q in [0, 1]). */
export function quantile(sortedAscending: readonly number[], q: number): number {
  const n = sortedAscending.length;
  if (n === 0) throw new RangeError('quantile of no values');
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile: q must be in [0, 1], got ${q}`);
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sortedAscending[lo]! + (h - lo) * (sortedAscending[hi]! - sortedAscending[lo]!);
}

/** Two-sided Student-t quantile t_{1 − α/2, df} (Hill's 1970 series; exact enough for intervals, df ≥ 1). */
export function tQuantile(level: number, df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new RangeError(`tQuantile: df must be a positive integer, got ${df}`);
  if (!(level > 0 && level < 1)) throw new RangeError(`tQuantile: level must be in (0, 1), got ${level}`);
  const p = 1 - level; // two-sided tail mass
  if (df === 1) return Math.tan((Math.PI / 2) * (1 - p));
  if (df === 2) return Math.sqrt(2 / (p * (2 - p)) - 2);
  // G. W. Hill, Algorithm 396 (CACM 13, 1970): Student's t-quantiles.
  const a = 1 / (df - 0.5);
  const b = 48 / (a * a);
  let c = (((20700 * a) / b - 98) * a - 16) * a + 96.36;
  const d = ((94.5 / (b + c) - 3) / b + 1) * Math.sqrt((a * Math.PI) / 2) * df;
  let x = d * p;
  let y = x ** (2 / df);
  if (y > 0.05 + a) {
    x = normalQuantile(p * 0.5);
    y = x * x;
    if (df < 5) c += 0.3 * (df - 4.5) * (x + 0.6);
    c = (((0.05 * d * x - 5) * x - 7) * x - 2) * x + b + c;
    y = (((((0.4 * y + 6.3) * y + 36) * y + 94.5) / c - y - 3) / b + 1) * x;
    y = Math.expm1(a * y * y);
  } else {
    y =
      (((1 / (((df + 6) / (df * y) - 0.089 * d - 0.822) * (df + 2) * 3) + 0.5 / (df + 4)) * y - 1) * (df + 1)) /
        (df + 2) +
      1 / y;
  }
  return Math.sqrt(df * y);
}

/** Mean of `values` with a Student-t interval (one value: the interval is the point itself, df 0). */
export function tInterval(values: readonly number[], level = 0.95): Interval & { n: number; standardError: number } {
  const n = values.length;
  if (n === 0) throw new RangeError('tInterval of no values');
  const mean = values.reduce((s, v) => s + v, 0) / n;
  if (n === 1) return { estimate: mean, low: mean, high: mean, level, n, standardError: 0 };
  const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1);
  const standardError = Math.sqrt(variance / n);
  const t = tQuantile(level, n - 1);
  return { estimate: mean, low: mean - t * standardError, high: mean + t * standardError, level, n, standardError };
}

/**
 * y at `x` along the piecewise-linear curve through `points` (sorted by x here; equal x values averaged). null when x
 * lies outside the curve's x range or the curve is empty: a matched-length comparison never extrapolates.
 */
export function interpolateAt(points: readonly { x: number; y: number }[], x: number): number | null {
  if (!Number.isFinite(x)) return null;
  const byX = new Map<number, { sum: number; n: number }>();
  for (const p of points) {
    if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) continue;
    const e = byX.get(p.x) ?? { sum: 0, n: 0 };
    e.sum += p.y;
    e.n++;
    byX.set(p.x, e);
  }
  const curve = [...byX.entries()].map(([px, e]) => ({ x: px, y: e.sum / e.n })).sort((a, b) => a.x - b.x);
  if (curve.length === 0 || x < curve[0]!.x || x > curve[curve.length - 1]!.x) return null;
  for (let i = 0; i < curve.length; i++) {
    const p = curve[i]!;
    if (p.x === x) return p.y;
    const q = curve[i + 1];
    if (q && x > p.x && x < q.x) return p.y + ((x - p.x) / (q.x - p.x)) * (q.y - p.y);
  }
  return null;
}

/** Indices 0 … n − 1. */
export function identityIndices(n: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}

export interface BootstrapResult extends Interval {
  /** Replicates whose statistic was defined (finite); the interval is taken over these. */
  replicates: number;
  /** Replicates dropped because the statistic was undefined there (e.g. a matched length outside a curve). */
  undefinedReplicates: number;
}

/**
 * Percentile bootstrap of `statistic`, stratified: stratum s (a seed) has `sizes[s]` units (problems), and each
 * replicate draws sizes[s] of them with replacement within the stratum. `statistic(draw)` gets one index array per
 * stratum (the identity for the estimate) and returns a number, or NaN / null where it is undefined. Deterministic in
 * `seed`. The estimate is the statistic of the data as observed; null when it is undefined there.
 */
export function stratifiedBootstrap(
  sizes: readonly number[],
  statistic: (draw: readonly Int32Array[]) => number | null,
  opts: { replicates?: number; level?: number; seed?: number } = {},
): BootstrapResult | null {
  const replicates = opts.replicates ?? 2000;
  const level = opts.level ?? 0.95;
  for (const n of sizes)
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`stratifiedBootstrap: stratum sizes must be ≥ 1, got ${n}`);
  const estimate = statistic(sizes.map(identityIndices));
  if (estimate === null || !Number.isFinite(estimate)) return null;
  const rng = createRng(opts.seed ?? 1);
  const values: number[] = [];
  const draw = sizes.map((n) => new Int32Array(n));
  for (let r = 0; r < replicates; r++) {
    sizes.forEach((n, s) => {
      const d = draw[s]!;
      for (let i = 0; i < n; i++) d[i] = rng.int(n);
    });
    const v = statistic(draw);
    if (v !== null && Number.isFinite(v)) values.push(v);
  }
  if (values.length === 0) return null;
  values.sort((a, b) => a - b);
  const alpha = 1 - level;
  return {
    estimate,
    low: quantile(values, alpha / 2),
    high: quantile(values, 1 - alpha / 2),
    level,
    replicates: values.length,
    undefinedReplicates: replicates - values.length,
  };
}
