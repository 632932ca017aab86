import layernormBackwardSource from '../../../shaders/layernorm_backward.wgsl?raw';
import layernormForwardSource from '../../../shaders/layernorm_forward.wgsl?raw';
import sumSlicesSource from '../../../shaders/sum_slices.wgsl?raw';
import { dummyTensor, type GpuContext, isSoftwareAdapter } from '../context';
import { ceilDiv, type Dispatch, linearGrid, prepareDispatch } from '../dispatch';
import { alignElements, overlaps, slice, type TensorRef } from '../tensor';
import { columnChunking } from './add';

/** Rows per workgroup of the per-row kernels (forward, dinp). */
const ROWS_PER_WG = 8;
/** Rows per workgroup of the serial entry points (SERIAL_ROWS of layernorm_forward and layernorm_backward). */
const SERIAL_ROWS_PER_WG = 4;

export interface LayernormForwardArgs {
  /** [N, C] */
  inp: TensorRef;
  /** [C] */
  weight: TensorRef;
  /** [C] */
  bias: TensorRef;
  /** [N, C], overwritten. Must not alias inp. */
  out: TensorRef;
  /** [N], overwritten (saved for the backward pass). */
  mean: TensorRef;
  /** [N], overwritten: 1/√(var + eps). */
  rstd: TensorRef;
  N: number;
  C: number;
  eps?: number;
  /**
   * The `serial` entry point instead: one invocation per row, no barrier. Default: on a software adapter
   * (isSoftwareAdapter), where every barrier switches each of a workgroup's invocations; a GPU keeps 32 lanes a row.
   */
  serial?: boolean;
  label?: string;
}

export interface LayernormBackwardArgs {
  /** [N, C] upstream gradient. */
  dout: TensorRef;
  /** [N, C] the forward input. */
  inp: TensorRef;
  /** [C] */
  weight: TensorRef;
  /** [N] from the forward pass. */
  mean: TensorRef;
  /** [N] from the forward pass. */
  rstd: TensorRef;
  /** [N, C]: overwritten, or `dinp += …` when `accumulate` (the residual stream). Must not alias dout/inp. */
  dinp: TensorRef;
  /** [C]: overwritten, or `+=` when `accumulateParams`. */
  dweight: TensorRef;
  /** [C]: overwritten, or `+=` when `accumulateParams`. */
  dbias: TensorRef;
  /** ≥ layernormBackwardScratchElements(N, C) elements of scratch (contents clobbered). */
  scratch: TensorRef;
  N: number;
  C: number;
  accumulate?: boolean;
  accumulateParams?: boolean;
  /**
   * dinp from the `dinp_serial` entry point: one invocation per row, no barrier. Default: on a software adapter
   * (isSoftwareAdapter), as the forward's `serial`.
   */
  serial?: boolean;
  label?: string;
}

/** Scratch (elements) the backward pass needs: partial dweight and dbias sums, [chunks, C] each, 64-aligned. */
export function layernormBackwardScratchElements(N: number, C: number): number {
  const { chunks } = columnChunking(N);
  return 2 * alignElements(chunks * C);
}

