/**
 * `npm run bench -- suites [--task sokoban|general_points] [--scale paper|software|smoke] [--size N]
 * [--max-actions N] [--max-new-tokens N] [--rows N,N…] [--variants a,b] [--sft-steps N] [--apart] [--out FILE]`:
 * the lab's evaluation suites, timed on the adapter Dawn finds (issue 12's target: a paper-scale Sokoban suite set,
 * 32 episodes a suite, in at most 15 s on the H200).
 *
 * The model is the scale's (`labConfig(task, 'cot', scale)`: paper → 'medium'), with fresh weights, or after
 * `--sft-steps` steps of the method's SFT. Fresh weights rarely end an answer or solve a level: every episode plays
 * all its actions and most turns run to the token limit, the most work the settings allow. The suites are evaluated
 * together, as the lab does (suites.ts), once per decoder size in `--rows` (default 32, the sessions' decoder); with
 * `--apart` also one suite per call at the first size, as before suites shared generation chunks. Every run is compared
 * with the first: greedy decoding gives equal results up to f32 rounding of the GPU's prefill. Prints and writes
 * (default bench-results/suites.json) each run's wall time, policy calls, prompts, completion tokens and tokens/s, and
 * how many suites' results differ from the first run's, naming the adapter.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { isSoftwareAdapter } from '../src/gpu/context';
import { createNodeGpuContext } from '../src/headless/dawn';
import { GREEDY } from '../src/model/generate';
import { getTask } from '../src/tasks/index';
import { encode } from '../src/tasks/tokenizer';
import type { DecodeBackend } from '../src/train/backend';
import { createGpuBackend } from '../src/train/backend_gpu';
import { LAB_SCALES, LAB_TASKS, type LabScale, type LabTask, labConfig } from '../src/train/lab_presets';
import { modelConfigFor } from '../src/train/run_config';
import { DEFAULT_DECODE_ROWS, SftSession } from '../src/train/sft';
import type { SuiteResult } from '../src/train/suite_types';
import { decoderPolicy, evaluateSuitesWith, type SuitePolicy } from '../src/train/suites';

/** Issue 12's target for a paper-scale Sokoban suite set on the H200. */
const TARGET_SOKOBAN_SET_MS = 15_000;

interface SuitesArgs {
  task: LabTask;
  scale: LabScale;
  size: number | null;
  maxActions: number | null;
  maxNewTokens: number | null;
  /** Decoder rows of each timed run, in order. */
  rows: number[];
  variants: string[] | null;
  sftSteps: number;
  apart: boolean;
  out: string;
}

export function parseSuitesArgs(argv: readonly string[]): SuitesArgs {
  const args: SuitesArgs = {
    task: 'sokoban',
    scale: 'paper',
    size: 32,
    maxActions: null,
    maxNewTokens: null,
    rows: [DEFAULT_DECODE_ROWS],
    variants: null,
    sftSteps: 0,
    apart: false,
    out: 'bench-results/suites.json',
  };
  const count = (flag: string, v: string | undefined, min: number) => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n < min) {
      throw new Error(`${flag} takes an integer ≥ ${min}, got ${v ?? 'nothing'}`);
    }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i]!;
    if (key === '--apart') {
      args.apart = true;
      continue;
    }
    const value = argv[++i];
    if (key === '--task') {
      if (!LAB_TASKS.includes(value as LabTask))
        throw new Error(`--task takes ${LAB_TASKS.join(' or ')}, got ${value}`);
      args.task = value as LabTask;
    } else if (key === '--scale') {
      if (!LAB_SCALES.includes(value as LabScale))
        throw new Error(`--scale takes ${LAB_SCALES.join(', ')}, got ${value}`);
      args.scale = value as LabScale;
    } else if (key === '--size') args.size = count(key, value, 1);
    else if (key === '--max-actions') args.maxActions = count(key, value, 1);
    else if (key === '--max-new-tokens') args.maxNewTokens = count(key, value, 1);
    else if (key === '--rows') args.rows = (value ?? '').split(',').map((v) => count(key, v, 1));
    else if (key === '--sft-steps') args.sftSteps = count(key, value, 0);
    else if (key === '--variants') args.variants = (value ?? '').split(',').filter((v) => v.length > 0);
    else if (key === '--out') {
      if (!value) throw new Error('--out takes a file name');
      args.out = value;
    } else throw new Error(`unknown option ${key}`);
  }
  const variants = getTask(args.task).variants as readonly string[];
  for (const v of args.variants ?? []) {
    if (!variants.includes(v))
      throw new Error(`--variants: ${args.task} has no variant '${v}' (${variants.join(', ')})`);
  }
  return args;
}

/** Counts what a policy generated: calls, prompts and completion tokens. */
function counting(policy: SuitePolicy) {
  const counts = { calls: 0, prompts: 0, completionTokens: 0 };
  const counted: SuitePolicy = async (requests) => {
    const replies = await policy(requests);
    counts.calls++;
    for (const r of replies.flat()) {
      if (!r.ok) continue;
      counts.prompts++;
      counts.completionTokens += encode(r.completion).length;
    }
    return replies;
  };
  return { counts, policy: counted };
}

