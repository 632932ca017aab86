import backwardSource from '../../../shaders/attention_backward.wgsl?raw';
import decodeSource from '../../../shaders/attention_decode.wgsl?raw';
import forwardSource from '../../../shaders/attention_forward.wgsl?raw';
import { type GpuContext, isSoftwareAdapter } from '../context';
import { ceilDiv, type Dispatch, prepareDispatch } from '../dispatch';
import { reductionKernel, subgroupReductionsFor } from '../subgroups';
import { createStorage, type TensorRef, whole } from '../tensor';

/**
 * Longest sequence: the decode kernel holds one split's score row (up to Tmax keys, with one split) in workgroup
 * memory. The tiled training kernels have no such bound; they are held to the same one (and tested at it).
 */
export const ATTENTION_MAX_T = 1024;
/** Largest head size (the tiled kernels' per-thread accumulators and tiles are sized for it). */
export const ATTENTION_MAX_HS = 128;

/**
 * Workgroup memory the tiled kernels may use: WebGPU's default maxComputeWorkgroupStorageSize is 16 KiB. 15 KiB (14
 * before the rows were padded against bank conflicts) keeps every tile of the presets' head sizes (16 and 32) as it was.
 */
export const ATTENTION_WORKGROUP_BUDGET_BYTES = 15 * 1024;

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

