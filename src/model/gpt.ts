/**
 * The GPT on the GPU: parameter and activation buffers, and the forward and backward passes as lists of prepared
 * dispatches (src/gpu/dispatch.ts). Buffers are allocated once for a (batch, sequence length) shape; a training step
 * records the same dispatches every time (see src/train/trainer.ts), so a step allocates nothing and reads nothing
 * back but the loss.
 *
 * Shapes: B sequences × T positions, N = B·T rows, C = dModel, H heads, F = mlpRatio·C, V = vocabSize.
 * The math mirrors src/model/reference.ts line by line; tests/model/gpt.test.ts checks loss and every gradient.
 */
import type { GpuContext } from '../gpu/context';
import type { Dispatch } from '../gpu/dispatch';
import { columnSumScratchElements, prepareAdd, prepareColumnSum } from '../gpu/ops/add';
import { prepareAttentionBackward, prepareAttentionForward } from '../gpu/ops/attention';
import { prepareCrossEntropy } from '../gpu/ops/crossentropy';
import { prepareEmbeddingBackward, prepareEmbeddingForward } from '../gpu/ops/embedding';
import { prepareGeluBackward, prepareGeluForward } from '../gpu/ops/gelu';
import {
  layernormBackwardScratchElements,
  prepareLayernormBackward,
  prepareLayernormForward,
} from '../gpu/ops/layernorm';
import { prepareMatmul } from '../gpu/ops/matmul';
import { createStorage, slice, type TensorRef, whole, writeTensor } from '../gpu/tensor';
import { type ModelConfig, mlpWidth, type SizeLimits } from './config';
import { buildParamLayout, layerParams, type ParamEntry, type ParamLayout, param } from './params';

/** Tracks every buffer a model or trainer allocates, split into what the step must hold and the rest. */
export class BufferPool {
  readonly buffers: { label: string; bytes: number; required: boolean }[] = [];
  constructor(private readonly ctx: GpuContext) {}
  private readonly owned: GPUBuffer[] = [];
  tensor(label: string, elements: number, required: boolean): TensorRef {
    const buffer = createStorage(this.ctx.device, elements, label);
    this.owned.push(buffer);
    this.buffers.push({ label, bytes: buffer.size, required });
    return { ...whole(buffer), length: elements };
  }
  /** Bytes the step must hold: parameters, gradients, AdamW moments, saved activations. */
  get requiredBytes(): number {
    return this.buffers.filter((b) => b.required).reduce((s, b) => s + b.bytes, 0);
  }
  get allocatedBytes(): number {
    return this.buffers.reduce((s, b) => s + b.bytes, 0);
  }
  /** Frees every buffer this pool created. */
  destroy(): void {
    for (const b of this.owned.splice(0)) b.destroy();
  }
  note(label: string, bytes: number, required: boolean): void {
    this.buffers.push({ label, bytes, required });
  }
}

/** Saved activations of one block, all [N, ·] row-major unless noted. */
interface LayerActs {
  /** Block input (the residual stream), [N, C]. Layer 0's is the embedding output. */
  xIn: TensorRef;
  ln1: TensorRef;
  ln1Mean: TensorRef;
  ln1Rstd: TensorRef;
  /** [N, 3C] */
  qkv: TensorRef;
  /** [B, H, T, T] attention probabilities (overwritten by the backward pass). */
  att: TensorRef;
  /** Attention output before c_proj, [N, C]. */
  y: TensorRef;
  /** Residual after attention, [N, C]. */
  x2: TensorRef;
  ln2: TensorRef;
  ln2Mean: TensorRef;
  ln2Rstd: TensorRef;
  /** c_fc output (GELU input), [N, F]. */
  fc: TensorRef;
  /** GELU output, [N, F]. */
  g: TensorRef;
}

export interface BatchInputs {
  /** [N] i32 token ids */
  tokens: TensorRef;
  /** [N] i32 next-token targets, −1 = ignore */
  targets: TensorRef;
  /** [N] f32 per-token loss weights */
  weights: TensorRef;
  /** [V + 1] u32 and [N] u32: positions grouped by token id, for the embedding backward. */
  tokenOffsets: TensorRef;
  positionsByToken: TensorRef;
}

export interface GptPasses {
  B: number;
  T: number;
  inputs: BatchInputs;
  /** [N] −log p(target) per row (0 for ignored rows). */
  tokenLosses: TensorRef;
  /** [1] Σ weights · tokenLosses. */
  loss: TensorRef;
  /** [N, V] logits after `forward`; dlogits after `loss` ran. */
  logits: TensorRef;
  forward: Dispatch[];
  /** Cross-entropy: token losses, the scalar loss and dlogits (in place over logits). */
  lossAndDlogits: Dispatch[];
  backward: Dispatch[];
}