export async function benchSuites(argv: readonly string[]): Promise<void> {
  const args = parseSuitesArgs(argv);
  const ctx = await createNodeGpuContext();
  const software = isSoftwareAdapter(ctx);
  console.log(`adapter: ${ctx.adapterName}${software ? ' (software)' : ''}`);
  const base = labConfig(args.task, 'cot', args.scale);
  const config = {
    ...base,
    // A session needs at least one step in its config; with --sft-steps 0 it is never run.
    sft: { ...base.sft, steps: Math.max(1, args.sftSteps), samplesEverySteps: 0, evalLossEverySteps: 0 },
    decode: { ...base.decode, maxNewTokens: args.maxNewTokens ?? base.decode.maxNewTokens },
  };
  const backend = createGpuBackend(ctx);
  const session = new SftSession(backend, config, () => {});
  const t0 = performance.now();
  if (args.sftSteps > 0) await session.run();
  const sftMs = performance.now() - t0;
  const contextLength = modelConfigFor(config).contextLength;
  const opts = {
    size: args.size ?? config.eval.size,
    seed: config.eval.seed,
    decode: config.decode,
    ...(args.variants ? { variants: args.variants } : {}),
    ...(args.maxActions !== null ? { maxActions: args.maxActions } : {}),
  };
  const variants = args.variants ?? [...getTask(args.task).variants];
  console.log(
    `${args.task}, ${args.scale} scale (${config.model.size}, context ${contextLength}), ${args.sftSteps} SFT steps; ` +
      `${variants.length} suites × ${opts.size} problems, ${opts.maxActions ?? 'the task config’s'} actions, ` +
      `${config.decode.maxNewTokens} new tokens at most`,
  );
  const run = async (
    label: string,
    decoder: DecodeBackend,
    evaluate: (policy: SuitePolicy) => Promise<SuiteResult[]>,
  ) => {
    const { counts, policy } = counting(decoderPolicy(decoder, contextLength, config.decode));
    const s0 = performance.now();
    const results = await evaluate(policy);
    const wallMs = performance.now() - s0;
    const row = {
      label,
      decoderRows: decoder.rows,
      wallMs,
      policyCalls: counts.calls,
      prompts: counts.prompts,
      completionTokens: counts.completionTokens,
      completionTokensPerSecond: (counts.completionTokens * 1000) / wallMs,
      successes: results.reduce((n, r) => n + r.successes, 0),
      problems: results.reduce((n, r) => n + r.problems, 0),
    };
    console.log(
      `  ${label.padEnd(34)} ${(wallMs / 1000).toFixed(2).padStart(8)} s  ${row.policyCalls} policy calls, ${row.prompts} prompts, ${row.completionTokens} completion tokens (${row.completionTokensPerSecond.toFixed(0)}/s), ${row.successes}/${row.problems} solved`,
    );
    return { row, results };
  };
  // Suites whose results differ from the first run's (the time aside). Greedy decoding gives equal results up to f32
  // rounding: the GPU's prefill pads to each chunk's longest prompt, which can flip a near-tie (fresh weights
  // have many).
  const strip = (r: SuiteResult) => JSON.stringify({ ...r, evalTimeMs: 0 });
  const differing = (a: SuiteResult[], b: SuiteResult[]) => a.filter((r, i) => strip(r) !== strip(b[i]!)).length;
  const runs: (Awaited<ReturnType<typeof run>>['row'] & { suitesDiffering: number })[] = [];
  let first: SuiteResult[] | null = null;
  const paperSokoban =
    args.task === 'sokoban' &&
    args.scale === 'paper' &&
    opts.size === 32 &&
    !args.variants &&
    args.maxActions === null &&
    args.maxNewTokens === null;
  // Written after every run, so a run cut short by a time limit leaves the ones before it.
  const save = () => {
    const report = {
      adapter: ctx.adapterName,
      software,
      date: new Date().toISOString(),
      task: args.task,
      scale: args.scale,
      model: config.model.size,
      contextLength,
      sftSteps: args.sftSteps,
      sftMs,
      suites: variants,
      size: opts.size,
      maxActions: opts.maxActions ?? null,
      maxNewTokens: config.decode.maxNewTokens,
      runs,
      targetMs: paperSokoban ? TARGET_SOKOBAN_SET_MS : null,
    };
    mkdirSync(dirname(args.out), { recursive: true });
    writeFileSync(args.out, `${JSON.stringify(report, null, 2)}\n`);
  };
  const done = (row: Awaited<ReturnType<typeof run>>['row'], results: SuiteResult[]) => {
    first ??= results;
    const r = { ...row, suitesDiffering: differing(results, first) };
    runs.push(r);
    if (runs.length > 1) {
      console.log(
        `    ${(r.wallMs / runs[0]!.wallMs).toFixed(2)}× the time of the first run; ${r.suitesDiffering} of ${variants.length} suites' results differ from it`,
      );
    }
    save();
  };
  for (const rows of args.rows) {
    const decoder = backend.createDecoder(session.trainBackend, rows);
    // Warm-up: pipelines compile on the first generation.
    await decoder.generate([[1, 2, 3]], { maxNewTokens: 2, sampling: GREEDY, seed: 0, eosId: -1 });
    const together = await run(`suites together, ${rows} rows`, decoder, (policy) =>
      evaluateSuitesWith(policy, config, opts),
    );
    done(together.row, together.results);
    if (args.apart && rows === args.rows[0]) {
      const apart = await run(`one suite per call, ${rows} rows`, decoder, async (policy) => {
        const out: SuiteResult[] = [];
        for (const v of variants) out.push(...(await evaluateSuitesWith(policy, config, { ...opts, variants: [v] })));
        return out;
      });
      done(apart.row, apart.results);
    }
    decoder.destroy();
  }
  // The lab evaluates suites together; the fastest decoder size is what it can do.
  const best = Math.min(...runs.filter((r) => r.label.startsWith('suites together')).map((r) => r.wallMs));
  if (paperSokoban && !software) {
    const met = best <= TARGET_SOKOBAN_SET_MS;
    console.log(
      `  target (paper-scale Sokoban suite set ≤ ${TARGET_SOKOBAN_SET_MS / 1000} s): ${met ? 'met' : 'missed'} (fastest ${(best / 1000).toFixed(2)} s)`,
    );
  }
  console.log(`wrote ${args.out}`);
  await session.destroy();
}
