import source from '../../../shaders/kv_cache_fill.wgsl?raw';
import type { GpuContext } from '../context';
import { ceilDiv, type Dispatch, linearGrid, prepareDispatch } from '../dispatch';
import { overlaps, type TensorRef } from '../tensor';

export interface KvCacheFillArgs {
  /** [R·P, 3C] c_attn output of R rows × P positions (read). */
  qkv: TensorRef;
  /** [B, H, Tmax, hs] one layer's key cache; positions 0..P−1 of rows rowOffset..rowOffset+R−1 overwritten. */
  kCache: TensorRef;
  /** [B, H, Tmax, hs] the layer's value cache, written likewise. */
  vCache: TensorRef;
  /** Rows in qkv. */
  R: number;
  /** Positions per row (written at cache positions 0..P−1). */
  P: number;
  C: number;
  H: number;
  /** Rows of the caches (rowOffset + R ≤ B). */
  B: number;
  /** Cache capacity in positions (P ≤ Tmax). */
  Tmax: number;
  /** Cache row of qkv's row 0. */
  rowOffset: number;
  label?: string;
}

/** kCache, vCache[rowOffset + r, :, t, :] ← k, v of qkv row r·P + t, for r < R, t < P. One dispatch. */
export function prepareKvCacheFill(ctx: GpuContext, args: KvCacheFillArgs): Dispatch[] {
  const { R, P, C, H, B, Tmax, rowOffset, label = 'kv_cache_fill' } = args;
  for (const [name, v] of Object.entries({ R, P, C, H, B, Tmax })) {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${label}: ${name} must be a positive integer, got ${v}`);
  }
  if (!Number.isInteger(rowOffset) || rowOffset < 0 || rowOffset + R > B) {
    throw new Error(`${label}: rows [${rowOffset}, ${rowOffset + R}) are outside the cache's ${B} rows`);
  }
  if (C % H !== 0) throw new Error(`${label}: C = ${C} is not divisible by H = ${H}`);
  if (P > Tmax) throw new Error(`${label}: P = ${P} exceeds the cache's ${Tmax} positions`);
  const need = (name: string, t: TensorRef, n: number) => {
    if (t.length < n) throw new Error(`${label}: ${name} has ${t.length} elements, needs ${n}`);
  };
  need('qkv', args.qkv, R * P * 3 * C);
  need('kCache', args.kCache, B * C * Tmax);
  need('vCache', args.vCache, B * C * Tmax);
  if (overlaps(args.kCache, args.vCache)) throw new Error(`${label}: kCache and vCache overlap`);
  for (const [name, t] of [
    ['kCache', args.kCache],
    ['vCache', args.vCache],
  ] as const) {
    if (overlaps(args.qkv, t)) throw new Error(`${label}: qkv overlaps ${name}`);
  }
  const n = R * P * C;
  return [
    prepareDispatch(
      ctx,
      { name: 'kv_cache_fill', source },
      [args.qkv, args.kCache, args.vCache],
      [{ u: n }, { u: P }, { u: C }, { u: H }, { u: C / H }, { u: Tmax }, { u: rowOffset }],
      linearGrid(ctx, ceilDiv(n, 256)),
      label,
    ),
  ];
}
