import { describe, expect, it } from 'vitest';
import { runCpuSelfTest, runSelfTest } from '../../src/train/selftest';
import { gpuContext } from '../helpers/gpu';

// The "model learns" test: the engine self-test (src/train/selftest.ts: a one-block GPT of width 32 learning to
// reverse 3-digit strings, batch 16). Learning takes about 60 steps; on a software adapter a step costs 0.6–2 s
// (more on a busy machine), so the 60 steps run on the CPU reference trainer (about 3 s), and the GPU runs the first
// steps of the very same run: it must follow the CPU trainer there, and repeat itself for a seed.
const STEPS = 60;
const THRESHOLD = 0.1;
const GPU_STEPS = 8;
const SEED = 1;

describe('the engine self-test', () => {
  it(`learns to reverse 3-digit strings: held-out loss < ${THRESHOLD} within ${STEPS} steps (CPU trainer)`, async () => {
    const run = await runCpuSelfTest(STEPS, SEED);
    // ln(12) ≈ 2.48 at chance.
    expect(run.losses[0]).toBeGreaterThan(2);
    expect(run.heldOutLoss).toBeLessThan(THRESHOLD);
  });

  it(`on the GPU: its first ${GPU_STEPS} steps follow the CPU trainer, the loss falls, a seed repeats exactly`, async () => {
    const ctx = await gpuContext();
    const gpu = await runSelfTest(ctx, GPU_STEPS, SEED);
    // The same weights, batches and schedule (runs of up to 11 steps share it) as the first steps of the CPU run.
    const cpu = await runCpuSelfTest(GPU_STEPS, SEED);
    // f32 against f64: one step agrees to ~1e-7 relative (tests/train/cpu_trainer.test.ts); after 8 Adam steps at
    // lr 1e-2 the losses still agree to 1e-4, while one step of learning moves the loss by 1e-2 or more.
    gpu.losses.forEach((l, i) => {
      expect(Math.abs(l - cpu.losses[i]!), `step ${i}`).toBeLessThan(1e-4 * cpu.losses[i]!);
    });
    expect(Math.abs(gpu.heldOutLoss - cpu.heldOutLoss)).toBeLessThan(1e-4 * cpu.heldOutLoss);
    expect(gpu.losses.at(-1)!).toBeLessThan(0.9 * gpu.losses[0]!);
    // Same seed, same adapter → the same numbers (no atomics, fixed reduction order).
    const again = await runSelfTest(ctx, 4, SEED);
    expect(again.losses).toEqual(gpu.losses.slice(0, 4));
  });
});