function checkDims(label: string, N: number, C: number): void {
  for (const [name, v] of [
    ['N', N],
    ['C', C],
  ] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${label}: ${name} must be a positive integer, got ${v}`);
  }
}

function need(label: string, name: string, t: TensorRef, n: number): void {
  if (t.length < n) throw new Error(`${label}: ${name} has ${t.length} elements, needs ${n}`);
}

/** Prepares LayerNorm forward over rows of [N, C]: one dispatch. */
export function prepareLayernormForward(ctx: GpuContext, args: LayernormForwardArgs): Dispatch[] {
  const { N, C, label = 'layernorm_forward' } = args;
  checkDims(label, N, C);
  need(label, 'inp', args.inp, N * C);
  need(label, 'out', args.out, N * C);
  need(label, 'weight', args.weight, C);
  need(label, 'bias', args.bias, C);
  need(label, 'mean', args.mean, N);
  need(label, 'rstd', args.rstd, N);
  for (const [name, t] of [
    ['inp', args.inp],
    ['weight', args.weight],
    ['bias', args.bias],
  ] as const) {
    for (const [oname, o] of [
      ['out', args.out],
      ['mean', args.mean],
      ['rstd', args.rstd],
    ] as const) {
      if (overlaps(t, o)) throw new Error(`${label}: ${oname} must not overlap ${name}`);
    }
  }
  const serial = args.serial ?? isSoftwareAdapter(ctx);
  return [
    prepareDispatch(
      ctx,
      { name: 'layernorm_forward', source: layernormForwardSource, entryPoint: serial ? 'serial' : 'main' },
      [args.inp, args.weight, args.bias, args.out, args.mean, args.rstd],
      [{ u: N }, { u: C }, { f: args.eps ?? 1e-5 }],
      linearGrid(ctx, ceilDiv(N, serial ? SERIAL_ROWS_PER_WG : ROWS_PER_WG)),
      label,
    ),
  ];
}

/**
 * Prepares LayerNorm backward: dinp (one dispatch), then dweight/dbias as a two-stage column reduction (partials over
 * row chunks into `scratch`, then two sum_slices dispatches). Four dispatches in all.
 */
export function prepareLayernormBackward(ctx: GpuContext, args: LayernormBackwardArgs): Dispatch[] {
  const { N, C, label = 'layernorm_backward' } = args;
  checkDims(label, N, C);
  need(label, 'dout', args.dout, N * C);
  need(label, 'inp', args.inp, N * C);
  need(label, 'dinp', args.dinp, N * C);
  need(label, 'weight', args.weight, C);
  need(label, 'dweight', args.dweight, C);
  need(label, 'dbias', args.dbias, C);
  need(label, 'mean', args.mean, N);
  need(label, 'rstd', args.rstd, N);
  need(label, 'scratch', args.scratch, layernormBackwardScratchElements(N, C));
  for (const [name, t] of [
    ['dout', args.dout],
    ['inp', args.inp],
    ['weight', args.weight],
    ['mean', args.mean],
    ['rstd', args.rstd],
  ] as const) {
    if (overlaps(t, args.dinp)) throw new Error(`${label}: dinp must not overlap ${name}`);
    if (overlaps(t, args.scratch)) throw new Error(`${label}: scratch must not overlap ${name}`);
  }
  const { rowsPerChunk, chunks } = columnChunking(N);
  const bOffset = alignElements(chunks * C);
  const inputs = [args.dout, args.inp, args.weight, args.mean, args.rstd];
  const params = [{ u: N }, { u: C }, { u: rowsPerChunk }, { u: bOffset }];
  const serial = args.serial ?? isSoftwareAdapter(ctx);
  const dinp = prepareDispatch(
    ctx,
    {
      name: 'layernorm_backward',
      source: layernormBackwardSource,
      entryPoint: serial ? 'dinp_serial' : 'dinp',
      constants: { ACCUMULATE: args.accumulate ? 1 : 0 },
    },
    [...inputs, args.dinp],
    params,
    linearGrid(ctx, ceilDiv(N, serial ? SERIAL_ROWS_PER_WG : ROWS_PER_WG)),
    `${label}.dinp`,
  );
  const partials = prepareDispatch(
    ctx,
    { name: 'layernorm_backward', source: layernormBackwardSource, entryPoint: 'dparams' },
    [...inputs, args.scratch],
    params,
    [ceilDiv(C, 64), chunks, 1],
    `${label}.dparams`,
  );
  const reduce = (parts: TensorRef, out: TensorRef, name: string): Dispatch =>
    prepareDispatch(
      ctx,
      {
        name: 'sum_slices',
        source: sumSlicesSource,
        constants: { HAS_BIAS: 0, ACCUMULATE: args.accumulateParams ? 1 : 0 },
      },
      [parts, slice(out, 0, C), dummyTensor(ctx)],
      [{ u: C }, { u: chunks }, { u: C }],
      [ceilDiv(C, 256), 1, 1],
      `${label}.${name}`,
    );
  return [
    dinp,
    partials,
    reduce(slice(args.scratch, 0, chunks * C), args.dweight, 'dweight'),
    reduce(slice(args.scratch, bOffset, chunks * C), args.dbias, 'dbias'),
  ];
}