function pow2AtLeast(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * Tile sizes of the tiled kernels for head size `hs` and sequence length T, and their workgroup memory in bytes.
 * A workgroup (64 threads) owns `rows` rows (query rows in the forward and dq, keys in dkdv): a power of two ≤ 64,
 * ≤ T rounded up to a power of two, with rows·hs ≤ 1024 so each thread accumulates at most 16 dims of one row.
 * The streamed tile (`forwardKeys` keys in the forward, `backwardStream` rows in the backward) is the largest power
 * of two ≤ rows whose memory fits ATTENTION_WORKGROUP_BUDGET_BYTES, rows padded to an odd stride as the kernels pad
 * them (x | 1: hsp = hs | 1, ktp = KT | 1, stp = ST | 1; against bank conflicts, see the shaders' headers):
 *   forward  (QT = rows, KT = forwardKeys):   q, k tiles + v tile + scores = QT·hsp + KT·hsp + KT·hs + QT·ktp floats;
 *   backward (RT = rows, ST = backwardStream): 2·RT·hsp + 2·ST·hsp + 2·RT·stp + 128 floats (dkdv, the larger kernel).
 */
export function attentionTiles(hs: number, T: number) {
  const tRows = pow2AtLeast(T);
  const rows = Math.min(64, 1024 / pow2AtLeast(hs), tRows);
  const hsp = hs | 1;
  const forwardFloats = (kt: number) => rows * hsp + kt * hsp + kt * hs + rows * (kt | 1);
  const backwardFloats = (st: number) => 2 * rows * hsp + 2 * st * hsp + 2 * rows * (st | 1) + 128;
  const largest = (floats: (n: number) => number) => {
    let n = rows;
    while (n > 1 && floats(n) * 4 > ATTENTION_WORKGROUP_BUDGET_BYTES) n /= 2;
    return n;
  };
  const forwardKeys = largest(forwardFloats);
  const backwardStream = largest(backwardFloats);
  return {
    rows,
    forwardKeys,
    backwardStream,
    forwardBytes: forwardFloats(forwardKeys) * 4,
    backwardBytes: backwardFloats(backwardStream) * 4,
  };
}

function checkWorkgroupMemory(ctx: GpuContext, label: string, bytes: number): void {
  const limit = ctx.device.limits.maxComputeWorkgroupStorageSize;
  if (bytes > limit) throw new Error(`${label}: needs ${bytes} bytes of workgroup memory, the device allows ${limit}`);
}

function params(s: AttentionShape, hs: number) {
  return [{ u: s.T }, { u: s.C }, { u: s.H }, { f: 1 / Math.sqrt(hs) }];
}

export interface AttentionForwardArgs extends AttentionShape {
  /** [B·T, 3C] (read). */
  qkv: TensorRef;
  /** [B·T, C] (overwritten). */
  out: TensorRef;
  /** [B, H, T] log-sum-exp of each query row's scaled scores (overwritten); saved for the backward. */
  lse: TensorRef;
  label?: string;
}

/** out, lse ← attention(qkv). One dispatch: (ceil(T / rows), B·H) workgroups of 64 threads, tiled over keys. */
export function prepareAttentionForward(ctx: GpuContext, args: AttentionForwardArgs): Dispatch[] {
  const label = args.label ?? 'attention_forward';
  const hs = checkShape(label, args);
  const { B, T, C, H } = args;
  need(label, 'qkv', args.qkv, B * T * 3 * C);
  need(label, 'out', args.out, B * T * C);
  need(label, 'lse', args.lse, B * H * T);
  const tiles = attentionTiles(hs, T);
  checkWorkgroupMemory(ctx, label, tiles.forwardBytes);
  return [
    prepareDispatch(
      ctx,
      {
        name: 'attention_forward',
        source: forwardSource,
        constants: { HS: hs, QT: tiles.rows, KT: tiles.forwardKeys },
      },
      [args.qkv, args.out, args.lse],
      params(args, hs),
      [ceilDiv(T, tiles.rows), B * H, 1],
      label,
    ),
  ];
}

export interface AttentionBackwardArgs extends AttentionShape {
  /** [B·T, C] (read). */
  dout: TensorRef;
  /** [B·T, 3C] the forward's input (read). */
  qkv: TensorRef;
  /** [B·T, C] the forward's output (read). */
  out: TensorRef;
  /** [B, H, T] the forward's log-sum-exp (read). */
  lse: TensorRef;
  /** [B·T, 3C] (overwritten, every element). */
  dqkv: TensorRef;
  label?: string;
}

/**
 * dqkv ← ∂(Σ dout·out)/∂qkv. Two dispatches, each (ceil(T / rows), B·H) workgroups: dq (per query tile) and dkdv
 * (per key tile); they write disjoint thirds of dqkv, no atomics.
 */
export function prepareAttentionBackward(ctx: GpuContext, args: AttentionBackwardArgs): Dispatch[] {
  const label = args.label ?? 'attention_backward';
  const hs = checkShape(label, args);
  const { B, T, C, H } = args;
  need(label, 'dout', args.dout, B * T * C);
  need(label, 'qkv', args.qkv, B * T * 3 * C);
  need(label, 'out', args.out, B * T * C);
  need(label, 'lse', args.lse, B * H * T);
  need(label, 'dqkv', args.dqkv, B * T * 3 * C);
  const tiles = attentionTiles(hs, T);
  checkWorkgroupMemory(ctx, label, tiles.backwardBytes);
  const tensors = [args.dout, args.qkv, args.out, args.lse, args.dqkv];
  const constants = { HS: hs, RT: tiles.rows, ST: tiles.backwardStream };
  return ['dq', 'dkdv'].map((entryPoint) =>
    prepareDispatch(
      ctx,
      { name: 'attention_backward', source: backwardSource, entryPoint, constants },
      tensors,
      params(args, hs),
      [ceilDiv(T, tiles.rows), B * H, 1],
      `${label}.${entryPoint}`,
    ),
  );
}

/** Invocations per workgroup of attention_decode.wgsl's `serial` entry point (SERIAL_WG). */
const DECODE_SERIAL_WORKGROUP = 4;

/** Workgroups the split decode aims for (B·H·splits) on a GPU: enough to fill a large one. */
export const DECODE_TARGET_WORKGROUPS = 512;
/** Fewest keys a decode split covers when the cache is split (smaller chunks cost more than they spread). */
export const DECODE_MIN_CHUNK_KEYS = 32;

/**
 * How attention_decode.wgsl splits a cache of Tmax positions for B rows × H heads: `splits` workgroups per (row, head),
 * split s covering keys [s·chunkKeys, (s+1)·chunkKeys) ∩ [0, pos]. `splits` is the fewest that give B·H·splits ≥
 * targetWorkgroups, held to chunks of at least DECODE_MIN_CHUNK_KEYS keys (so 1 when B·H is already large or the cache
 * is short); `requestedSplits` overrides it. chunkKeys = ⌈Tmax / splits⌉, and splits is then recomputed as
 * ⌈Tmax / chunkKeys⌉ so no split lies wholly past Tmax − 1.
 */
export function decodeSplits(
  B: number,
  H: number,
  Tmax: number,
  targetWorkgroups = DECODE_TARGET_WORKGROUPS,
  requestedSplits?: number,
) {
  let splits = requestedSplits;
  if (splits === undefined) {
    const wanted = Math.ceil(targetWorkgroups / (B * H));
    splits = Math.max(1, Math.min(wanted, Math.floor(Tmax / DECODE_MIN_CHUNK_KEYS)));
  } else if (!Number.isInteger(splits) || splits < 1 || splits > Tmax || splits > 65535) {
    throw new Error(`attention_decode: splits must be an integer in [1, min(Tmax = ${Tmax}, 65535)], got ${splits}`);
  }
  const chunkKeys = Math.ceil(Tmax / splits);
  return { splits: Math.ceil(Tmax / chunkKeys), chunkKeys };
}

/**
 * Scratch floats (`AttentionDecodeArgs.partials`) the decode attention of any number of rows up to B needs with its
 * default splits: a generator that runs steps over R ≤ B rows can hold one buffer for all of them.
 */
export function attentionDecodePartialFloats(ctx: GpuContext, B: number, H: number, Tmax: number, hs: number): number {
  return decodePartialFloats(B, H, Tmax, hs, decodeTargetWorkgroups(ctx));
}

/** Workgroups the decode attention splits the cache to fill: one split per (row, head) on a software adapter. */
function decodeTargetWorkgroups(ctx: GpuContext): number {
  return isSoftwareAdapter(ctx) ? 1 : DECODE_TARGET_WORKGROUPS;
}

/** attentionDecodePartialFloats for a target number of workgroups (1 on a software adapter). */
export function decodePartialFloats(B: number, H: number, Tmax: number, hs: number, target: number): number {
  let most = 1;
  for (let rows = 1; rows <= B; rows++) {
    most = Math.max(most, splitScratchFloats(rows, H, decodeSplits(rows, H, Tmax, target).splits, hs));
  }
  return most;
}

/**
 * Scratch floats of the decode attention's splits: (m, l, hs accumulators) per (row, head, split); 1 (a binding's
 * least) with one split, which needs none.
 */
function splitScratchFloats(B: number, H: number, splits: number, hs: number): number {
  return splits > 1 ? B * H * splits * (hs + 2) : 1;
}

export interface AttentionDecodeArgs {
  B: number;
  C: number;
  H: number;
  /** Cache capacity in positions. */
  Tmax: number;
  /** [B, 3C] c_attn output of the current token (read; q is channels [0, C)). */
  qkv: TensorRef;
  /** [B, H, Tmax, hs] this layer's key cache (position pos written by the partial dispatch, from qkv). */
  kCache: TensorRef;
  /** [B, H, Tmax, hs] this layer's value cache. */
  vCache: TensorRef;
  /** [B, C] attention output for the current token (overwritten). */
  out: TensorRef;
  /** [1] u32: the current position pos (read; advanced by sample_tokens' advance_step). */
  step: TensorRef;
  /**
   * Splits of the cache per (row, head); 1 = one workgroup per (row, head). Default: decodeSplits(B, H, Tmax) on a GPU,
   * 1 on a software adapter (isSoftwareAdapter).
   */
  splits?: number;
  /**
   * Scratch of ≥ B·H·splits·(hs + 2) floats for the splits' partial results (overwritten every step; may be shared by
   * layers recorded in order). When absent the op creates its own small buffer, held by its dispatches' bind groups
   * (outside any BufferPool's accounting).
   */
  partials?: TensorRef;
  /**
   * Reduce with the subgroup form of lib/reduce.wgsl (src/gpu/subgroups.ts). Default: whenever the context offers
   * subgroup reductions; true where it does not is an error.
   */
  subgroups?: boolean;
  /**
   * The `serial` entry point instead: one invocation per (row, head), no barrier (with one split only). Default: on a
   * software adapter (isSoftwareAdapter), where a workgroup's invocations run as fibres and every barrier costs; a GPU
   * keeps `partial`, whose 64 threads a (row, head) and splits of the cache fill it.
   */
  serial?: boolean;
  label?: string;
}

/**
 * One layer's decode attention: [partial, combine] ([partial] with one split, [serial] on a software adapter); the
 * first dispatch also appends the token's k and v to the caches. Every dispatch reads pos from `step` at execution
 * time, so the prepared dispatches are reused for every generation step.
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
  const serial = args.serial ?? isSoftwareAdapter(ctx);
  if (serial && (args.splits ?? 1) !== 1) {
    throw new Error(`${label}: the serial form takes one split, got splits = ${args.splits}`);
  }
  const { splits, chunkKeys } = decodeSplits(B, H, Tmax, decodeTargetWorkgroups(ctx), serial ? 1 : args.splits);
  const partialFloats = splitScratchFloats(B, H, splits, hs);
  const partials = args.partials ?? whole(createStorage(ctx.device, partialFloats, `${label}.partials`));
  need(label, 'partials', partials, partialFloats);
  const tensors = [args.qkv, args.kCache, args.vCache, args.out, args.step, partials];
  const uniform = [
    { u: B },
    { u: C },
    { u: H },
    { u: hs },
    { u: Tmax },
    { f: 1 / Math.sqrt(hs) },
    { u: splits },
    { u: chunkKeys },
  ];
  const kernel = reductionKernel('attention_decode', decodeSource, subgroupReductionsFor(ctx, args.subgroups, label));
  const stage = (entryPoint: string, workgroups: [number, number, number]) =>
    prepareDispatch(ctx, { ...kernel, entryPoint }, tensors, uniform, workgroups, `${label}.${entryPoint}`);
  if (serial) return [stage('serial', [ceilDiv(B * H, DECODE_SERIAL_WORKGROUP), 1, 1])];
  const dispatches = [stage('partial', [splits, B * H, 1])];
  if (splits > 1) dispatches.push(stage('combine', [B * H, 1, 1]));
  return dispatches;
}
