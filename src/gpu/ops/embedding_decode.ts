import source from '../../../shaders/embedding_decode.wgsl?raw';
import type { GpuContext } from '../context';
import { ceilDiv, type Dispatch, prepareDispatch } from '../dispatch';
import type { TensorRef } from '../tensor';

export interface EmbeddingDecodeArgs {
  /** [B, Tmax] u32 token history. */
  history: TensorRef;
  /**
   * u32 step buffer: [1] (every row at position step[0]) or decodeStepWords(B) words (row b at step[0] + its offset;
   * src/gpu/ops/decode_step.ts).
   */
  step: TensorRef;
  /** [V, C] */
  wte: TensorRef;
  /** [≥ Tmax, C] */
  wpe: TensorRef;
  /** [B, C], overwritten. */
  out: TensorRef;
  B: number;
  C: number;
  V: number;
  Tmax: number;
  label?: string;
}

export function prepareEmbeddingDecode(ctx: GpuContext, args: EmbeddingDecodeArgs): Dispatch[] {
  const { B, C, V, Tmax, label = 'embedding_decode' } = args;
  for (const [name, v] of Object.entries({ B, C, V, Tmax })) {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${label}: ${name} must be a positive integer, got ${v}`);
  }
  if (args.history.length < B * Tmax)
    throw new Error(`${label}: history has ${args.history.length} elements, needs ${B * Tmax}`);
  if (args.wte.length < V * C) throw new Error(`${label}: wte has ${args.wte.length} elements, needs ${V * C}`);
  if (args.wpe.length < Tmax * C) throw new Error(`${label}: wpe has ${args.wpe.length} elements, needs ${Tmax * C}`);
  if (args.out.length < B * C) throw new Error(`${label}: out has ${args.out.length} elements, needs ${B * C}`);
  return [
    prepareDispatch(
      ctx,
      { name: 'embedding_decode', source },
      [args.history, args.step, args.wte, args.wpe, args.out],
      [{ u: B }, { u: C }, { u: V }, { u: Tmax }],
      [ceilDiv(B * C, 64), 1, 1],
      label,
    ),
  ];
}
