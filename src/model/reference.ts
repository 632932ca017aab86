/**
 * The whole GPT on the CPU, composed from the per-kernel CPU references in src/cpu/. It is the ground truth the GPU
 * model is tested against (same weights, same batch → same loss and gradients), and the fallback backend where there
 * is no WebGPU. Readable over fast: one function for forward + loss, one for backward.
 *
 * Shapes: B sequences of T tokens, N = B·T rows, C = dModel, H heads, F = mlpRatio·C, V = vocabSize.
 */
import { addBroadcast, columnSum } from '../cpu/add';
import { attentionBackward, attentionForward } from '../cpu/attention';
import { crossEntropy } from '../cpu/crossentropy';
import { embeddingBackward, embeddingForward } from '../cpu/embedding';
import { geluBackward, geluForward } from '../cpu/gelu';
import { layernormBackward, layernormForward } from '../cpu/layernorm';
import { matmul } from '../cpu/matmul';
import { checkTargetIds, checkTokenIds, type ModelConfig, mlpWidth } from './config';
import { layerParams, type ParamLayout, param, view } from './params';

interface LayerCache {
  xIn: Float32Array;
  ln1: { out: Float32Array; mean: Float32Array; rstd: Float32Array };
  qkv: Float32Array;
  att: Float32Array;
  y: Float32Array;
  x2: Float32Array;
  ln2: { out: Float32Array; mean: Float32Array; rstd: Float32Array };
  fc: Float32Array;
  g: Float32Array;
}

export interface ForwardResult {
  /** [N, V] */
  logits: Float32Array;
  layers: LayerCache[];
  xFinal: Float32Array;
  lnf: { out: Float32Array; mean: Float32Array; rstd: Float32Array };
}

/** Forward pass: tokens [B, T] → logits [B·T, V]. */
export function referenceForward(
  config: ModelConfig,
  layout: ParamLayout,
  params: Float32Array,
  tokens: Int32Array,
  B: number,
  T: number,
): ForwardResult {
  if (T > config.contextLength)
    throw new RangeError(`sequence length ${T} exceeds contextLength ${config.contextLength}`);
  if (tokens.length !== B * T) throw new RangeError(`tokens has ${tokens.length} ids, expected B·T = ${B * T}`);
  checkTokenIds(tokens, config.vocabSize);
  const C = config.dModel;
  const F = mlpWidth(config);
  const H = config.nHeads;
  const N = B * T;
  const P = (name: string) => view(params, param(layout, name));
  let x = embeddingForward(tokens, P('transformer.wte.weight'), P('transformer.wpe.weight'), B, T, C);
  const layers: LayerCache[] = [];
  for (let l = 0; l < config.nLayers; l++) {
    const lp = layerParams(layout, l);
    const w = (e: (typeof lp)[keyof typeof lp]) => view(params, e);
    const ln1 = layernormForward(x, w(lp.ln1w), w(lp.ln1b), N, C);
    const qkv = matmul(ln1.out, w(lp.attnW), N, 3 * C, C, { transB: true, bias: w(lp.attnB) });
    const { out: y, att } = attentionForward(qkv, B, T, C, H);
    const proj = matmul(y, w(lp.projW), N, C, C, { transB: true, bias: w(lp.projB) });
    const x2 = addBroadcast(x, proj);
    const ln2 = layernormForward(x2, w(lp.ln2w), w(lp.ln2b), N, C);
    const fc = matmul(ln2.out, w(lp.fcW), N, F, C, { transB: true, bias: w(lp.fcB) });
    const g = geluForward(fc);
    const fcProj = matmul(g, w(lp.fcProjW), N, C, F, { transB: true, bias: w(lp.fcProjB) });
    layers.push({ xIn: x, ln1, qkv, att, y, x2, ln2, fc, g });
    x = addBroadcast(x2, fcProj);
  }
  const lnf = layernormForward(x, P('transformer.ln_f.weight'), P('transformer.ln_f.bias'), N, C);
  const logits = matmul(lnf.out, P('lm_head.weight'), N, config.vocabSize, C, { transB: true });
  return { logits, layers, xFinal: x, lnf };
}

export interface LossAndGrads {
  /** Σ weights[i] · (−log p(target_i)) */
  loss: number;
  /** −log p(target) per row [N] (0 where target is −1). */
  tokenLosses: Float32Array;
  /** Gradient of `loss` in the parameter arena's layout. */
  grads: Float32Array;
  logits: Float32Array;
}

/**
 * Forward, weighted cross-entropy and backward. `targets` [N] (−1 = ignore), `weights` [N] (the per-token weight:
 * 1/count for a mean loss in SFT, advantage·mask/normaliser in GRPO).
 */