export interface GpuGpt {
  ctx: GpuContext;
  config: ModelConfig;
  layout: ParamLayout;
  /** The parameter arena [layout.totalElements]. */
  params: TensorRef;
  /** The gradient arena, same layout. */
  grads: TensorRef;
  pool: BufferPool;
}

export function createGpuGpt(
  ctx: GpuContext,
  config: ModelConfig,
  initial: Float32Array,
  pool = new BufferPool(ctx),
): GpuGpt {
  const layout = buildParamLayout(config);
  if (initial.length !== layout.totalElements) {
    throw new Error(`initial parameters have ${initial.length} elements, the layout needs ${layout.totalElements}`);
  }
  const params = pool.tensor('params', layout.totalElements, true);
  const grads = pool.tensor('grads', layout.totalElements, true);
  writeTensor(ctx.device.queue, params, initial);
  return { ctx, config, layout, params, grads, pool };
}

/** Largest activation (elements) for batch B × T, to check against device limits before allocating. */
export function largestActivationElements(config: ModelConfig, B: number, T: number): number {
  const N = B * T;
  return Math.max(N * mlpWidth(config), B * config.nHeads * T * T, N * config.vocabSize, N * 3 * config.dModel);
}

export function checkBatchFits(config: ModelConfig, B: number, T: number, limits: SizeLimits): void {
  if (!Number.isInteger(B) || B < 1) throw new RangeError(`batch size must be a positive integer, got ${B}`);
  if (!Number.isInteger(T) || T < 1 || T > config.contextLength) {
    throw new RangeError(`sequence length ${T} must be an integer in [1, contextLength = ${config.contextLength}]`);
  }
  const bytes = largestActivationElements(config, B, T) * 4;
  if (bytes > limits.maxStorageBufferBindingSize) {
    throw new RangeError(
      `batch ${B} × ${T} needs a ${bytes}-byte activation, over the device's maxStorageBufferBindingSize ` +
        `${limits.maxStorageBufferBindingSize}: use a smaller batch`,
    );
  }
}

