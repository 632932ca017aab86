import { describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../src/model/config';
import { buildParamLayout, initParams } from '../../src/model/params';
import { referenceGreedy, referenceLossAndGrads } from '../../src/model/reference';
import { createRng } from '../../src/util/rng';

const config: ModelConfig = { vocabSize: 7, contextLength: 6, dModel: 8, nLayers: 2, nHeads: 2, mlpRatio: 2, seed: 3 };
const layout = buildParamLayout(config);
const B = 2;
const T = 5;

function setup(seed: number) {
  const rng = createRng(seed);
  const params = initParams(config, layout);
  for (const e of layout.entries) {
    for (let i = 0; i < e.length; i++)
      params[e.offset + i] = e.init === 'ones' ? 1 + 0.3 * rng.normal() : 0.4 * rng.normal();
  }
  const N = B * T;
  const tokens = Int32Array.from({ length: N }, () => rng.int(config.vocabSize));
  const targets = Int32Array.from({ length: N }, (_, i) => (i % 4 === 3 ? -1 : rng.int(config.vocabSize)));
  const weights = Float32Array.from({ length: N }, () => rng.next() - 0.3);
  return { rng, params, tokens, targets, weights };
}

describe('CPU reference model', () => {
  it('gradients match central finite differences of the loss for every tensor', () => {
    const { rng, params, tokens, targets, weights } = setup(1);
    const { grads } = referenceLossAndGrads(config, layout, params, tokens, targets, weights, B, T);
    const lossAt = (p: Float32Array) => referenceLossAndGrads(config, layout, p, tokens, targets, weights, B, T).loss;
    // eps = 1e-2: truncation error O(eps²·f''') ≈ 1e-4 for these O(1) curvatures; f32 rounding of the forward pass
    // (≈1e-7 relative on a loss of ~2) adds ≈ 2e-7 / 2e-2 = 1e-5. A wrong or missing gradient term is off by O(|g|),
    // far outside atol 5e-4 + rtol 2e-2.
    const eps = 1e-2;
    let checked = 0;
    for (const e of layout.entries) {
      for (let s = 0; s < 4; s++) {
        const k = e.offset + rng.int(e.length);
        const saved = params[k]!;
        params[k] = saved + eps;
        const up = lossAt(params);
        params[k] = saved - eps;
        const down = lossAt(params);
        params[k] = saved;
        // The perturbation actually applied, after f32 rounding of the parameter.
        const applied = Math.fround(saved + eps) - Math.fround(saved - eps);
        const fd = (up - down) / applied;
        const g = grads[k]!;
        expect(Math.abs(fd - g), `${e.name}[${k - e.offset}]: fd ${fd} vs analytic ${g}`).toBeLessThanOrEqual(
          5e-4 + 2e-2 * Math.abs(g),
        );
        checked++;
      }
    }
    expect(checked).toBe(layout.entries.length * 4);
  });

  it('ignored targets and zero weights contribute nothing', () => {
    const { params, tokens, targets, weights } = setup(2);
    const a = referenceLossAndGrads(config, layout, params, tokens, targets, weights, B, T);
    const w2 = weights.slice();
    for (let i = 0; i < targets.length; i++) if (targets[i] === -1) w2[i] = 123; // weight of an ignored row is irrelevant
    const b = referenceLossAndGrads(config, layout, params, tokens, targets, w2, B, T);
    expect(b.loss).toBe(a.loss);
    expect(b.grads).toEqual(a.grads);
  });

  it('rejects token and target ids outside the vocabulary', () => {
    const { params, tokens, targets, weights } = setup(3);
    const bad = tokens.slice();
    bad[4] = config.vocabSize;
    expect(() => referenceLossAndGrads(config, layout, params, bad, targets, weights, B, T)).toThrow(/tokens\[4\]/);
    const badT = targets.slice();
    badT[2] = -2;
    expect(() => referenceLossAndGrads(config, layout, params, tokens, badT, weights, B, T)).toThrow(/targets\[2\]/);
    expect(() => referenceGreedy(config, layout, params, [0, 1, 99], 2)).toThrow(/outside the vocabulary/);
  });
});
