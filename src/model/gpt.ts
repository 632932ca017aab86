/**
 * The GPT on the GPU: parameter and activation buffers, and the forward and backward passes as lists of prepared
 * dispatches (src/gpu/dispatch.ts). Buffers are allocated once for a (batch, sequence length) shape; a training step
 * records the same dispatches every time (see src/train/trainer.ts), so a step allocates nothing and reads nothing
 * back but the loss.
 *
 * Shapes: B sequences × T positions, N = B·T rows, C = dModel, H heads, F = mlpRatio·C, V = vocabSize.
 * The math mirrors src/model/reference.ts line by line; tests/model/gpt.test.ts checks loss and every gradient.
 */
import { BufferPool } from '../gpu/buffer_pool';
import type { GpuContext } from '../gpu/context';
import type { Dispatch } from '../gpu/dispatch';
import { columnSumScratchElements, prepareColumnSum } from '../gpu/ops/add';
import { prepareAttentionBackward, prepareAttentionForward } from '../gpu/ops/attention';
import { prepareCrossEntropy } from '../gpu/ops/crossentropy';
import { prepareEmbeddingBackward, prepareEmbeddingForward } from '../gpu/ops/embedding';
import { prepareGeluBackward } from '../gpu/ops/gelu';
import {
  layernormBackwardScratchElements,
  prepareLayernormBackward,
  prepareLayernormForward,
} from '../gpu/ops/layernorm';
import { prepareMatmul } from '../gpu/ops/matmul';
import { slice, type TensorRef, writeTensor } from '../gpu/tensor';
import { checkBatchFits, type ModelConfig, mlpWidth } from './config';
import { buildParamLayout, type LayerParams, layerParams, type ParamEntry, type ParamLayout, param } from './params';

/** Saved activations of one block (BlockTensors without its output, the next block's input) plus the attention's lse. */
type LayerActs = Omit<BlockTensors, 'out'> & {
  /** [B, H, T] log-sum-exp of each attention row (the backward recomputes the probabilities from it). */
  lse: TensorRef;
};

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

// The batch check is pure (model/config.ts), so the UI runs it too, with the adapter's limits, while a batch is typed.
export { checkBatchFits, largestActivationElements } from './config';

/**
 * y[rows, outDim] = x[rows, inDim] · Wᵀ (+ b), W a PyTorch Linear weight [outDim, inDim] in the parameter arena.
 * With `gelu` [rows, outDim] the same dispatch also writes gelu(y) there (y keeps the pre-activation); with `residual`
 * [rows, outDim] it writes y + residual instead (a block's residual add).
 */
export function prepareLinear(
  ctx: GpuContext,
  params: TensorRef,
  rows: number,
  x: TensorRef,
  w: ParamEntry,
  b: ParamEntry | null,
  out: TensorRef,
  label: string,
  epilogue: { gelu?: TensorRef; residual?: TensorRef } = {},
): Dispatch[] {
  const [outDim, inDim] = w.shape as [number, number];
  return prepareMatmul(ctx, {
    a: x,
    b: slice(params, w.offset, w.length),
    c: out,
    M: rows,
    N: outDim,
    K: inDim,
    transB: true,
    ...(b ? { bias: slice(params, b.offset, b.length) } : {}),
    ...epilogue,
    label,
  });
}

/**
 * The tensors one transformer block's forward pass reads and writes, all [rows, ·]. Training gives every block its
 * own (they are saved for the backward pass); generation reuses one set (ln1 and ln2 may then be the same tensor).
 */
export interface BlockTensors {
  /** Input residual stream [rows, C]. */
  xIn: TensorRef;
  ln1: TensorRef;
  ln1Mean: TensorRef;
  ln1Rstd: TensorRef;
  /** [rows, 3C] */
  qkv: TensorRef;
  /** Attention output [rows, C], written by `attention`. */
  y: TensorRef;
  /** Residual after attention [rows, C]. */
  x2: TensorRef;
  ln2: TensorRef;
  ln2Mean: TensorRef;
  ln2Rstd: TensorRef;
  /** [rows, F] */
  fc: TensorRef;
  g: TensorRef;
  /** Output residual stream [rows, C]. */
  out: TensorRef;
}

