import geluBackwardSource from '../../../shaders/gelu_backward.wgsl?raw';
import geluForwardSource from '../../../shaders/gelu_forward.wgsl?raw';
import { dummyTensor, type GpuContext } from '../context';
import { ceilDiv, type Dispatch, linearGrid, prepareDispatch } from '../dispatch';
import { overlaps, sameTensor, type TensorRef } from '../tensor';

export interface GeluForwardArgs {
  /** [n] */
  x: TensorRef;
  /** [n], overwritten with gelu(x). Must not overlap x. */
  out: TensorRef;
  n: number;
  label?: string;
}

export interface GeluBackwardArgs {
  /** [n] the forward input. Must not overlap dx. */
  x: TensorRef;
  /** [n] upstream gradient. */
  dout: TensorRef;
  /** [n], overwritten with gelu'(x)·dout. May be exactly `dout` (in place); otherwise must not overlap it. */
  dx: TensorRef;
  n: number;
  label?: string;
}

function checkN(label: string, n: number, tensors: [string, TensorRef][]): void {
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${label}: n must be a positive integer, got ${n}`);
  for (const [name, t] of tensors) {
    if (t.length < n) throw new Error(`${label}: ${name} has ${t.length} elements, needs ${n}`);
  }
}

/** Prepares out = gelu(x) (tanh approximation): one dispatch. */
export function prepareGeluForward(ctx: GpuContext, args: GeluForwardArgs): Dispatch[] {
  const { n, label = 'gelu_forward' } = args;
  checkN(label, n, [
    ['x', args.x],
    ['out', args.out],
  ]);
  if (overlaps(args.x, args.out)) throw new Error(`${label}: out must not overlap x`);
  return [
    prepareDispatch(
      ctx,
      { name: 'gelu_forward', source: geluForwardSource },
      [args.x, args.out],
      [{ u: n }],
      linearGrid(ctx, ceilDiv(n, 256)),
      label,
    ),
  ];
}

/** Prepares dx = gelu'(x)·dout: one dispatch; in place (IN_PLACE override) when `dx` is the same view as `dout`. */
export function prepareGeluBackward(ctx: GpuContext, args: GeluBackwardArgs): Dispatch[] {
  const { n, label = 'gelu_backward' } = args;
  checkN(label, n, [
    ['x', args.x],
    ['dout', args.dout],
    ['dx', args.dx],
  ]);
  const inPlace = sameTensor(args.dout, args.dx);
  if (!inPlace && overlaps(args.dout, args.dx))
    throw new Error(`${label}: dx overlaps dout without being the same view`);
  if (overlaps(args.x, args.dx)) throw new Error(`${label}: dx must not overlap x`);
  return [
    prepareDispatch(
      ctx,
      { name: 'gelu_backward', source: geluBackwardSource, constants: { IN_PLACE: inPlace ? 1 : 0 } },
      [args.x, args.dx, inPlace ? dummyTensor(ctx) : args.dout],
      [{ u: n }],
      linearGrid(ctx, ceilDiv(n, 256)),
      label,
    ),
  ];
}
