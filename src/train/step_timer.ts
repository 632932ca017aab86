/**
 * One timed step of a run config on a backend, to size the playground's default run to the adapter
 * (src/state/adapter_fit.ts): the config's model, batch and training window, one warm-up step (pipelines, buffers),
 * then `steps` steps timed one at a time (the fastest is reported). The trainer is destroyed afterwards; nothing is saved.
 */
import type { Backend } from './backend';
import { batchAt, buildSftData } from './data';
import { modelConfigFor, optimConfigFor, parseRunConfig, type RunConfig } from './run_config';

export interface StepTiming {
  /** Wall time of the fastest timed step (ms), after the warm-up step: the least disturbed by other work. */
  stepMs: number;
  /** The warm-up step's wall time (ms): pipelines and buffers are made then. */
  firstStepMs: number;
  /** Tokens one step trains on (batch × training window). */
  tokensPerStep: number;
}

export async function timeSteps(backend: Backend, config: RunConfig, steps: number): Promise<StepTiming> {
  if (!Number.isInteger(steps) || steps < 1 || steps > 20)
    throw new RangeError(`steps must be in [1, 20], got ${steps}`);
  const c = parseRunConfig(config);
  const data = buildSftData(c);
  const trainer = backend.createTrainer(modelConfigFor(c), optimConfigFor(c), c.sft.batchSize, data.seqLen);
  try {
    let t0 = performance.now();
    await trainer.step(batchAt(data, 0));
    const firstStepMs = performance.now() - t0;
    let stepMs = Number.POSITIVE_INFINITY;
    for (let s = 1; s <= steps; s++) {
      t0 = performance.now();
      await trainer.step(batchAt(data, s));
      stepMs = Math.min(stepMs, performance.now() - t0);
    }
    return { stepMs, firstStepMs, tokensPerStep: c.sft.batchSize * data.seqLen };
  } finally {
    await trainer.drain().catch(() => {});
    trainer.destroy();
  }
}