/**
 * One pre-LayerNorm block: x2 = x + c_proj(attn(c_attn(ln_1(x)))), out = x2 + c_proj(gelu(c_fc(ln_2(x2)))).
 * `attention` are the dispatches that turn t.qkv into t.y (full causal attention in training, KV-cache attention
 * in generation).
 */
export function prepareBlockForward(
  ctx: GpuContext,
  params: TensorRef,
  lp: LayerParams,
  rows: number,
  C: number,
  F: number,
  t: BlockTensors,
  attention: Dispatch[],
  label: string,
): Dispatch[] {
  if (lp.fcW.shape[0] !== F) throw new Error(`${label}: the MLP width is ${lp.fcW.shape[0]}, not F = ${F}`);
  const P = (e: ParamEntry) => slice(params, e.offset, e.length);
  const ln = (
    inp: TensorRef,
    w: ParamEntry,
    b: ParamEntry,
    out: TensorRef,
    mean: TensorRef,
    rstd: TensorRef,
    name: string,
  ) =>
    prepareLayernormForward(ctx, {
      inp,
      weight: P(w),
      bias: P(b),
      out,
      mean,
      rstd,
      N: rows,
      C,
      label: `${label}.${name}`,
    });
  return [
    ...ln(t.xIn, lp.ln1w, lp.ln1b, t.ln1, t.ln1Mean, t.ln1Rstd, 'ln1'),
    ...prepareLinear(ctx, params, rows, t.ln1, lp.attnW, lp.attnB, t.qkv, `${label}.c_attn`),
    ...attention,
    // Each c_proj adds the residual stream in its epilogue: x2 = x + c_proj(y), out = x2 + c_proj(g).
    ...prepareLinear(ctx, params, rows, t.y, lp.projW, lp.projB, t.x2, `${label}.c_proj`, { residual: t.xIn }),
    ...ln(t.x2, lp.ln2w, lp.ln2b, t.ln2, t.ln2Mean, t.ln2Rstd, 'ln2'),
    // c_fc and GELU in one dispatch: t.fc keeps the pre-activation the GELU backward reads, t.g = gelu(t.fc).
    ...prepareLinear(ctx, params, rows, t.ln2, lp.fcW, lp.fcB, t.fc, `${label}.c_fc`, { gelu: t.g }),
    ...prepareLinear(ctx, params, rows, t.g, lp.fcProjW, lp.fcProjB, t.out, `${label}.mlp.c_proj`, { residual: t.x2 }),
  ];
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
      lse: pool.tensor(`h${l}.lse`, B * H * T, true),
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
  const tmp = pool.tensor('tmp', N * C, false); // the backward's dx of a Linear, read by the next backward kernel
  const dres = pool.tensor('dresidual', N * C, false);
  const dqkv = pool.tensor('dqkv', N * 3 * C, false);
  const dfc = pool.tensor('dfc', N * F, false);
  const scratchElements = Math.max(
    layernormBackwardScratchElements(N, Math.max(C, F)),
    columnSumScratchElements(N, Math.max(3 * C, F)),
    // Split-K partial products of the weight gradients: up to 32 slices of the largest one, so that the small
    // dW outputs (a few tiles each) still fill a large GPU; matmul uses fewer slices when the shape needs fewer,
    // or when this scratch is smaller. Capped so the one bound scratch stays within the device's binding limit.
    Math.min(
      32 * Math.max(3 * C * C, F * C, V * C),
      Math.floor(Math.min(ctx.device.limits.maxStorageBufferBindingSize, ctx.device.limits.maxBufferSize) / 4 / 64) *
        64,
    ),
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
  for (let l = 0; l < config.nLayers; l++) {
    const a = layers[l]!;
    const out = l + 1 < config.nLayers ? layers[l + 1]!.xIn : xFinal;
    const attention = prepareAttentionForward(ctx, { qkv: a.qkv, out: a.y, lse: a.lse, B, T, C, H });
    forward.push(
      ...prepareBlockForward(ctx, model.params, layerParams(layout, l), N, C, F, { ...a, out }, attention, `h${l}`),
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
    ...prepareLinear(ctx, model.params, N, lnf, named('lm_head.weight'), null, logits, 'lm_head'),
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
      ...prepareAttentionBackward(ctx, { dout: tmp, qkv: a.qkv, out: a.y, lse: a.lse, dqkv, B, T, C, H }),
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
