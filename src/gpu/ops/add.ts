import addForwardSource from '../../../shaders/add_forward.wgsl?raw';
import columnSumSource from '../../../shaders/column_sum.wgsl?raw';
import sumSlicesSource from '../../../shaders/sum_slices.wgsl?raw';
import { dummyTensor, type GpuContext } from '../context';
import { ceilDiv, type Dispatch, linearGrid, prepareDispatch } from '../dispatch';
import { overlaps, sameTensor, slice, type TensorRef } from '../tensor';

export interface AddArgs {
  /** [n] */
  a: TensorRef;
  /** [bLen], bLen divides n: added to every bLen-long block of a. Must not overlap out. */
  b: TensorRef;
  /** [n], overwritten with a + b. May be exactly `a` (in place: out += b); otherwise must not overlap a. */
  out: TensorRef;
  n: number;
  /** Defaults to n (same-shape add). */
  bLen?: number;
  label?: string;
}

/** Prepares out = a + b (b broadcast): one dispatch. In place when `out` is the same view as `a`. */
export function prepareAdd(ctx: GpuContext, args: AddArgs): Dispatch[] {
  const { n, label = 'add_forward' } = args;
  const bLen = args.bLen ?? n;
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${label}: n must be a positive integer, got ${n}`);
  if (!Number.isInteger(bLen) || bLen <= 0 || n % bLen !== 0) {
    throw new Error(`${label}: bLen ${bLen} must be a positive integer dividing n = ${n}`);
  }
  if (args.a.length < n) throw new Error(`${label}: a has ${args.a.length} elements, needs ${n}`);
  if (args.out.length < n) throw new Error(`${label}: out has ${args.out.length} elements, needs ${n}`);
  if (args.b.length < bLen) throw new Error(`${label}: b has ${args.b.length} elements, needs ${bLen}`);
  const inPlace = sameTensor(args.a, args.out);
  if (!inPlace && overlaps(args.a, args.out)) throw new Error(`${label}: out overlaps a without being the same view`);
  if (overlaps(args.b, args.out)) throw new Error(`${label}: b must not overlap out`);
  return [
    prepareDispatch(
      ctx,
      { name: 'add_forward', source: addForwardSource, constants: { IN_PLACE: inPlace ? 1 : 0 } },
      [inPlace ? dummyTensor(ctx) : args.a, args.out, args.b],
      [{ u: n }, { u: bLen }],
      linearGrid(ctx, ceilDiv(n, 256)),
      label,
    ),
  ];
}

/**
 * At most 64 row chunks: stage 2 (sum_slices) runs one thread per column that loops over the chunks, so its latency
 * grows with the chunk count; at N = 8192 this gives 128 rows per chunk (32 per thread in stage 1) and a 64-long loop
 * in stage 2, balancing the two.
 */
const MAX_CHUNKS = 64;
const MIN_ROWS_PER_CHUNK = 32;

/** Row chunking of the two-stage column reductions (column_sum, layernorm dweight/dbias). */
export function columnChunking(N: number): { rowsPerChunk: number; chunks: number } {
  const wanted = Math.min(MAX_CHUNKS, ceilDiv(N, MIN_ROWS_PER_CHUNK));
  const rowsPerChunk = ceilDiv(N, wanted);
  return { rowsPerChunk, chunks: ceilDiv(N, rowsPerChunk) };
}

/** Scratch (elements) prepareColumnSum needs: partial sums [chunks, C]. */
export function columnSumScratchElements(N: number, C: number): number {
  return columnChunking(N).chunks * C;
}

export interface ColumnSumArgs {
  /** [N, C] */
  x: TensorRef;
  /** [C]: overwritten with Σ_n x[n, :], or `+=` when `accumulate`. */
  out: TensorRef;
  /** ≥ columnSumScratchElements(N, C) elements (clobbered); must not overlap x or out. */
  scratch: TensorRef;
  N: number;
  C: number;
  accumulate?: boolean;
  label?: string;
}

/** Prepares out[c] = Σ_n x[n, c]: partial sums over row chunks into scratch, then sum_slices. Two dispatches. */
export function prepareColumnSum(ctx: GpuContext, args: ColumnSumArgs): Dispatch[] {
  const { N, C, label = 'column_sum' } = args;
  for (const [name, v] of [
    ['N', N],
    ['C', C],
  ] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${label}: ${name} must be a positive integer, got ${v}`);
  }
  if (args.x.length < N * C) throw new Error(`${label}: x has ${args.x.length} elements, needs ${N * C}`);
  if (args.out.length < C) throw new Error(`${label}: out has ${args.out.length} elements, needs ${C}`);
  const need = columnSumScratchElements(N, C);
  if (args.scratch.length < need)
    throw new Error(`${label}: scratch has ${args.scratch.length} elements, needs ${need}`);
  if (overlaps(args.scratch, args.x)) throw new Error(`${label}: scratch must not overlap x`);
  if (overlaps(args.scratch, args.out)) throw new Error(`${label}: scratch must not overlap out`);
  const { rowsPerChunk, chunks } = columnChunking(N);
  const parts = slice(args.scratch, 0, chunks * C);
  const stage1 = prepareDispatch(
    ctx,
    { name: 'column_sum', source: columnSumSource },
    [args.x, parts],
    [{ u: N }, { u: C }, { u: rowsPerChunk }],
    [ceilDiv(C, 64), chunks, 1],
    `${label}.partials`,
  );
  const stage2 = prepareDispatch(
    ctx,
    { name: 'sum_slices', source: sumSlicesSource, constants: { HAS_BIAS: 0, ACCUMULATE: args.accumulate ? 1 : 0 } },
    [parts, slice(args.out, 0, C), dummyTensor(ctx)],
    [{ u: C }, { u: chunks }, { u: C }],
    [ceilDiv(C, 256), 1, 1],
    `${label}.reduce`,
  );
  return [stage1, stage2];
}
