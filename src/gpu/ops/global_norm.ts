import globalNormSource from '../../../shaders/global_norm.wgsl?raw';
import { type GpuContext, isSoftwareAdapter } from '../context';
import { ceilDiv, type Dispatch, prepareDispatch } from '../dispatch';
import { overlaps, type TensorRef } from '../tensor';

/** Stage 1 uses at most this many workgroups (a few per SM on a large GPU); each grid-strides over the buffer. */
const MAX_PARTIALS = 1024;

/**
 * Stage 1's workgroups on a software adapter (isSoftwareAdapter): each workgroup's tree costs eight barriers, a fibre
 * switch of 256 threads each there, so fewer, longer grid strides win (a tiny model's 456 workgroups took 0.35 s of
 * a 2.5 s step on SwiftShader).
 */
export const SOFTWARE_PARTIALS = 32;

/** Number of stage-1 partial sums (= scratch elements, the most any adapter uses) for n gradient elements. */
export function globalNormScratchElements(n: number): number {
  return Math.max(1, Math.min(MAX_PARTIALS, ceilDiv(n, 256)));
}

/** Stage-1 partial sums on this adapter: globalNormScratchElements(n), or at most SOFTWARE_PARTIALS on a CPU one. */
export function globalNormPartials(ctx: GpuContext, n: number): number {
  const full = globalNormScratchElements(n);
  return isSoftwareAdapter(ctx) ? Math.min(SOFTWARE_PARTIALS, full) : full;
}

export interface GlobalNormArgs {
  /** [n] all gradients in one flat buffer (padding between tensors must be zero). */
  grads: TensorRef;
  /** ≥ globalNormScratchElements(n) elements, clobbered. */
  scratch: TensorRef;
  /** [2], overwritten with [norm, clipScale]; adamw.wgsl reads the scale from element 1. */
  out: TensorRef;
  n: number;
  /** Clip threshold; ≤ 0 disables clipping (scale 1). Fixed at prepare time. */
  maxNorm: number;
  /** Stage-1 workgroups, 1 ≤ partials ≤ globalNormScratchElements(n); default globalNormPartials(ctx, n). */
  partials?: number;
  label?: string;
}

/** Prepares norm = √Σ g² and the clip scale: two dispatches (partial sums, then one-workgroup finish). */
export function prepareGlobalNorm(ctx: GpuContext, args: GlobalNormArgs): Dispatch[] {
  const { n, maxNorm, label = 'global_norm' } = args;
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${label}: n must be a positive integer, got ${n}`);
  if (!Number.isFinite(maxNorm)) throw new Error(`${label}: maxNorm must be finite, got ${maxNorm}`);
  const parts = args.partials ?? globalNormPartials(ctx, n);
  if (!Number.isInteger(parts) || parts < 1 || parts > globalNormScratchElements(n))
    throw new Error(`${label}: partials must be an integer in [1, ${globalNormScratchElements(n)}], got ${parts}`);
  if (args.grads.length < n) throw new Error(`${label}: grads has ${args.grads.length} elements, needs ${n}`);
  if (args.scratch.length < parts)
    throw new Error(`${label}: scratch has ${args.scratch.length} elements, needs ${parts}`);
  if (args.out.length < 2) throw new Error(`${label}: out has ${args.out.length} elements, needs 2`);
  if (overlaps(args.scratch, args.grads)) throw new Error(`${label}: scratch must not overlap grads`);
  if (overlaps(args.out, args.scratch)) throw new Error(`${label}: out must not overlap scratch`);
  const params = [{ u: n }, { u: parts }, { f: maxNorm }];
  return [
    prepareDispatch(
      ctx,
      { name: 'global_norm', source: globalNormSource, entryPoint: 'partials' },
      [args.grads, args.scratch],
      params,
      [parts, 1, 1],
      `${label}.partials`,
    ),
    prepareDispatch(
      ctx,
      { name: 'global_norm', source: globalNormSource, entryPoint: 'finish' },
      [args.scratch, args.out],
      params,
      [1, 1, 1],
      `${label}.finish`,
    ),
  ];
}
