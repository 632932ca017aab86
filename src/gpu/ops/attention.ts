import backwardSource from '../../../shaders/attention_backward.wgsl?raw';
import decodeSource from '../../../shaders/attention_decode.wgsl?raw';
import forwardSource from '../../../shaders/attention_forward.wgsl?raw';
import type { GpuContext } from '../context';
import { ceilDiv, type Dispatch, prepareDispatch } from '../dispatch';
import type { TensorRef } from '../tensor';

/** Longest sequence the kernels hold in workgroup memory (a score row / att column). */
export const ATTENTION_MAX_T = 1024;
/** Largest head size (the query row lives in workgroup memory). */
export const ATTENTION_MAX_HS = 128;

export interface AttentionShape {
  B: number;
  T: number;
  C: number;
  H: number;
}

function checkShape(label: string, s: AttentionShape, tName = 'T'): number {
  for (const [name, v] of [
    ['B', s.B],
    [tName, s.T],
    ['C', s.C],
    ['H', s.H],
  ] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${label}: ${name} must be a positive integer, got ${v}`);
  }
  if (s.C % s.H !== 0) throw new Error(`${label}: C = ${s.C} is not divisible by H = ${s.H}`);
  const hs = s.C / s.H;
  if (hs > ATTENTION_MAX_HS) throw new Error(`${label}: head size ${hs} exceeds ${ATTENTION_MAX_HS}`);
  if (s.T > ATTENTION_MAX_T) throw new Error(`${label}: ${tName} = ${s.T} exceeds ${ATTENTION_MAX_T}`);
  if (s.B * s.H > 65535) throw new Error(`${label}: B·H = ${s.B * s.H} exceeds 65535 workgroups`);
  return hs;
}

function need(label: string, name: string, t: TensorRef, n: number): void {
  if (t.length < n) throw new Error(`${label}: ${name} has ${t.length} elements, needs ${n}`);
}

function params(s: AttentionShape, hs: number) {
  return [{ u: s.B }, { u: s.T }, { u: s.C }, { u: s.H }, { u: hs }, { f: 1 / Math.sqrt(hs) }];
}

export interface AttentionForwardArgs extends AttentionShape {
  /** [B·T, 3C] (read). */
  qkv: TensorRef;
  /** [B·T, C] (overwritten). */
  out: TensorRef;
  /** [B, H, T, T] softmax probabilities (overwritten, zeros above the diagonal); saved for the backward. */
  att: TensorRef;
  label?: string;
}

/** out, att ← attention(qkv). One dispatch: (T, B·H) workgroups of 64 threads. */
export function prepareAttentionForward(ctx: GpuContext, args: AttentionForwardArgs): Dispatch[] {
  const label = args.label ?? 'attention_forward';
  const hs = checkShape(label, args);
  const { B, T, C, H } = args;
  need(label, 'qkv', args.qkv, B * T * 3 * C);
  need(label, 'out', args.out, B * T * C);
  need(label, 'att', args.att, B * H * T * T);
  return [
    prepareDispatch(
      ctx,
      { name: 'attention_forward', source: forwardSource },
      [args.qkv, args.out, args.att],
      params(args, hs),
      [T, B * H, 1],
      label,
    ),
  ];
}

export interface AttentionBackwardArgs extends AttentionShape {
  /** [B·T, C] (read). */
  dout: TensorRef;
  /** [B·T, 3C] the forward's input (read). */
  qkv: TensorRef;
  /**
   * [B, H, T, T] the forward's probabilities. OVERWRITTEN in place with the score gradients
   * dS = scale·P⊙(dP − rowsum(P⊙dP)) (0 above the diagonal); it no longer holds P afterwards.
   */
  att: TensorRef;
  /** [B·T, 3C] (overwritten, every element). */
  dqkv: TensorRef;
  label?: string;
}

/** dqkv ← ∂(Σ dout·out)/∂qkv. Three dispatches (dv, dscores+dq, dk), each (T, B·H) workgroups. */
export function prepareAttentionBackward(ctx: GpuContext, args: AttentionBackwardArgs): Dispatch[] {
  const label = args.label ?? 'attention_backward';
  const hs = checkShape(label, args);
  const { B, T, C, H } = args;
  need(label, 'dout', args.dout, B * T * C);
  need(label, 'qkv', args.qkv, B * T * 3 * C);
  need(label, 'att', args.att, B * H * T * T);
  need(label, 'dqkv', args.dqkv, B * T * 3 * C);
  const tensors = [args.dout, args.qkv, args.att, args.dqkv];
  const phases = ['dv', 'dscores_dq', 'dk'];
  return phases.map((name, phase) =>
    prepareDispatch(
      ctx,
      { name: 'attention_backward', source: backwardSource, constants: { PHASE: phase } },
      tensors,
      params(args, hs),
      [T, B * H, 1],
      `${label}.${name}`,
    ),
  );
}

export interface AttentionDecodeArgs {
  B: number;
  C: number;
  H: number;
  /** Cache capacity in positions. */
  Tmax: number;
  /** [B, 3C] c_attn output of the current token (read; q is channels [0, C)). */
  qkv: TensorRef;
  /** [B, H, Tmax, hs] this layer's key cache (position pos written by append_kv). */
  kCache: TensorRef;
  /** [B, H, Tmax, hs] this layer's value cache. */
  vCache: TensorRef;
  /** [B, C] attention output for the current token (overwritten). */
  out: TensorRef;
  /** [1] u32: the current position pos (read; advanced by sample_tokens' advance_step). */
  step: TensorRef;
  label?: string;
}

/**
 * One layer's decode attention: [append_kv, attend]. Both read pos from `step` at execution time, so the prepared
 * dispatches are reused for every generation step.
 */
export function prepareAttentionDecode(ctx: GpuContext, args: AttentionDecodeArgs): Dispatch[] {
  const label = args.label ?? 'attention_decode';
  const { B, C, H, Tmax } = args;
  const hs = checkShape(label, { B, T: Tmax, C, H }, 'Tmax');
  need(label, 'qkv', args.qkv, B * 3 * C);
  need(label, 'kCache', args.kCache, B * C * Tmax);
  need(label, 'vCache', args.vCache, B * C * Tmax);
  need(label, 'out', args.out, B * C);
  need(label, 'step', args.step, 1);
  const tensors = [args.qkv, args.kCache, args.vCache, args.out, args.step];
  const uniform = [{ u: B }, { u: C }, { u: H }, { u: hs }, { u: Tmax }, { f: 1 / Math.sqrt(hs) }];
  return [
    prepareDispatch(
      ctx,
      { name: 'attention_decode', source: decodeSource, entryPoint: 'append_kv' },
      tensors,
      uniform,
      [ceilDiv(B * C, 64), 1, 1],
      `${label}.append_kv`,
    ),
    prepareDispatch(
      ctx,
      { name: 'attention_decode', source: decodeSource, entryPoint: 'attend' },
      tensors,
      uniform,
      [B * H, 1, 1],
      `${label}.attend`,
    ),
  ];
}
