/**
 * The SFT Start button's reason line (src/ui/start_reason.ts) and the batch check it shows while the batch is typed
 * (sftConfigIssues with the adapter's limits: the trainer's own rule, model/config.ts batchFitProblem).
 */
import { describe, expect, it } from 'vitest';
import { BASELINE_LIMITS, batchFitProblem, checkBatchFits, largestBatchThatFits } from '../../src/model/config';
import {
  DEFAULT_RL_CONFIG,
  DEFAULT_RUN_CONFIG,
  modelConfigFor,
  type RunConfig,
  sftConfigIssues,
} from '../../src/train/run_config';
import { sftStartBlocker } from '../../src/ui/start_reason';

const withBatch = (batchSize: number): RunConfig => ({
  ...DEFAULT_RUN_CONFIG,
  sft: { ...DEFAULT_RUN_CONFIG.sft, batchSize },
});
const ready = { engineReady: true, training: false, engineBusy: false };

describe('the batch against the device limits', () => {
  it('names sft.batchSize and the largest batch that fits, with the same rule the trainer applies', () => {
    const model = modelConfigFor(DEFAULT_RUN_CONFIG);
    const T = model.contextLength;
    // A device with a small binding limit (a quarter of the baseline's).
    const limits = { ...BASELINE_LIMITS, maxStorageBufferBindingSize: BASELINE_LIMITS.maxStorageBufferBindingSize / 4 };
    const most = largestBatchThatFits(model, T, limits);
    expect(most).toBeGreaterThan(1);
    expect(sftConfigIssues(withBatch(most), limits)).toEqual([]);
    const issues = sftConfigIssues(withBatch(most + 1), limits);
    expect(issues.map((i) => i.path)).toEqual(['sft.batchSize']);
    expect(issues[0]!.message).toMatch(new RegExp(`at most ${most}$`));
    expect(issues[0]!.message).toMatch(/maxStorageBufferBindingSize/);
    // The trainer's check (checkBatchFits) agrees at the same window, both sides of the edge.
    expect(() => checkBatchFits(model, most, T, limits)).not.toThrow();
    expect(() => checkBatchFits(model, most + 1, T, limits)).toThrow(batchFitProblem(model, most + 1, T, limits)!);
    // Without device limits (no engine yet, or the CPU backend) the batch is not checked against any.
    expect(sftConfigIssues(withBatch(1024))).toEqual([]);
  });
});

describe('sftStartBlocker', () => {
  it('is null when Start can begin a run, else says why, naming the first field', () => {
    expect(sftStartBlocker({ ...ready, issues: [] })).toBeNull();
    expect(sftStartBlocker({ ...ready, engineReady: false, issues: [] })).toMatch(/engine is starting/);
    expect(sftStartBlocker({ ...ready, engineBusy: true, issues: [] })).toMatch(/lab queue/);
    const issues = sftConfigIssues(withBatch(5000));
    expect(sftStartBlocker({ ...ready, issues })).toMatch(/^Batch size: /);
    expect(
      sftStartBlocker({
        ...ready,
        issues: [...issues, { path: 'sft.steps', message: 'x' }],
      }),
    ).toMatch(/and 1 more marked in red/);
  });

  it('ignores invalid RL settings: those block only the RL panel', () => {
    const badRl: RunConfig = { ...DEFAULT_RUN_CONFIG, rl: { ...DEFAULT_RL_CONFIG, promptsPerStep: 0 } };
    expect(sftStartBlocker({ ...ready, issues: sftConfigIssues(badRl) })).toBeNull();
  });
});
