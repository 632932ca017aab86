/**
 * `npm run bench -- playground [--steps N] [--size tiny|small|medium] [--batch N] [--eval-size N]`: the playground's
 * own work, headless, on the adapter Dawn finds (WebGPU globals are installed by bench.ts): an SFT run of the default playground config (src/train/run_config.ts)
 * through the same session the worker runs, then one evaluation per stopping method on the fixed evaluation set.
 * Prints and writes bench-results/playground.json: SFT step time and tokens/s, held-out loss, and per evaluation its
 * wall time, accuracy, mean thinking tokens and stop rate, naming the adapter.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { create } from 'webgpu';
import { createGpuContext } from '../src/gpu/context';
import { createGpuBackend } from '../src/train/backend_gpu';
import { METRIC } from '../src/train/metrics';
import {
  DEFAULT_RUN_CONFIG,
  type DecodeConfig,
  type PlaygroundModel,
  parseRunConfig,
  type RunConfig,
} from '../src/train/run_config';
import { SftSession } from '../src/train/sft';

function option(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

export async function benchPlayground(argv: string[]): Promise<void> {
  const base = DEFAULT_RUN_CONFIG;
  const config: RunConfig = parseRunConfig({
    ...base,
    model: { size: (option(argv, 'size') ?? base.model.size) as PlaygroundModel },
    sft: {
      ...base.sft,
      steps: Number(option(argv, 'steps') ?? base.sft.steps),
      batchSize: Number(option(argv, 'batch') ?? base.sft.batchSize),
    },
    eval: { ...base.eval, size: Number(option(argv, 'eval-size') ?? base.eval.size) },
  });
  const ctx = await createGpuContext(create([]) as unknown as GPU);
  const backend = createGpuBackend(ctx);
  console.log(`adapter: ${ctx.adapterName}`);
  const stepTimesMs: number[] = [];
  const tokensPerSecond: number[] = [];
  let evalLoss = Number.NaN;
  let trainLoss = Number.NaN;
  const session = new SftSession(backend, config, (e) => {
    if (e.type !== 'metrics') return;
    const v = e.values;
    const push = (xs: number[], x: number | undefined) => {
      if (x !== undefined) xs.push(x);
    };
    push(stepTimesMs, v[METRIC.stepTimeMs]);
    push(tokensPerSecond, v[METRIC.tokensPerSecond]);
    trainLoss = v[METRIC.trainLoss] ?? trainLoss;
    evalLoss = v[METRIC.evalLoss] ?? evalLoss;
  });
  const t0 = performance.now();
  const summary = await session.run();
  const sftWallMs = performance.now() - t0;
  // Speed after warm-up: the median of the reported windows (pipeline compilation lands in the first ones).
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
  const sft = {
    steps: summary.steps,
    batchSize: config.sft.batchSize,
    contextLength: session.trainBackend.seqLen,
    wallMs: Math.round(sftWallMs),
    medianStepTimeMs: median(stepTimesMs),
    medianTokensPerSecond: median(tokensPerSecond),
    finalTrainLoss: trainLoss,
    finalEvalLoss: evalLoss,
  };
  console.log(JSON.stringify(sft));
  const d = config.decode;
  const decodes: DecodeConfig[] = [
    { ...d, intervention: 'none', temperature: 0 },
    { ...d, intervention: 'none', temperature: 0.6 },
    { ...d, intervention: 'ts', stopTemperature: 0.5 },
    { ...d, intervention: 'ts', stopTemperature: 2 },
    { ...d, intervention: 'bias', stopLogitBias: 2 },
    { ...d, intervention: 'cap', thinkingBudgetTokens: 16 },
    { ...d, intervention: 'cap', thinkingBudgetTokens: 32 },
    { ...d, intervention: 'extend', minThinkingTokens: 48, maxExtensions: 2 },
  ];
  const evaluations = [];
  for (const decode of decodes) {
    const p = await session.evaluate(decode, config.eval);
    const row = {
      series: p.series,
      temperature: decode.temperature,
      stopTemperature: decode.stopTemperature,
      stopLogitBias: decode.stopLogitBias,
      thinkingBudgetTokens: decode.thinkingBudgetTokens,
      minThinkingTokens: decode.minThinkingTokens,
      problems: p.problems,
      accuracy: p.accuracy,
      meanThinkingTokens: p.meanThinkingTokens,
      meanThinkingTokensCorrect: p.meanThinkingTokensCorrect,
      meanThinkingTokensWrong: p.meanThinkingTokensWrong,
      stopRate: p.stopRate,
      repetitionRate: p.repetitionRate,
      evalTimeMs: Math.round(p.evalTimeMs),
    };
    console.log(JSON.stringify(row));
    evaluations.push(row);
  }
  await session.destroy();
  const out = { adapter: ctx.adapterName, date: new Date().toISOString(), config, sft, evaluations };
  mkdirSync('bench-results', { recursive: true });
  writeFileSync('bench-results/playground.json', `${JSON.stringify(out, null, 2)}\n`);
  console.log('wrote bench-results/playground.json');
}
