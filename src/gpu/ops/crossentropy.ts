import source from '../../../shaders/crossentropy_forward_backward.wgsl?raw';
import { dummyTensor, type GpuContext } from '../context';
import { ceilDiv, type Dispatch, prepareDispatch } from '../dispatch';
import { reductionKernel, subgroupReductionsFor } from '../subgroups';
import type { TensorRef } from '../tensor';

export interface CrossEntropyArgs {
  /** Rows. */
  N: number;
  /** Vocabulary size. */
  V: number;
  /** [N, V] logits (read) — OVERWRITTEN in place with dlogits = weights[i]·(softmax − onehot); 0 for ignored rows. */
  logits: TensorRef;
  /** [N] i32 targets; −1 ignores the row (loss 0, dlogits 0). */
  targets: TensorRef;
  /** [N] f32 per-row weights (normalisation/advantages; any sign). */
  weights: TensorRef;
  /** [N] unweighted per-row losses −log softmax[target] (overwritten; 0 for ignored rows). */
  losses: TensorRef;
  /** [1] when given, a second dispatch writes Σ weights·losses here (the step's loss; read back 4 bytes). */
  total?: TensorRef;
  /**
   * Reduce with the subgroup form of lib/reduce.wgsl (src/gpu/subgroups.ts). Default: whenever the context offers
   * subgroup reductions; true where it does not is an error.
   */
  subgroups?: boolean;
  label?: string;
}

/** Fused cross-entropy forward+backward: [main] or [main, reduce_loss] when `total` is given. */
export function prepareCrossEntropy(ctx: GpuContext, args: CrossEntropyArgs): Dispatch[] {
  const { N, V, label = 'crossentropy' } = args;
  if (!Number.isInteger(N) || N <= 0) throw new Error(`${label}: N must be a positive integer, got ${N}`);
  if (!Number.isInteger(V) || V <= 0) throw new Error(`${label}: V must be a positive integer, got ${V}`);
  if (args.logits.length < N * V)
    throw new Error(`${label}: logits has ${args.logits.length} elements, needs ${N * V}`);
  for (const [name, t] of [
    ['targets', args.targets],
    ['weights', args.weights],
    ['losses', args.losses],
  ] as const) {
    if (t.length < N) throw new Error(`${label}: ${name} has ${t.length} elements, needs ${N}`);
  }
  if (args.total && args.total.length < 1) throw new Error(`${label}: total needs 1 element`);
  // One workgroup per row; rows beyond the device's per-dimension limit wrap into a 2D grid.
  const rowsX = Math.min(N, ctx.device.limits.maxComputeWorkgroupsPerDimension);
  const tensors = [args.logits, args.targets, args.weights, args.losses, args.total ?? dummyTensor(ctx)];
  const uniform = [{ u: N }, { u: V }, { u: rowsX }];
  const kernel = reductionKernel(
    'crossentropy_forward_backward',
    source,
    subgroupReductionsFor(ctx, args.subgroups, label),
  );
  const dispatches = [prepareDispatch(ctx, kernel, tensors, uniform, [rowsX, ceilDiv(N, rowsX), 1], label)];
  if (args.total) {
    dispatches.push(
      prepareDispatch(
        ctx,
        { ...kernel, entryPoint: 'reduce_loss' },
        tensors,
        uniform,
        [1, 1, 1],
        `${label}.reduce_loss`,
      ),
    );
  }
  return dispatches;
}