/** Allocates activations for B × T and prepares the forward, loss and backward dispatches. */
export function prepareGptPasses(model: GpuGpt, B: number, T: number): GptPasses {
  const { ctx, config, layout, pool } = model;
  checkBatchFits(config, B, T, ctx.device.limits);
  const C = config.dModel;
  const F = mlpWidth(config);
  const H = config.nHeads;
  const V = config.vocabSize;
  const N = B * T;
  const P = (e: ParamEntry) => slice(model.params, e.offset, e.length);
  const G = (e: ParamEntry) => slice(model.grads, e.offset, e.length);
  const named = (name: string) => param(layout, name);

  const inputs: BatchInputs = {
    tokens: pool.tensor('tokens', N, false),
    targets: pool.tensor('targets', N, false),
    weights: pool.tensor('weights', N, false),
    tokenOffsets: pool.tensor('tokenOffsets', V + 1, false),
    positionsByToken: pool.tensor('positionsByToken', N, false),
  };
  const layers: LayerActs[] = [];
  let xIn = pool.tensor('x0', N * C, true);
  const x0 = xIn;
  for (let l = 0; l < config.nLayers; l++) {
    const acts: LayerActs = {
      xIn,
      ln1: pool.tensor(`h${l}.ln1`, N * C, true),
      ln1Mean: pool.tensor(`h${l}.ln1Mean`, N, true),
      ln1Rstd: pool.tensor(`h${l}.ln1Rstd`, N, true),
      qkv: pool.tensor(`h${l}.qkv`, N * 3 * C, true),
      att: pool.tensor(`h${l}.att`, B * H * T * T, true),
      y: pool.tensor(`h${l}.y`, N * C, true),
      x2: pool.tensor(`h${l}.x2`, N * C, true),
      ln2: pool.tensor(`h${l}.ln2`, N * C, true),
      ln2Mean: pool.tensor(`h${l}.ln2Mean`, N, true),
      ln2Rstd: pool.tensor(`h${l}.ln2Rstd`, N, true),
      fc: pool.tensor(`h${l}.fc`, N * F, true),
      g: pool.tensor(`h${l}.g`, N * F, true),
    };
    layers.push(acts);
    xIn = pool.tensor(`h${l}.out`, N * C, true);
  }
  const xFinal = xIn;
  const lnf = pool.tensor('lnf', N * C, true);
  const lnfMean = pool.tensor('lnfMean', N, true);
  const lnfRstd = pool.tensor('lnfRstd', N, true);
  const logits = pool.tensor('logits', N * V, true);
  const tokenLosses = pool.tensor('tokenLosses', N, true);
  const loss = pool.tensor('loss', 1, false);

  // Working space reused by every layer (not saved across the step).
  const tmp = pool.tensor('tmp', N * C, false); // c_proj outputs in the forward pass; dx of a LayerNorm input backward
  const dres = pool.tensor('dresidual', N * C, false);
  const dqkv = pool.tensor('dqkv', N * 3 * C, false);
  const dfc = pool.tensor('dfc', N * F, false);
  const scratchElements = Math.max(
    layernormBackwardScratchElements(N, Math.max(C, F)),
    columnSumScratchElements(N, Math.max(3 * C, F)),
    // split-K: up to 8 slices of the largest weight gradient (matmul uses fewer when it fits the shape)
    8 * Math.max(3 * C * C, F * C, V * C),
  );
  const scratch = pool.tensor('scratch', scratchElements, false);

  const forward: Dispatch[] = [];
  forward.push(
    ...prepareEmbeddingForward(ctx, {
      tokens: inputs.tokens,
      wte: P(named('transformer.wte.weight')),
      wpe: P(named('transformer.wpe.weight')),
      out: x0,
      B,
      T,
      C,
    }),
  );
  const linear = (
    x: TensorRef,
    w: ParamEntry,
    b: ParamEntry | null,
    out: TensorRef,
    outDim: number,
    inDim: number,
    label: string,
  ) =>
    prepareMatmul(ctx, {
      a: x,
      b: P(w),
      c: out,
      M: N,
      N: outDim,
      K: inDim,
      transB: true,
      ...(b ? { bias: P(b) } : {}),
      label,
    });
  for (let l = 0; l < config.nLayers; l++) {
    const a = layers[l]!;
    const lp = layerParams(layout, l);
    const next = l + 1 < config.nLayers ? layers[l + 1]!.xIn : xFinal;
    forward.push(
      ...prepareLayernormForward(ctx, {
        inp: a.xIn,
        weight: P(lp.ln1w),
        bias: P(lp.ln1b),
        out: a.ln1,
        mean: a.ln1Mean,
        rstd: a.ln1Rstd,
        N,
        C,
        label: `h${l}.ln1`,
      }),
      ...linear(a.ln1, lp.attnW, lp.attnB, a.qkv, 3 * C, C, `h${l}.c_attn`),
      ...prepareAttentionForward(ctx, { qkv: a.qkv, out: a.y, att: a.att, B, T, C, H }),
      ...linear(a.y, lp.projW, lp.projB, tmp, C, C, `h${l}.c_proj`),
      ...prepareAdd(ctx, { a: a.xIn, b: tmp, out: a.x2, n: N * C }),
      ...prepareLayernormForward(ctx, {
        inp: a.x2,
        weight: P(lp.ln2w),
        bias: P(lp.ln2b),
        out: a.ln2,
        mean: a.ln2Mean,
        rstd: a.ln2Rstd,
        N,
        C,
        label: `h${l}.ln2`,
      }),
      ...linear(a.ln2, lp.fcW, lp.fcB, a.fc, F, C, `h${l}.c_fc`),
      ...prepareGeluForward(ctx, { x: a.fc, out: a.g, n: N * F }),
      ...linear(a.g, lp.fcProjW, lp.fcProjB, tmp, C, F, `h${l}.mlp.c_proj`),
      ...prepareAdd(ctx, { a: a.x2, b: tmp, out: next, n: N * C }),
    );
  }
  forward.push(
    ...prepareLayernormForward(ctx, {
      inp: xFinal,
      weight: P(named('transformer.ln_f.weight')),
      bias: P(named('transformer.ln_f.bias')),
      out: lnf,
      mean: lnfMean,
      rstd: lnfRstd,
      N,
      C,
      label: 'ln_f',
    }),
    ...linear(lnf, named('lm_head.weight'), null, logits, V, C, 'lm_head'),
  );

  const lossAndDlogits = prepareCrossEntropy(ctx, {
    logits,
    targets: inputs.targets,
    weights: inputs.weights,
    losses: tokenLosses,
    total: loss,
    N,
    V,
  });

  // Backward. `dres` holds the gradient of the residual stream; LayerNorm input gradients accumulate into it.
  const backward: Dispatch[] = [];
  /** dW [out, in] = dY[N, out]ᵀ · X[N, in]; db = Σ_rows dY. */
  const linearGrads = (
    dy: TensorRef,
    x: TensorRef,
    w: ParamEntry,
    b: ParamEntry | null,
    outDim: number,
    inDim: number,
    label: string,
  ) => [
    ...prepareMatmul(ctx, {
      a: dy,
      b: x,
      c: G(w),
      M: outDim,
      N: inDim,
      K: N,
      transA: true,
      scratch,
      label: `${label}.dW`,
    }),
    ...(b ? prepareColumnSum(ctx, { x: dy, out: G(b), N, C: outDim, scratch, label: `${label}.db` }) : []),
  ];
  /** dX [N, in] = dY[N, out] · W[out, in]. */
  const linearDx = (dy: TensorRef, w: ParamEntry, dx: TensorRef, outDim: number, inDim: number, label: string) =>
    prepareMatmul(ctx, { a: dy, b: P(w), c: dx, M: N, N: inDim, K: outDim, label: `${label}.dx` });

  backward.push(
    ...linearGrads(logits, lnf, named('lm_head.weight'), null, V, C, 'lm_head'),
    ...linearDx(logits, named('lm_head.weight'), tmp, V, C, 'lm_head'),
    ...prepareLayernormBackward(ctx, {
      dout: tmp,
      inp: xFinal,
      weight: P(named('transformer.ln_f.weight')),
      mean: lnfMean,
      rstd: lnfRstd,
      dinp: dres,
      dweight: G(named('transformer.ln_f.weight')),
      dbias: G(named('transformer.ln_f.bias')),
      scratch,
      N,
      C,
      accumulate: false,
      label: 'ln_f.backward',
    }),
  );
  for (let l = config.nLayers - 1; l >= 0; l--) {
    const a = layers[l]!;
    const lp = layerParams(layout, l);
    backward.push(
      // MLP: x3 = x2 + c_proj(gelu(c_fc(ln2(x2)))); dres = dL/dx3
      ...linearGrads(dres, a.g, lp.fcProjW, lp.fcProjB, C, F, `h${l}.mlp.c_proj`),
      ...linearDx(dres, lp.fcProjW, dfc, C, F, `h${l}.mlp.c_proj`),
      ...prepareGeluBackward(ctx, { x: a.fc, dout: dfc, dx: dfc, n: N * F }),
      ...linearGrads(dfc, a.ln2, lp.fcW, lp.fcB, F, C, `h${l}.c_fc`),
      ...linearDx(dfc, lp.fcW, tmp, F, C, `h${l}.c_fc`),
      ...prepareLayernormBackward(ctx, {
        dout: tmp,
        inp: a.x2,
        weight: P(lp.ln2w),
        mean: a.ln2Mean,
        rstd: a.ln2Rstd,
        dinp: dres,
        dweight: G(lp.ln2w),
        dbias: G(lp.ln2b),
        scratch,
        N,
        C,
        accumulate: true,
        label: `h${l}.ln2.backward`,
      }),
      // Attention: x2 = x + c_proj(attn(c_attn(ln1(x)))); dres = dL/dx2
      ...linearGrads(dres, a.y, lp.projW, lp.projB, C, C, `h${l}.c_proj`),
      ...linearDx(dres, lp.projW, tmp, C, C, `h${l}.c_proj`),
      ...prepareAttentionBackward(ctx, { dout: tmp, qkv: a.qkv, att: a.att, dqkv, B, T, C, H }),
      ...linearGrads(dqkv, a.ln1, lp.attnW, lp.attnB, 3 * C, C, `h${l}.c_attn`),
      ...linearDx(dqkv, lp.attnW, tmp, 3 * C, C, `h${l}.c_attn`),
      ...prepareLayernormBackward(ctx, {
        dout: tmp,
        inp: a.xIn,
        weight: P(lp.ln1w),
        mean: a.ln1Mean,
        rstd: a.ln1Rstd,
        dinp: dres,
        dweight: G(lp.ln1w),
        dbias: G(lp.ln1b),
        scratch,
        N,
        C,
        accumulate: true,
        label: `h${l}.ln1.backward`,
      }),
    );
  }
  backward.push(
    ...prepareEmbeddingBackward(ctx, {
      dout: dres,
      tokenOffsets: inputs.tokenOffsets,
      positionsByToken: inputs.positionsByToken,
      dwte: G(named('transformer.wte.weight')),
      dwpe: G(named('transformer.wpe.weight')),
      B,
      T,
      C,
      V,
      Tmax: config.contextLength,
    }),
  );
  return { B, T, inputs, tokenLosses, loss, logits, forward, lossAndDlogits, backward };
}
