import type { ModelConfig } from '../../src/model/config';
import { buildParamLayout, initParams } from '../../src/model/params';
import { seeded } from './gpu';

/**
 * Parameters with a larger scale than GPT-2 init (normal, σ = 0.5; LayerNorm gains 1), so logits are well separated
 * and greedy decoding has few near-ties: for tests that compare two implementations token for token.
 */
export function wideWeights(config: ModelConfig, seed: number): Float32Array {
  const layout = buildParamLayout(config);
  const rng = seeded(seed);
  const p = initParams(config, layout);
  for (const e of layout.entries) {
    for (let i = 0; i < e.length; i++) p[e.offset + i] = e.init === 'ones' ? 1 : 0.5 * rng.normal();
  }
  return p;
}
