/**
 * A synthetic sequence task for engine tests: reverse a string of digits.
 * Sequence: d1 … dk SEP dk … d1 EOS (ids: digits 0–9, SEP = 10, EOS = 11). The loss is on the reversed half and EOS.
 */
import type { Batch } from '../../src/train/trainer';
import type { Rng } from '../../src/util/rng';

export const REVERSE_VOCAB = 12;
const SEP = 10;
const EOS = 11;

/** T = 2k + 1 input positions (the last EOS is only a target). */
export function reverseBatch(rng: Rng, B: number, k: number): Batch {
  const T = 2 * k + 1;
  const tokens = new Int32Array(B * T);
  const targets = new Int32Array(B * T).fill(-1);
  const weights = new Float32Array(B * T);
  const lossPositions = B * (k + 1);
  for (let b = 0; b < B; b++) {
    const digits = Array.from({ length: k }, () => rng.int(10));
    const seq = [...digits, SEP, ...digits.slice().reverse(), EOS];
    for (let t = 0; t < T; t++) {
      tokens[b * T + t] = seq[t]!;
      if (t >= k) {
        targets[b * T + t] = seq[t + 1]!;
        weights[b * T + t] = 1 / lossPositions;
      }
    }
  }
  return { tokens, targets, weights };
}
