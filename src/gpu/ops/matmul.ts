import matmulSource from '../../../shaders/matmul.wgsl?raw';
import sumSlicesSource from '../../../shaders/sum_slices.wgsl?raw';
import { dummyTensor, type GpuContext } from '../context';
import { ceilDiv, type Dispatch, prepareDispatch } from '../dispatch';
import type { TensorRef } from '../tensor';

export interface MatmulArgs {
  /** op(A) is [M, K]; A is stored [K, M] when transA. */
  a: TensorRef;
  /** op(B) is [K, N]; B is stored [N, K] when transB. */
  b: TensorRef;
  /** Output [M, N]. */
  c: TensorRef;
  M: number;
  N: number;
  K: number;
  transA?: boolean;
  transB?: boolean;
  /** Added to every row of C: [N]. */
  bias?: TensorRef;
  /** C += op(A)·op(B) instead of C = … */
  accumulate?: boolean;
  /**
   * Scratch space for split-K partial products. When given and the output is too small to fill the GPU
   * (fewer than `targetWorkgroups` tiles) while K is long, the k range is split and reduced afterwards.
   */
  scratch?: TensorRef;
  label?: string;
}

/** Workgroups we want in flight: about two per SM on a large GPU. Smaller GPUs lose nothing from split-K. */
const TARGET_WORKGROUPS = 256;
const TILE = 64;
const K_STEP = 16;

/** How many k-slices a matmul of this shape uses with `scratchElements` of scratch. */
export function chooseSplits(M: number, N: number, K: number, scratchElements: number): number {
  const tiles = ceilDiv(M, TILE) * ceilDiv(N, TILE);
  if (tiles >= TARGET_WORKGROUPS || K < 512) return 1;
  let splits = Math.min(ceilDiv(TARGET_WORKGROUPS, tiles), Math.floor(K / 128));
  splits = Math.min(splits, Math.floor(scratchElements / (M * N)));
  return Math.max(1, splits);
}

export function checkMatmulShapes(args: MatmulArgs): void {
  const { a, b, c, M, N, K, label = 'matmul' } = args;
  for (const [name, v] of [
    ['M', M],
    ['N', N],
    ['K', K],
  ] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${label}: ${name} must be a positive integer, got ${v}`);
  }
  if (a.length < M * K) throw new Error(`${label}: A has ${a.length} elements, needs ${M * K}`);
  if (b.length < K * N) throw new Error(`${label}: B has ${b.length} elements, needs ${K * N}`);
  if (c.length < M * N) throw new Error(`${label}: C has ${c.length} elements, needs ${M * N}`);
  if (args.bias && args.bias.length < N) throw new Error(`${label}: bias has ${args.bias.length} elements, needs ${N}`);
}

/** Prepares C = op(A)·op(B) (+ bias) (+ C): one dispatch, or two with split-K. */
export function prepareMatmul(ctx: GpuContext, args: MatmulArgs): Dispatch[] {
  checkMatmulShapes(args);
  const { M, N, K, label = 'matmul' } = args;
  const splits = args.scratch ? chooseSplits(M, N, K, args.scratch.length) : 1;
  const kChunk = ceilDiv(ceilDiv(K, splits), K_STEP) * K_STEP;
  const realSplits = ceilDiv(K, kChunk);
  const flags = { TRANS_A: args.transA ? 1 : 0, TRANS_B: args.transB ? 1 : 0 };
  const spec = { name: 'matmul', source: matmulSource };
  const grid = [ceilDiv(N, TILE), ceilDiv(M, TILE)] as const;
  const params = [{ u: M }, { u: N }, { u: K }, { u: kChunk }];
  if (realSplits === 1 || !args.scratch) {
    const constants = { ...flags, HAS_BIAS: args.bias ? 1 : 0, ACCUMULATE: args.accumulate ? 1 : 0 };
    return [
      prepareDispatch(
        ctx,
        { ...spec, constants },
        [args.a, args.b, args.c, args.bias ?? dummyTensor(ctx)],
        params,
        [grid[0], grid[1], 1],
        label,
      ),
    ];
  }
  const constants = { ...flags, HAS_BIAS: 0, ACCUMULATE: 0 };
  const partial = prepareDispatch(
    ctx,
    { ...spec, constants },
    [args.a, args.b, args.scratch, dummyTensor(ctx)],
    params,
    [grid[0], grid[1], realSplits],
    `${label}.splitk`,
  );
  const reduce = prepareDispatch(
    ctx,
    {
      name: 'sum_slices',
      source: sumSlicesSource,
      constants: { HAS_BIAS: args.bias ? 1 : 0, ACCUMULATE: args.accumulate ? 1 : 0 },
    },
    [args.scratch, args.c, args.bias ?? dummyTensor(ctx)],
    [{ u: M * N }, { u: realSplits }, { u: N }],
    [ceilDiv(M * N, 256), 1, 1],
    `${label}.reduce`,
  );
  return [partial, reduce];
}