export function referenceLossAndGrads(
  config: ModelConfig,
  layout: ParamLayout,
  params: Float32Array,
  tokens: Int32Array,
  targets: Int32Array,
  weights: Float32Array,
  B: number,
  T: number,
): LossAndGrads {
  const C = config.dModel;
  const F = mlpWidth(config);
  const H = config.nHeads;
  const V = config.vocabSize;
  const N = B * T;
  checkTargetIds(targets, V);
  const fwd = referenceForward(config, layout, params, tokens, B, T);
  const { losses, dlogits } = crossEntropy(fwd.logits, targets, weights, N, V);
  let loss = 0;
  for (let i = 0; i < N; i++) loss += weights[i]! * losses[i]!;

  const grads = new Float32Array(layout.totalElements);
  const P = (name: string) => view(params, param(layout, name));
  const G = (name: string) => view(grads, param(layout, name));
  // LM head and final LayerNorm.
  G('lm_head.weight').set(matmul(dlogits, fwd.lnf.out, V, C, N, { transA: true }));
  const dlnf = matmul(dlogits, P('lm_head.weight'), N, C, V);
  const lnfBack = layernormBackward(dlnf, fwd.xFinal, P('transformer.ln_f.weight'), fwd.lnf.mean, fwd.lnf.rstd, N, C);
  G('transformer.ln_f.weight').set(lnfBack.dweight);
  G('transformer.ln_f.bias').set(lnfBack.dbias);
  let dx = lnfBack.dinp; // gradient of the residual stream

  for (let l = config.nLayers - 1; l >= 0; l--) {
    const lp = layerParams(layout, l);
    const w = (e: (typeof lp)[keyof typeof lp]) => view(params, e);
    const gw = (e: (typeof lp)[keyof typeof lp]) => view(grads, e);
    const c = fwd.layers[l]!;
    // x3 = x2 + c_proj(gelu(c_fc(ln2(x2))))
    const dfcProj = dx;
    gw(lp.fcProjW).set(matmul(dfcProj, c.g, C, F, N, { transA: true }));
    gw(lp.fcProjB).set(columnSum(dfcProj, N, C));
    const dg = matmul(dfcProj, w(lp.fcProjW), N, F, C);
    const dfc = geluBackward(c.fc, dg);
    gw(lp.fcW).set(matmul(dfc, c.ln2.out, F, C, N, { transA: true }));
    gw(lp.fcB).set(columnSum(dfc, N, F));
    const dln2 = matmul(dfc, w(lp.fcW), N, C, F);
    const ln2Back = layernormBackward(dln2, c.x2, w(lp.ln2w), c.ln2.mean, c.ln2.rstd, N, C);
    gw(lp.ln2w).set(ln2Back.dweight);
    gw(lp.ln2b).set(ln2Back.dbias);
    const dx2 = addBroadcast(dx, ln2Back.dinp);
    // x2 = x + c_proj(attn(c_attn(ln1(x))))
    gw(lp.projW).set(matmul(dx2, c.y, C, C, N, { transA: true }));
    gw(lp.projB).set(columnSum(dx2, N, C));
    const dy = matmul(dx2, w(lp.projW), N, C, C);
    const dqkv = attentionBackward(dy, c.qkv, c.att, B, T, C, H);
    gw(lp.attnW).set(matmul(dqkv, c.ln1.out, 3 * C, C, N, { transA: true }));
    gw(lp.attnB).set(columnSum(dqkv, N, 3 * C));
    const dln1 = matmul(dqkv, w(lp.attnW), N, C, 3 * C);
    const ln1Back = layernormBackward(dln1, c.xIn, w(lp.ln1w), c.ln1.mean, c.ln1.rstd, N, C);
    gw(lp.ln1w).set(ln1Back.dweight);
    gw(lp.ln1b).set(ln1Back.dbias);
    dx = addBroadcast(dx2, ln1Back.dinp);
  }
  const emb = embeddingBackward(dx, tokens, B, T, C, V, config.contextLength);
  G('transformer.wte.weight').set(emb.dwte);
  G('transformer.wpe.weight').set(emb.dwpe);
  return { loss, tokenLosses: losses, grads, logits: fwd.logits };
}

/** Greedy continuation on the CPU (no cache): the ground truth for GPU generation. */
export function referenceGreedy(
  config: ModelConfig,
  layout: ParamLayout,
  params: Float32Array,
  prompt: ArrayLike<number>,
  maxNewTokens: number,
  stopTokenId = -1,
): number[] {
  const seq = Array.from(prompt);
  for (let i = 0; i < maxNewTokens && seq.length < config.contextLength; i++) {
    const T = seq.length;
    const { logits } = referenceForward(config, layout, params, Int32Array.from(seq), 1, T);
    const V = config.vocabSize;
    let best = 0;
    for (let v = 1; v < V; v++) if (logits[(T - 1) * V + v]! > logits[(T - 1) * V + best]!) best = v;
    seq.push(best);
    if (best === stopTokenId) break;
  }
  return seq.slice(prompt.length);
}
