/**
 * Parameter layout: every weight of the GPT lives in ONE flat f32 arena (so AdamW, the gradient norm and saving are
 * one operation each). Tensor names and shapes match a PyTorch nanoGPT-style GPT with an untied LM head, so a
 * safetensors file from here loads into PyTorch with `load_state_dict` (see README, "Weights").
 *
 *   transformer.wte.weight            [V, C]
 *   transformer.wpe.weight            [T, C]
 *   transformer.h.{i}.ln_1.weight     [C]        .bias [C]
 *   transformer.h.{i}.attn.c_attn.weight [3C, C] .bias [3C]   (nn.Linear layout: [out, in])
 *   transformer.h.{i}.attn.c_proj.weight [C, C]  .bias [C]
 *   transformer.h.{i}.ln_2.weight     [C]        .bias [C]
 *   transformer.h.{i}.mlp.c_fc.weight   [F, C]   .bias [F]    (F = mlpRatio·C)
 *   transformer.h.{i}.mlp.c_proj.weight [C, F]   .bias [C]
 *   transformer.ln_f.weight           [C]        .bias [C]
 *   lm_head.weight                    [V, C]
 */
import { ALIGN_ELEMENTS } from '../gpu/tensor';
import type { Rng } from '../util/rng';
import { createRng } from '../util/rng';
import { type ModelConfig, mlpWidth } from './config';

export interface ParamEntry {
  name: string;
  shape: number[];
  /** Start in the arena, in elements (64-element aligned). */
  offset: number;
  length: number;
  /** AdamW weight decay applies (matrices and embeddings, not biases or LayerNorm gains). */
  decay: boolean;
  init: 'normal' | 'normal_residual' | 'zeros' | 'ones';
}

export interface ParamLayout {
  entries: ParamEntry[];
  byName: Map<string, ParamEntry>;
  /** Arena size in elements, including alignment padding. */
  totalElements: number;
  /** Sum of tensor sizes (the parameter count). */
  parameterCount: number;
}

export interface LayerParams {
  ln1w: ParamEntry;
  ln1b: ParamEntry;
  attnW: ParamEntry;
  attnB: ParamEntry;
  projW: ParamEntry;
  projB: ParamEntry;
  ln2w: ParamEntry;
  ln2b: ParamEntry;
  fcW: ParamEntry;
  fcB: ParamEntry;
  fcProjW: ParamEntry;
  fcProjB: ParamEntry;
}

export function buildParamLayout(c: ModelConfig): ParamLayout {
  const C = c.dModel;
  const F = mlpWidth(c);
  const entries: ParamEntry[] = [];
  let cursor = 0;
  const add = (name: string, shape: number[], init: ParamEntry['init']) => {
    const length = shape.reduce((a, b) => a * b, 1);
    entries.push({ name, shape, offset: cursor, length, decay: shape.length >= 2, init });
    cursor += Math.ceil(length / ALIGN_ELEMENTS) * ALIGN_ELEMENTS;
  };
  add('transformer.wte.weight', [c.vocabSize, C], 'normal');
  add('transformer.wpe.weight', [c.contextLength, C], 'normal');
  for (let i = 0; i < c.nLayers; i++) {
    const p = `transformer.h.${i}`;
    add(`${p}.ln_1.weight`, [C], 'ones');
    add(`${p}.ln_1.bias`, [C], 'zeros');
    add(`${p}.attn.c_attn.weight`, [3 * C, C], 'normal');
    add(`${p}.attn.c_attn.bias`, [3 * C], 'zeros');
    add(`${p}.attn.c_proj.weight`, [C, C], 'normal_residual');
    add(`${p}.attn.c_proj.bias`, [C], 'zeros');
    add(`${p}.ln_2.weight`, [C], 'ones');
    add(`${p}.ln_2.bias`, [C], 'zeros');
    add(`${p}.mlp.c_fc.weight`, [F, C], 'normal');
    add(`${p}.mlp.c_fc.bias`, [F], 'zeros');
    add(`${p}.mlp.c_proj.weight`, [C, F], 'normal_residual');
    add(`${p}.mlp.c_proj.bias`, [C], 'zeros');
  }
  add('transformer.ln_f.weight', [C], 'ones');
  add('transformer.ln_f.bias', [C], 'zeros');
  add('lm_head.weight', [c.vocabSize, C], 'normal');
  return {
    entries,
    byName: new Map(entries.map((e) => [e.name, e])),
    totalElements: cursor,
    parameterCount: entries.reduce((s, e) => s + e.length, 0),
  };
}

export function param(layout: ParamLayout, name: string): ParamEntry {
  const e = layout.byName.get(name);
  if (!e) throw new Error(`no parameter named ${name}`);
  return e;
}

export function layerParams(layout: ParamLayout, i: number): LayerParams {
  const p = (s: string) => param(layout, `transformer.h.${i}.${s}`);
  return {
    ln1w: p('ln_1.weight'),
    ln1b: p('ln_1.bias'),
    attnW: p('attn.c_attn.weight'),
    attnB: p('attn.c_attn.bias'),
    projW: p('attn.c_proj.weight'),
    projB: p('attn.c_proj.bias'),
    ln2w: p('ln_2.weight'),
    ln2b: p('ln_2.bias'),
    fcW: p('mlp.c_fc.weight'),
    fcB: p('mlp.c_fc.bias'),
    fcProjW: p('mlp.c_proj.weight'),
    fcProjB: p('mlp.c_proj.bias'),
  };
}

/** A view of one parameter inside an arena array. */
export function view<T extends Float32Array | Float64Array>(arena: T, e: ParamEntry): T {
  return arena.subarray(e.offset, e.offset + e.length) as T;
}

/**
 * GPT-2 initialisation (as nanoGPT): weights N(0, 0.02), residual projections N(0, 0.02/√(2·nLayers)), biases 0,
 * LayerNorm gains 1. Deterministic from `config.seed`. Padding stays 0.
 */
export function initParams(
  c: ModelConfig,
  layout: ParamLayout = buildParamLayout(c),
  rng: Rng = createRng(c.seed),
): Float32Array {
  const arena = new Float32Array(layout.totalElements);
  const residualStd = 0.02 / Math.sqrt(2 * c.nLayers);
  for (const e of layout.entries) {
    const v = view(arena, e);
    if (e.init === 'ones') v.fill(1);
    else if (e.init === 'normal' || e.init === 'normal_residual') {
      const std = e.init === 'normal' ? 0.02 : residualStd;
      for (let i = 0; i < v.length; i++) v[i] = rng.normal() * std;
    }
  }
  return arena;
}

/** Per-element weight-decay mask over the arena (1 = decay). */
export function decayMask(layout: ParamLayout): Uint8Array {
  const mask = new Uint8Array(layout.totalElements);
  for (const e of layout.entries) if (e.decay) mask.fill(1, e.offset, e.offset + e.length);
  return mask;
}
