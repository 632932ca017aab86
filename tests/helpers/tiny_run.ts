/** A run config that trains in milliseconds a step on the CPU backend: one-digit sums, concise traces, tiny model. */
import { DEFAULT_RUN_CONFIG, type RunConfig } from '../../src/train/run_config';

export function tinyOneDigitRun(seed: number, sft: Partial<RunConfig['sft']>): RunConfig {
  const base = DEFAULT_RUN_CONFIG;
  return {
    ...base,
    seed,
    task: { ...base.task, arithmeticMaxDigits: 1, arithmeticTraceStyle: 'concise', arithmeticMaxThinkTokens: 16 },
    model: { size: 'tiny' },
    sft: { ...base.sft, batchSize: 2, trainSize: 32, ...sft },
    decode: { ...base.decode, maxNewTokens: 4 },
  };
}
