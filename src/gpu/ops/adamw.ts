import adamwSource from '../../../shaders/adamw.wgsl?raw';
import type { AdamWHyper } from '../../cpu/adamw';
import { dummyTensor, type GpuContext } from '../context';
import { ceilDiv, type Dispatch, linearGrid, prepareDispatch } from '../dispatch';
import { overlaps, type TensorRef } from '../tensor';

/** Elements of the hyperparameter tensor: f32 { lr, beta1, beta2, eps, weightDecay, bc1, bc2, unused }. */
export const ADAMW_HYPER_ELEMENTS = 8;

export interface AdamWArgs {
  /** [n] all parameters in one flat layout; updated in place. */
  params: TensorRef;
  /** [n] same layout; read only. */
  grads: TensorRef;
  /** [n] first moment, updated in place (start at 0). */
  m: TensorRef;
  /** [n] second moment, updated in place (start at 0). */
  v: TensorRef;
  /**
   * [ceil(n/32)] u32 bit mask from `packDecayMask`: bit (i & 31) of word (i >> 5) = 1 → decay element i.
   * Omitted: every element decays (CPU `decayMask = null`).
   */
  decayMaskBits?: TensorRef;
  /** [ADAMW_HYPER_ELEMENTS] f32, rewritten every step with `writeAdamWHyper` (the dispatch is prepared once). */
  hyper: TensorRef;
  /** The global_norm output [norm, scale] (≥ 2 elements): grads are multiplied by element 1. Omitted: scale 1. */
  clip?: TensorRef;
  n: number;
  label?: string;
}

/**
 * Packs a per-element decay mask (1 = decay, as the CPU adamwStep takes it) into 32 bits per u32 word.
 * Bit-packing costs 1/8 byte per parameter of extra traffic (vs 28 bytes for p, g, m, v) and keeps the kernel
 * free of range searches.
 */
export function packDecayMask(mask: Uint8Array): Uint32Array {
  const words = new Uint32Array(Math.max(1, ceilDiv(mask.length, 32)));
  for (let i = 0; i < mask.length; i++) {
    const bit = mask[i]!;
    if (bit !== 0 && bit !== 1) throw new Error(`packDecayMask: element ${i} is ${bit}, expected 0 or 1`);
    if (bit) words[i >>> 5]! |= 1 << (i & 31);
  }
  return words;
}

/** The words written to the hyper tensor for step `h.step` (bias corrections computed in f64). */
export function adamwHyperWords(h: AdamWHyper): Float32Array<ArrayBuffer> {
  if (!Number.isInteger(h.step) || h.step < 1) throw new Error(`adamw: step must be an integer ≥ 1, got ${h.step}`);
  return new Float32Array([
    h.lr,
    h.beta1,
    h.beta2,
    h.eps,
    h.weightDecay,
    1 - h.beta1 ** h.step,
    1 - h.beta2 ** h.step,
    0,
  ]);
}

/** Rewrites the hyperparameter tensor (queue.writeBuffer; ordered before any later submit). */
export function writeAdamWHyper(ctx: GpuContext, hyper: TensorRef, h: AdamWHyper): void {
  if (hyper.length < ADAMW_HYPER_ELEMENTS) {
    throw new Error(`adamw: hyper has ${hyper.length} elements, needs ${ADAMW_HYPER_ELEMENTS}`);
  }
  const words = adamwHyperWords(h);
  ctx.device.queue.writeBuffer(hyper.buffer, hyper.offset * 4, words.buffer, words.byteOffset, words.byteLength);
}

/** Prepares one AdamW step over n elements: one dispatch, reusable every step. */
export function prepareAdamW(ctx: GpuContext, args: AdamWArgs): Dispatch[] {
  const { n, label = 'adamw' } = args;
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${label}: n must be a positive integer, got ${n}`);
  const tensors: [string, TensorRef | undefined, number][] = [
    ['params', args.params, n],
    ['grads', args.grads, n],
    ['m', args.m, n],
    ['v', args.v, n],
    ['decayMaskBits', args.decayMaskBits, ceilDiv(n, 32)],
    ['hyper', args.hyper, ADAMW_HYPER_ELEMENTS],
    ['clip', args.clip, 2],
  ];
  for (const [name, t, need] of tensors) {
    if (t && t.length < need) throw new Error(`${label}: ${name} has ${t.length} elements, needs ${need}`);
  }
  for (const [wname, w] of [
    ['params', args.params],
    ['m', args.m],
    ['v', args.v],
  ] as const) {
    for (const [name, t] of tensors) {
      if (t && name !== wname && overlaps(t, w)) throw new Error(`${label}: ${wname} must not overlap ${name}`);
    }
  }
  return [
    prepareDispatch(
      ctx,
      {
        name: 'adamw',
        source: adamwSource,
        constants: { HAS_MASK: args.decayMaskBits ? 1 : 0, HAS_CLIP: args.clip ? 1 : 0 },
      },
      [
        args.params,
        args.grads,
        args.m,
        args.v,
        args.decayMaskBits ?? dummyTensor(ctx),
        args.hyper,
        args.clip ?? dummyTensor(ctx),
      ],
      [{ u: n }],
      linearGrid(ctx, ceilDiv(n, 256)),
      label,
    ),
  ];
}
