import { expect } from 'vitest';

export interface Tolerance {
  /** Relative tolerance: |a − e| ≤ atol + rtol·|e|. */
  rtol: number;
  atol: number;
}

/**
 * Element-wise allclose with a message naming the worst element. NaN anywhere in `actual` fails (outputs are poisoned
 * with NaN before a kernel runs, so an unwritten element fails here).
 */
export function expectAllClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance,
  what = 'values',
): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let worst = -1;
  let worstExcess = 0;
  let bad = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const allowed = tol.atol + tol.rtol * Math.abs(e);
    const err = Math.abs(a - e);
    if (!(err <= allowed)) {
      bad++;
      const excess = Number.isNaN(err) ? Number.POSITIVE_INFINITY : err / allowed;
      if (worst < 0 || excess > worstExcess) {
        worst = i;
        worstExcess = excess;
      }
    }
  }
  if (bad > 0) {
    const a = actual[worst]!;
    const e = expected[worst]!;
    expect.fail(
      `${what}: ${bad}/${expected.length} elements outside rtol=${tol.rtol}, atol=${tol.atol}; ` +
        `worst at [${worst}]: got ${a}, expected ${e} (|diff| ${Math.abs(a - e)})`,
    );
  }
}
