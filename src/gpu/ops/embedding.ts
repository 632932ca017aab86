import embeddingBackwardSource from '../../../shaders/embedding_backward.wgsl?raw';
import embeddingForwardSource from '../../../shaders/embedding_forward.wgsl?raw';
import { type GpuContext, isSoftwareAdapter } from '../context';
import { ceilDiv, type Dispatch, linearGrid, prepareDispatch } from '../dispatch';
import { overlaps, type TensorRef } from '../tensor';

export interface EmbeddingForwardArgs {
  /** [B·T] i32 token ids, validated in [0, V) on the CPU before upload. */
  tokens: TensorRef;
  /** [V, C] */
  wte: TensorRef;
  /** [Tmax, C], Tmax ≥ T */
  wpe: TensorRef;
  /** [B·T, C], overwritten. */
  out: TensorRef;
  B: number;
  T: number;
  C: number;
  label?: string;
}

export interface EmbeddingBackwardArgs {
  /** [B·T, C] */
  dout: TensorRef;
  /** [V+1] u32, from buildTokenIndex (src/cpu/embedding.ts) for this batch. */
  tokenOffsets: TensorRef;
  /** [B·T] u32, from buildTokenIndex for this batch. */
  positionsByToken: TensorRef;
  /** [V, C], overwritten (absent tokens' rows become 0). */
  dwte: TensorRef;
  /** [Tmax, C], overwritten (rows ≥ T become 0). */
  dwpe: TensorRef;
  B: number;
  T: number;
  C: number;
  V: number;
  Tmax: number;
  /** Workgroup shape; default EMBEDDING_BACKWARD_CPU on a software adapter, else EMBEDDING_BACKWARD_GPU. */
  workgroup?: EmbeddingBackwardWorkgroup;
  label?: string;
}

function positive(label: string, dims: Record<string, number>): void {
  for (const [name, v] of Object.entries(dims)) {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${label}: ${name} must be a positive integer, got ${v}`);
  }
}

function need(label: string, name: string, t: TensorRef, n: number): void {
  if (t.length < n) throw new Error(`${label}: ${name} has ${t.length} elements, needs ${n}`);
}

/** Prepares out = wte[tokens] + wpe[t]: one dispatch. wte's row count is not needed (ids are trusted). */
export function prepareEmbeddingForward(ctx: GpuContext, args: EmbeddingForwardArgs): Dispatch[] {
  const { B, T, C, label = 'embedding_forward' } = args;
  positive(label, { B, T, C });
  need(label, 'tokens', args.tokens, B * T);
  need(label, 'wpe', args.wpe, T * C);
  need(label, 'wte', args.wte, C);
  need(label, 'out', args.out, B * T * C);
  for (const [name, t] of [
    ['tokens', args.tokens],
    ['wte', args.wte],
    ['wpe', args.wpe],
  ] as const) {
    if (overlaps(t, args.out)) throw new Error(`${label}: out must not overlap ${name}`);
  }
  const n = B * T * C;
  return [
    prepareDispatch(
      ctx,
      { name: 'embedding_forward', source: embeddingForwardSource },
      [args.tokens, args.wte, args.wpe, args.out],
      [{ u: n }, { u: T }, { u: C }],
      linearGrid(ctx, ceilDiv(n, 256)),
      label,
    ),
  ];
}

/** embedding_backward.wgsl's workgroup: COLS columns × LANES lanes (see the shader). */
export interface EmbeddingBackwardWorkgroup {
  COLS: number;
  LANES: number;
}
/** On a GPU: 8 columns (one memory sector) × 32 lanes for long buckets. */
export const EMBEDDING_BACKWARD_GPU: EmbeddingBackwardWorkgroup = { COLS: 8, LANES: 32 };
/** On a software adapter (isSoftwareAdapter): 64 columns × 4 lanes, an eighth of the workgroups at C ≤ 64. */
export const EMBEDDING_BACKWARD_CPU: EmbeddingBackwardWorkgroup = { COLS: 64, LANES: 4 };

/** Prepares dwte (bucketed by the CSR token index) and dwpe, both overwritten: one dispatch. */
export function prepareEmbeddingBackward(ctx: GpuContext, args: EmbeddingBackwardArgs): Dispatch[] {
  const { B, T, C, V, Tmax, label = 'embedding_backward' } = args;
  positive(label, { B, T, C, V, Tmax });
  if (Tmax < T) throw new Error(`${label}: Tmax ${Tmax} < T ${T}`);
  need(label, 'dout', args.dout, B * T * C);
  need(label, 'tokenOffsets', args.tokenOffsets, V + 1);
  need(label, 'positionsByToken', args.positionsByToken, B * T);
  need(label, 'dwte', args.dwte, V * C);
  need(label, 'dwpe', args.dwpe, Tmax * C);
  const inputs = [
    ['dout', args.dout],
    ['tokenOffsets', args.tokenOffsets],
    ['positionsByToken', args.positionsByToken],
  ] as const;
  for (const [name, t] of inputs) {
    if (overlaps(t, args.dwte)) throw new Error(`${label}: dwte must not overlap ${name}`);
    if (overlaps(t, args.dwpe)) throw new Error(`${label}: dwpe must not overlap ${name}`);
  }
  if (overlaps(args.dwte, args.dwpe)) throw new Error(`${label}: dwte must not overlap dwpe`);
  const shape = args.workgroup ?? (isSoftwareAdapter(ctx) ? EMBEDDING_BACKWARD_CPU : EMBEDDING_BACKWARD_GPU);
  return [
    prepareDispatch(
      ctx,
      { name: 'embedding_backward', source: embeddingBackwardSource, constants: { ...shape } },
      [args.dout, args.tokenOffsets, args.positionsByToken, args.dwte, args.dwpe],
      [{ u: B }, { u: T }, { u: C }, { u: V }, { u: Tmax }],
      [ceilDiv(C, shape.COLS), V + Tmax, 1],
      label,
    ),
  ];
}
