import { describe, expect, it } from 'vitest';
import { QUICK_MIN_STEPS, quickConfig } from '../../src/state/adapter_fit';
import { createCpuBackend } from '../../src/train/backend_cpu';
import { buildSftData } from '../../src/train/data';
import { DEFAULT_RUN_CONFIG } from '../../src/train/run_config';
import { timeSteps } from '../../src/train/step_timer';

describe('timeSteps', () => {
  it("times the config's own batch and window after a warm-up step (CPU backend)", async () => {
    const c = quickConfig(DEFAULT_RUN_CONFIG, QUICK_MIN_STEPS);
    const t = await timeSteps(createCpuBackend(), c, 2);
    expect(t.tokensPerStep).toBe(8 * buildSftData(c).seqLen);
    expect(t.stepMs).toBeGreaterThan(0);
    expect(t.firstStepMs).toBeGreaterThan(0);
    await expect(timeSteps(createCpuBackend(), c, 0)).rejects.toThrow(/steps/);
    await expect(timeSteps(createCpuBackend(), { ...c, sft: { ...c.sft, batchSize: 0 } }, 1)).rejects.toThrow(
      /sft\.batchSize/,
    );
  });
});
