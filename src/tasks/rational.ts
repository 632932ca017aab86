/**
 * Exact rational numbers over JS numbers (safe integers only). Every operation checks that numerator and denominator
 * stay safe integers and throws otherwise, so results are exact or an Error, never silently rounded.
 * Invariant: den > 0, gcd(|num|, den) = 1.
 */
export interface Rat {
  num: number;
  den: number;
}

function gcd(a: number, b: number): number {
  let x = Math.abs(a);
  let y = Math.abs(b);
  while (y !== 0) {
    const t = x % y;
    x = y;
    y = t;
  }
  return x;
}

function checked(n: number): number {
  if (!Number.isSafeInteger(n)) throw new Error('rational overflow');
  return n;
}

export function rat(num: number, den = 1): Rat {
  if (den === 0) throw new Error('rational: zero denominator');
  checked(num);
  checked(den);
  const s = den < 0 ? -1 : 1;
  const g = gcd(num, den) || 1;
  return { num: (s * num) / g + 0, den: (s * den) / g };
}

export function add(a: Rat, b: Rat): Rat {
  return rat(checked(a.num * b.den) + checked(b.num * a.den), checked(a.den * b.den));
}

export function sub(a: Rat, b: Rat): Rat {
  return rat(checked(a.num * b.den) - checked(b.num * a.den), checked(a.den * b.den));
}

export function mul(a: Rat, b: Rat): Rat {
  return rat(checked(a.num * b.num), checked(a.den * b.den));
}

/** Division; null when dividing by zero. */
export function div(a: Rat, b: Rat): Rat | null {
  if (b.num === 0) return null;
  return rat(checked(a.num * b.den), checked(a.den * b.num));
}

export function eq(a: Rat, b: Rat): boolean {
  return a.num === b.num && a.den === b.den;
}

export function ratToString(r: Rat): string {
  return r.den === 1 ? String(r.num) : `${r.num}/${r.den}`;
}
