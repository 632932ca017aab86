/**
 * Seeded pseudo-random numbers. Everything in Stoptime that is random (weight init, task generation, data order,
 * sampling seeds) takes an `Rng` from here, so a seed reproduces a run. Never use Math.random.
 *
 * Generator: sfc32 (Chris Doty-Humphrey's small fast counter), 128-bit state seeded through splitmix32.
 * It passes PractRand to multiple terabytes and is plenty for a research toy.
 */
export interface Rng {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [0, maxExclusive). `maxExclusive` must be a positive integer. */
  int(maxExclusive: number): number;
  /** Standard normal sample (Box–Muller). */
  normal(): number;
  /** Uniform 32-bit unsigned integer. */
  uint32(): number;
  /** An independent generator derived from this one's stream (for splitting work deterministically). */
  fork(): Rng;
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** Creates a generator from an integer seed (any safe integer; only the low 32 bits and a hash of the high bits matter). */
export function createRng(seed: number): Rng {
  if (!Number.isSafeInteger(seed)) throw new Error(`rng seed must be a safe integer, got ${seed}`);
  const hi = Math.floor(seed / 2 ** 32) >>> 0;
  const mix = splitmix32((seed >>> 0) ^ Math.imul(hi, 0x27d4eb2d));
  let a = mix();
  let b = mix();
  let c = mix();
  let d = mix();
  const uint32 = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 12; i++) uint32();
  const next = (): number => uint32() / 4294967296;
  let spareNormal: number | null = null;
  return {
    next,
    uint32,
    int(maxExclusive: number): number {
      if (!Number.isInteger(maxExclusive) || maxExclusive <= 0) {
        throw new Error(`rng.int needs a positive integer bound, got ${maxExclusive}`);
      }
      return Math.floor(next() * maxExclusive);
    },
    normal(): number {
      if (spareNormal !== null) {
        const s = spareNormal;
        spareNormal = null;
        return s;
      }
      let u = next();
      while (u <= 0) u = next();
      const v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spareNormal = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    fork(): Rng {
      return createRng(uint32() * 2 ** 20 + (uint32() >>> 12));
    },
  };
}

/** Fisher–Yates shuffle in place; returns the same array. */
export function shuffleInPlace<T>(rng: Rng, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const tmp = items[i] as T;
    items[i] = items[j] as T;
    items[j] = tmp;
  }
  return items;
}

/** One element chosen uniformly. Throws on an empty array. */
export function pick<T>(rng: Rng, items: readonly T[]): T {
  if (items.length === 0) throw new Error('pick from an empty array');
  return items[rng.int(items.length)] as T;
}
