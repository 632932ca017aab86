/**
 * An end-to-end check of the engine that runs anywhere the worker runs: train a small GPT to reverse digit strings
 * and report the loss curve. Used by the worker's `selfTest` (and so by the browser end-to-end test) and by tests.
 *
 * Sequence: d1 … dk SEP dk … d1 EOS (ids: digits 0–9, SEP = 10, EOS = 11). The loss is on the reversed half and EOS.
 */
import type { GpuContext } from '../gpu/context';
import type { ModelConfig } from '../model/config';
import type { Rng } from '../util/rng';
import { createRng } from '../util/rng';
import type { Batch } from './backend';
import { DEFAULT_OPTIM_CONFIG, type OptimConfig } from './config';
import { CpuTrainer } from './cpu_trainer';
import { Trainer } from './trainer';

export const REVERSE_VOCAB = 12;
const SEP = 10;
const EOS = 11;

/** B sequences reversing k digits: T = 2k + 1 input positions (the final EOS is only a target). */
export function reverseBatch(rng: Rng, B: number, k: number): Batch {
  const T = 2 * k + 1;
  const tokens = new Int32Array(B * T);
  const targets = new Int32Array(B * T).fill(-1);
  const weights = new Float32Array(B * T);
  const lossPositions = B * (k + 1);
  for (let b = 0; b < B; b++) {
    const digits = Array.from({ length: k }, () => rng.int(10));
    const seq = [...digits, SEP, ...digits.slice().reverse(), EOS];
    for (let t = 0; t < T; t++) {
      tokens[b * T + t] = seq[t]!;
      if (t >= k) {
        targets[b * T + t] = seq[t + 1]!;
        weights[b * T + t] = 1 / lossPositions;
      }
    }
  }
  return { tokens, targets, weights };
}

export const SELF_TEST_MODEL: ModelConfig = {
  vocabSize: REVERSE_VOCAB,
  contextLength: 8,
  dModel: 32,
  nLayers: 1,
  nHeads: 4,
  mlpRatio: 4,
  seed: 1,
};

export interface SelfTestResult {
  adapter: string;
  /** Training loss of every step. */
  losses: number[];
  /** Loss after training on a batch drawn from another stream (strings may repeat: 10³ of them exist). */
  heldOutLoss: number;
  /** Wall-clock time per step, averaged over the run (queued steps, one command buffer each). */
  stepTimeMs: number;
}

/** Digits reversed per sequence and sequences per batch. */
const K = 3;
const B = 16;

/** The self-test's optimiser for a run of `steps` steps (10 warmup steps: runs of up to 11 steps share a schedule). */
export function selfTestOptim(steps: number): OptimConfig {
  return {
    ...DEFAULT_OPTIM_CONFIG,
    learningRate: 1e-2,
    warmupSteps: 10,
    decaySteps: Math.max(steps, 11),
    weightDecay: 0.01,
  };
}

/** What the self-test needs of a trainer: the GPU Trainer, or the CPU reference trainer (tests compare the two). */
export interface SelfTestTrainer {
  step(batch: Batch): Promise<{ loss: number }>;
  evaluate(batch: Batch): Promise<number>;
}

/**
 * The self-test's training loop on `trainer` (built for SELF_TEST_MODEL with `selfTestOptim(steps)`, batch 16 of
 * 3-digit reversals, T = 7): `steps` queued steps on batches drawn from `seed`, then the held-out loss on a batch
 * from another stream.
 */
export async function trainSelfTest(
  trainer: SelfTestTrainer,
  steps: number,
  seed: number,
): Promise<Omit<SelfTestResult, 'adapter'>> {
  const rng = createRng(seed);
  const t0 = performance.now();
  const pending: Promise<number>[] = [];
  for (let s = 0; s < steps; s++) pending.push(trainer.step(reverseBatch(rng, B, K)).then((r) => r.loss));
  const settled = await Promise.allSettled(pending);
  const stepTimeMs = (performance.now() - t0) / steps;
  const failure = settled.find((r) => r.status === 'rejected');
  if (failure) throw failure.reason;
  const losses = settled.map((r) => (r as PromiseFulfilledResult<number>).value);
  const heldOutLoss = await trainer.evaluate(reverseBatch(createRng(seed + 1), B, K));
  return { losses, heldOutLoss, stepTimeMs };
}

/** Trains SELF_TEST_MODEL (weights seeded with `seed`) on 3-digit reversal for `steps` steps of batch 16. */
export async function runSelfTest(ctx: GpuContext, steps: number, seed: number): Promise<SelfTestResult> {
  checkSteps(steps);
  const trainer = new Trainer(ctx, { ...SELF_TEST_MODEL, seed }, selfTestOptim(steps), B, 2 * K + 1);
  try {
    return { adapter: ctx.adapterName, ...(await trainSelfTest(trainer, steps, seed)) };
  } finally {
    trainer.destroy();
  }
}

/**
 * The same run on the CPU reference trainer (f64): the same weights, batches and schedule as `runSelfTest`, so the
 * GPU's losses can be checked against it (they agree to about 1e-6 relative over 20 steps on Dawn).
 */
export async function runCpuSelfTest(steps: number, seed: number): Promise<Omit<SelfTestResult, 'adapter'>> {
  checkSteps(steps);
  return trainSelfTest(new CpuTrainer({ ...SELF_TEST_MODEL, seed }, selfTestOptim(steps), B, 2 * K + 1), steps, seed);
}

function checkSteps(steps: number): void {
  if (!Number.isInteger(steps) || steps < 1 || steps > 10_000)
    throw new RangeError(`steps must be in [1, 10000], got ${steps}`);
}
