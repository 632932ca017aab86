/**
 * Headless experiments: the playground's pipeline in Node on Dawn (any adapter), driven by a JSON file, writing the
 * same run file the playground imports. `npm run experiment -- <experiment.json>`.
 *
 * An experiment file (untrusted input: validated, never evaluated):
 *   {
 *     "name": "stopping-arithmetic",
 *     "config":      { …any part of a RunConfig, merged over DEFAULT_RUN_CONFIG… },
 *     "evaluations": [ { "decode": { …part of a DecodeConfig… }, "lengthTag": "short", "stage": "sft" }, … ],
 *     "sweeps":      [ { "series": "ts", "values": [0.5, 1, 2], "decode": { "temperature": 0.6 }, "stage": "sft" }, … ],
 *     "seeds":       [1, 2, 3, 4, 5],
 *     "out":         "experiments/out/stopping-arithmetic.stoptime.json"
 *   }
 * `"oracle": { "stage": "sft", "answerTokens": 16, "trace": "greedy" | { "temperature": 0.6 } }` adds the oracle
 * stopping frontier of that stage's weights on config.eval (src/train/oracle.ts: `</think>` forced after every thinking
 * token of each problem's own trace, the answer generated and verified) to the run file's `oracle`.
 * With `seeds` the chain runs once per seed and `out` names a directory (default experiments/out/<name>): a run file
 * per seed (`seed-<s>.stoptime.json`) and the summary across seeds (`summary.json`, `claims.md`; src/headless/cli.ts).
 * Stages: SFT for config.sft.steps steps; then, when the config has an `rl` section, GRPO/TLDR from the SFT weights
 * (src/train/grpo.ts). Each evaluation and sweep runs after its `stage` (default: the last one), evaluations first,
 * with prompts tagged with `lengthTag` when given (TLDR levels). All on the fixed evaluation set config.eval, so
 * `experiments/reproduce-efficient-reasoners.json` chains SFT → baseline, TS and budget-forcing sweeps → TLDR →
 * the three levels in one run.
 * The output holds the config, the metric timeline (RL steps continue the SFT step count), the evaluation points
 * and the final weights.
 */
import { z } from 'zod';
import { ConfigError } from '../model/config';
import type { RunRecord } from '../runs/run_record';
import { getTask } from '../tasks/index';
import type { LengthTag } from '../tasks/types';
import type { Backend, TrainBackend } from '../train/backend';
import { buildEvalSet } from '../train/data';
import { GrpoSession } from '../train/grpo';
import {
  LAB_METHODS,
  LAB_SCALES,
  LAB_TASKS,
  type LabMethodId,
  type LabTask,
  labConfig,
  labMethodsFor,
} from '../train/lab_presets';
import { applySweepValue, decodeSettingText, SERIES_IDS, STAGES } from '../train/methods';
import { METRIC } from '../train/metrics';
import { computeOracle, type OracleResult } from '../train/oracle';
import type { EvalPoint } from '../train/results';
import {
  DEFAULT_RL_CONFIG,
  DEFAULT_RUN_CONFIG,
  type DecodeConfig,
  parseRunConfig,
  type RunConfig,
  zodIssues,
} from '../train/run_config';
import type { SessionEvent } from '../train/session';
import { SftSession } from '../train/sft';
import type { SuiteResult } from '../train/suite_types';
import { percent } from '../util/format';

const plainObject = z.record(z.string().max(64), z.unknown());

export const experimentSchema = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(80)
    .regex(/^[\w.-]+$/, 'letters, digits, "_", "-" and "." only'),
  config: plainObject.optional(),
  evaluations: z
    .array(
      z.strictObject({
        decode: plainObject,
        lengthTag: z.enum(['short', 'medium', 'long']).optional(),
        stage: z.enum(STAGES).optional(),
      }),
    )
    .max(64)
    .optional(),
  sweeps: z
    .array(
      z.strictObject({
        series: z.enum(SERIES_IDS),
        values: z.array(z.number().finite()).min(1).max(32),
        decode: plainObject.optional(),
        lengthTag: z.enum(['short', 'medium', 'long']).optional(),
        stage: z.enum(STAGES).optional(),
      }),
    )
    .max(16)
    .optional(),
  suites: z
    .strictObject({
      size: z.number().int().min(1).max(4096),
      variants: z.array(z.string().min(1).max(64)).min(1).max(64).optional(),
      maxActions: z.number().int().min(1).max(256).optional(),
    })
    .optional(),
  /**
   * Run the whole chain once per seed (config.seed: weights, training data and RL sampling; the evaluation set stays
   * config.eval). `out` then names a directory: one run file per seed, `seed-<s>.stoptime.json`, and the combined
   * summary beside them.
   */
  seeds: z
    .array(
      z
        .number()
        .int()
        .min(0)
        .max(2 ** 31 - 1),
    )
    .min(1)
    .max(32)
    .refine((xs) => new Set(xs).size === xs.length, 'lists a seed twice')
    .optional(),
  out: z.string().min(1).max(400).optional(),
  oracle: z
    .strictObject({
      stage: z.enum(STAGES).optional(),
      answerTokens: z.number().int().min(1).max(64).optional(),
      trace: z.union([z.literal('greedy'), z.strictObject({ temperature: z.number().min(0).max(10) })]).optional(),
      /** Prompts per generate call of the oracle's decoder (truncations of several problems share a batch). */
      rows: z.number().int().min(1).max(4096).optional(),
    })
    .optional(),
});

/**
 * A matrix preset (the SFT-generalization lab): one run per method of src/train/lab_presets.ts on a task and seed,
 * each evaluated on the task's suites; the runner writes every run file and the matrix (JSON and CSV) beside them.
 *   { "name": "generalization-sokoban",
 *     "matrix": { "task": "sokoban", "methods": ["answer", …], "scale": "paper", "seeds": [1, 2, 3], "suiteSize": 64 } }
 * `seeds` (or one `seed`, default 1) trains every method once per seed, seed after seed (every method of the first
 * seed, then of the next, so a run cut short still holds whole matrices); the matrix puts a method's seeds in one row
 * (mean and 95% interval over seeds and episodes: src/runs/matrix.ts). The suites are the same for every seed
 * (config.eval.seed). Run files: `<method>.stoptime.json` with one seed, `<method>-seed-<s>.stoptime.json` with more.
 */
export const matrixPresetSchema = z.strictObject({
  name: experimentSchema.shape.name,
  matrix: z.strictObject({
    task: z.enum(LAB_TASKS as [LabTask, ...LabTask[]]),
    methods: z
      .array(z.enum(LAB_METHODS.map((m) => m.id) as [LabMethodId, ...LabMethodId[]]))
      .min(1)
      .max(LAB_METHODS.length)
      .optional(),
    scale: z.enum(LAB_SCALES).optional(),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .optional(),
    seeds: experimentSchema.shape.seeds,
    suiteSize: z.number().int().min(1).max(4096).optional(),
    maxActions: z.number().int().min(1).max(256).optional(),
  }),
  outDir: z.string().min(1).max(400).optional(),
});

export interface MatrixPreset {
  name: string;
  task: LabTask;
  /** The seeds every method trains with, in order. */
  seeds: number[];
  /** One experiment per seed and method, seed after seed; each writes its run file into `outDir`. */
  experiments: Experiment[];
  outDir: string;
}

/** Whether an untrusted document is a matrix preset (it has a `matrix` key) rather than an experiment. */
export function isMatrixPreset(input: unknown): boolean {
  return isRecord(input) && Object.hasOwn(input, 'matrix');
}

/** Validates a matrix preset and expands it into one experiment per method (a ConfigError names every bad field). */
export function parseMatrixPreset(input: unknown): MatrixPreset {
  const parsed = matrixPresetSchema.safeParse(input);
  if (!parsed.success) throw new ConfigError(zodIssues(parsed.error));
  const { name, matrix } = parsed.data;
  const outDir = parsed.data.outDir ?? `experiments/out/${name}`;
  const available = labMethodsFor(matrix.task).map((m) => m.id);
  const methods = matrix.methods ?? available;
  const issues = methods.flatMap((m, i) =>
    available.includes(m)
      ? []
      : [
          {
            path: `matrix.methods[${i}]`,
            message: `'${m}' needs a diverse-instruction variant, which ${matrix.task} lacks`,
          },
        ],
  );
  if (new Set(methods).size !== methods.length)
    issues.push({ path: 'matrix.methods', message: 'lists a method twice' });
  if (matrix.seed !== undefined && matrix.seeds !== undefined)
    issues.push({ path: 'matrix.seeds', message: "give 'seed' or 'seeds', not both" });
  if (issues.length > 0) throw new ConfigError(issues);
  const seeds = matrix.seeds ?? [matrix.seed ?? 1];
  const experiments = seeds.flatMap((seed) =>
    methods.map((method) => {
      const config = labConfig(matrix.task, method, matrix.scale ?? 'paper', seed);
      const label = LAB_METHODS.find((m) => m.id === method)!.label;
      return {
        name: label,
        config: parseRunConfig(config),
        evaluations: [],
        suites: { size: matrix.suiteSize ?? config.eval.size, variants: null, maxActions: matrix.maxActions ?? null },
        out:
          seeds.length === 1 ? `${outDir}/${method}.stoptime.json` : `${outDir}/${method}-seed-${seed}.stoptime.json`,
        seeds: null,
        oracle: null,
      } satisfies Experiment;
    }),
  );
  return { name, task: matrix.task, seeds, experiments, outDir };
}

/**
 * The preset restricted to `only` of its seeds (the command line's --seeds, to split a matrix across processes or
 * machines; `npm run report` on all their run files prints the whole matrix). Throws naming a seed it does not have.
 */
export function matrixForSeeds(preset: MatrixPreset, only: readonly number[] | null): MatrixPreset {
  if (only === null) return preset;
  const unknown = only.filter((s) => !preset.seeds.includes(s));
  if (unknown.length > 0)
    throw new Error(`--seeds: ${unknown.join(', ')} not among the matrix's seeds (${preset.seeds.join(', ')})`);
  return {
    ...preset,
    seeds: preset.seeds.filter((s) => only.includes(s)),
    experiments: preset.experiments.filter((e) => only.includes(e.config.seed)),
  };
}

export interface ExperimentEvaluation {
  decode: DecodeConfig;
  lengthTag: LengthTag | null;
  stage: 'sft' | 'rl';
}

export interface Experiment {
  name: string;
  config: RunConfig;
  /** Every evaluation, in order (evaluations, then sweep points). */
  evaluations: ExperimentEvaluation[];
  /** Suite evaluation after the last stage (the generalization lab's matrix); null: none. */
  suites: { size: number; variants: string[] | null; maxActions: number | null } | null;
  /** The run file; with `seeds`, the directory of the per-seed run files and the summary. */
  out: string;
  /** Seeds to run the chain for (one run file each); null: once, with config.seed. */
  seeds: number[] | null;
  /** The oracle frontier after `stage` (src/train/oracle.ts); null: none. */
  oracle: ExperimentOracle | null;
}

export interface ExperimentOracle {
  stage: 'sft' | 'rl';
  answerTokens: number;
  trace: 'greedy' | { temperature: number };
  rows: number;
}

/** The run file of one seed of a seeded experiment. */
export function seedRunFile(outDir: string, seed: number): string {
  return `${outDir}/seed-${seed}.stoptime.json`;
}

/** A seeded experiment as one experiment per seed, in the order given (config.seed set, out its run file). */
export function experimentsForSeeds(e: Experiment): Experiment[] {
  if (e.seeds === null) return [e];
  return e.seeds.map((seed) => ({
    ...e,
    config: { ...e.config, seed },
    out: seedRunFile(e.out, seed),
    seeds: null,
  }));
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `over` merged into `base` key by key (objects recursively; arrays and values replace). Own keys only. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isRecord(base) || !isRecord(over)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const key of Object.keys(over)) {
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') continue;
    out[key] = Object.hasOwn(base, key) ? deepMerge(base[key], over[key]) : over[key];
  }
  return out;
}

/** Validates an untrusted experiment document; a ConfigError names every bad field. */
export function parseExperiment(input: unknown): Experiment {
  const parsed = experimentSchema.safeParse(input);
  if (!parsed.success) throw new ConfigError(zodIssues(parsed.error));
  const e = parsed.data;
  let config: RunConfig;
  try {
    // An `rl` section is merged over the RL defaults too (it is optional in a RunConfig, absent from the defaults).
    const base =
      e.config && Object.hasOwn(e.config, 'rl') ? { ...DEFAULT_RUN_CONFIG, rl: DEFAULT_RL_CONFIG } : DEFAULT_RUN_CONFIG;
    config = parseRunConfig(deepMerge(base, e.config ?? {}));
  } catch (err) {
    if (err instanceof ConfigError) {
      throw new ConfigError(err.issues.map((i) => ({ path: `config.${i.path}`, message: i.message })));
    }
    throw err;
  }
  const lastStage = config.rl ? 'rl' : 'sft';
  const evaluations: ExperimentEvaluation[] = [];
  const issues: { path: string; message: string }[] = [];
  const check = (d: unknown, path: string, lengthTag: LengthTag | null, stage: 'sft' | 'rl') => {
    const full = deepMerge(config.decode, d) as DecodeConfig;
    const r = runDecodeIssues(config, full);
    if (r.length > 0) issues.push(...r.map((i) => ({ path: `${path}.${i.path}`, message: i.message })));
    else evaluations.push({ decode: full, lengthTag, stage });
  };
  (e.evaluations ?? []).forEach((ev, i) => {
    if (ev.stage === 'rl' && !config.rl) {
      issues.push({ path: `evaluations[${i}].stage`, message: "'rl' needs an rl section in config" });
    }
    check(ev.decode, `evaluations[${i}].decode`, ev.lengthTag ?? null, ev.stage ?? lastStage);
  });
  (e.sweeps ?? []).forEach((s, i) => {
    if (s.stage === 'rl' && !config.rl) {
      issues.push({ path: `sweeps[${i}].stage`, message: "'rl' needs an rl section in config" });
    }
    const base = deepMerge(config.decode, s.decode ?? {}) as DecodeConfig;
    s.values.forEach((v, j) => {
      check(applySweepValue(s.series, base, v), `sweeps[${i}].values[${j}]`, s.lengthTag ?? null, s.stage ?? lastStage);
    });
  });
  if (issues.length > 0) throw new ConfigError(issues);
  const suites = e.suites
    ? { size: e.suites.size, variants: e.suites.variants ?? null, maxActions: e.suites.maxActions ?? null }
    : null;
  if (suites?.variants) {
    const known = getTask(config.task.id).variants as readonly string[];
    suites.variants.forEach((v, i) => {
      if (!known.includes(v)) {
        issues.push({
          path: `suites.variants[${i}]`,
          message: `'${v}' is not a variant of ${config.task.id} (${known.join(', ')})`,
        });
      }
    });
    if (issues.length > 0) throw new ConfigError(issues);
  }
  const seeds = e.seeds ?? null;
  const out = e.out ?? (seeds ? `experiments/out/${e.name}` : `experiments/out/${e.name}.stoptime.json`);
  if (e.oracle?.stage === 'rl' && !config.rl) {
    throw new ConfigError([{ path: 'oracle.stage', message: "'rl' needs an rl section in config" }]);
  }
  const oracle = e.oracle
    ? {
        stage: e.oracle.stage ?? lastStage,
        answerTokens: e.oracle.answerTokens ?? 16,
        trace: e.oracle.trace ?? ('greedy' as const),
        rows: e.oracle.rows ?? 256,
      }
    : null;
  return { name: e.name, config, evaluations, suites, out, seeds, oracle };
}

/** Problems with a decode config, checked as part of the run config (paths relative to the decode object). */
function runDecodeIssues(config: RunConfig, decode: DecodeConfig): { path: string; message: string }[] {
  try {
    parseRunConfig({ ...config, decode });
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.issues.map((i) => ({ path: i.path.replace(/^decode\.?/, '') || '(decode)', message: i.message }));
  }
}

export interface ExperimentResult {
  run: RunRecord;
  /** Final weights, moments and step. */
  state: Awaited<ReturnType<SftSession['readState']>>;
}

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** How to run an experiment, beyond what it measures (nothing here changes its results). */
export interface RunOptions {
  /** Prompts per generate call of the suite evaluation (SuiteEvalOptions.decodeRows; default the session's). */
  suiteDecodeRows?: number;
}

/**
 * Runs an experiment on `backend`: SFT, then every decode setting. `log` gets one line per progress report (about
 * every `logEveryMs`) and per evaluation.
 */
export async function runExperiment(
  backend: Backend,
  experiment: Experiment,
  log: (line: string) => void = () => {},
  logEveryMs = 2000,
  options: RunOptions = {},
): Promise<ExperimentResult> {
  const { config } = experiment;
  const startedAt = Date.now();
  const t0 = performance.now();
  const run: RunRecord = {
    id: randomId(),
    name: experiment.name,
    createdAt: startedAt,
    updatedAt: startedAt,
    config,
    status: 'running',
    adapter: backend.adapterName,
    stepsDone: 0,
    timeline: [],
    evalPoints: [],
    samples: null,
    checkpointStep: null,
  };
  let lastLogMs = Number.NEGATIVE_INFINITY;
  const onEvent = (e: SessionEvent) => {
    if (e.type === 'metrics') {
      run.timeline.push({ step: e.step, elapsedMs: performance.now() - t0, values: e.values });
      run.stepsDone = e.step;
      const now = performance.now();
      const isStep = e.values[METRIC.trainLoss] !== undefined;
      if (isStep && (now - lastLogMs >= logEveryMs || e.step === config.sft.steps)) {
        lastLogMs = now;
        const v = e.values;
        const fmt = (x: number | undefined, digits: number) => (x === undefined ? '—' : x.toFixed(digits));
        log(
          `step ${e.step}/${config.sft.steps}  loss ${fmt(v[METRIC.trainLoss], 4)}  ${fmt(v[METRIC.tokensPerSecond], 0)} tok/s  ${fmt(v[METRIC.stepTimeMs], 1)} ms/step  ${fmt(v[METRIC.secondsLeft], 0)} s left`,
        );
      }
    } else if (e.type === 'samples') {
      run.samples = { step: e.step, samples: e.samples };
    } else if (e.type === 'status' && e.state === 'error') {
      log(`error: ${e.message}`);
    }
  };
  const evaluate = async (s: SftSession | GrpoSession, stage: 'sft' | 'rl', stepOffset: number) => {
    for (const ev of experiment.evaluations.filter((x) => x.stage === stage)) {
      const p: EvalPoint = await s.evaluate(ev.decode, { ...config.eval, lengthTag: ev.lengthTag });
      p.step += stepOffset;
      run.evalPoints.push(p);
      log(describePoint(p));
    }
  };
  const oracle = async (trainer: TrainBackend, stage: 'sft' | 'rl', step: number) => {
    const o = experiment.oracle;
    if (o === null || o.stage !== stage) return;
    const decoder = backend.createDecoder(trainer, o.rows);
    const oracleStart = performance.now();
    let lastMs = Number.NEGATIVE_INFINITY;
    try {
      run.oracle = await computeOracle(decoder, buildEvalSet(config, config.eval), {
        answerTokens: o.answerTokens,
        trace: o.trace,
        maxNewTokens: config.decode.maxNewTokens,
        seed: config.eval.seed,
        step,
        stage,
        onProgress: (done, total) => {
          const now = performance.now();
          if (now - lastMs < logEveryMs && done < total) return;
          lastMs = now;
          log(`oracle ${done}/${total} rows  ${((now - oracleStart) / 1000).toFixed(0)} s`);
        },
      });
    } finally {
      decoder.destroy();
    }
    log(describeOracle(run.oracle));
  };
  // Draw every evaluation set now, so one that cannot be drawn (eval.size above the held-out problems a small task
  // has) fails before training, not after it.
  if (experiment.evaluations.length > 0 || experiment.oracle) {
    const tags = new Set(experiment.evaluations.map((ev) => ev.lengthTag ?? null));
    if (experiment.oracle) tags.add(null);
    for (const lengthTag of tags) buildEvalSet(config, { ...config.eval, lengthTag });
  }
  const session = new SftSession(backend, config, onEvent);
  let rl: GrpoSession | null = null;
  try {
    const summary = await session.run();
    run.stepsDone = summary.steps;
    const evalLoss = run.timeline.findLast((p) => p.values[METRIC.evalLoss] !== undefined)?.values[METRIC.evalLoss];
    const counts = run.timeline.findLast((p) => p.values[METRIC.examplesSeen] !== undefined)?.values;
    const examples = counts
      ? `, ${counts[METRIC.examplesSeen]} examples seen (${counts[METRIC.distinctExamples]} distinct, ${config.sft.data ?? 'fixed'} data)`
      : '';
    log(
      `SFT done: ${summary.steps} steps in ${((performance.now() - t0) / 1000).toFixed(1)} s, held-out loss ${evalLoss?.toFixed(4) ?? '—'}${examples}`,
    );
    await evaluate(session, 'sft', 0);
    await oracle(session.trainBackend, 'sft', summary.steps);
    let state = await session.readState();
    if (config.rl) {
      const sftSteps = summary.steps;
      run.rlStartStep = sftSteps;
      const rlSteps = config.rl.steps;
      const rlStart = performance.now();
      lastLogMs = Number.NEGATIVE_INFINITY;
      rl = new GrpoSession(
        backend,
        config,
        (e) => {
          if (e.type === 'rollouts') return;
          if (e.type === 'metrics') {
            // RL steps continue the SFT step count on the timeline.
            run.timeline.push({ step: sftSteps + e.step, elapsedMs: performance.now() - t0, values: e.values });
            run.stepsDone = sftSteps + e.step;
            const now = performance.now();
            const v = e.values;
            if (v[METRIC.rlRewardMean] !== undefined && (now - lastLogMs >= logEveryMs || e.step === rlSteps)) {
              lastLogMs = now;
              const f = (x: number | undefined, d: number) => (x === undefined ? '—' : x.toFixed(d));
              log(
                `rl step ${e.step}/${rlSteps}  reward ${f(v[METRIC.rlRewardMean], 3)}  accuracy ${f(v[METRIC.rlAccuracy], 3)}  thinking ${f(v[METRIC.rlThinkingTokensMean], 1)}  ${f(v[METRIC.stepTimeMs], 0)} ms/step`,
              );
            }
          } else onEvent(e);
        },
        state,
      );
      await rl.run();
      log(`RL done: ${rlSteps} steps in ${((performance.now() - rlStart) / 1000).toFixed(1)} s`);
      await evaluate(rl, 'rl', sftSteps);
      await oracle(rl.trainBackend, 'rl', sftSteps + rl.step);
      // The checkpoint is named by its timeline step (SFT steps + RL steps), as the playground saves it, not by the
      // RL optimiser's own counter.
      state = { ...(await rl.readState()), step: sftSteps + rl.step };
    }
    if (experiment.suites) {
      const last = rl ?? session;
      const suitesStart = performance.now();
      const results = await last.evaluateSuites({
        size: experiment.suites.size,
        seed: config.eval.seed,
        decode: config.decode,
        ...(experiment.suites.variants ? { variants: experiment.suites.variants } : {}),
        ...(experiment.suites.maxActions !== null ? { maxActions: experiment.suites.maxActions } : {}),
        ...(options.suiteDecodeRows !== undefined ? { decodeRows: options.suiteDecodeRows } : {}),
      });
      run.suiteResults = results;
      for (const r of results) log(describeSuite(r));
      log(`suites done in ${((performance.now() - suitesStart) / 1000).toFixed(1)} s`);
    }
    run.status = 'finished';
    run.updatedAt = Date.now();
    run.checkpointStep = state.step;
    return { run, state };
  } finally {
    await rl?.destroy();
    await session.destroy();
  }
}

/**
 * One line per suite: suite, kind, success rate with its count, mean thinking tokens (and actions per episode), time,
 * and how many problems failed because a prompt did not fit the context (when any did).
 */
export function describeSuite(r: SuiteResult): string {
  const rate = r.problems === 0 ? 0 : (100 * r.successes) / r.problems;
  const actions = r.meanActions === null ? '' : `  ${r.meanActions.toFixed(1)} actions/episode`;
  const tooLong = (r.tooLong ?? 0) > 0 ? `  ${r.tooLong} too long for the context` : '';
  return `suite ${r.suite.padEnd(14)} ${r.kind.padEnd(11)} ${rate.toFixed(1).padStart(5)}% (${r.successes}/${r.problems})  thinking ${r.meanThinkingTokens.toFixed(1)}${actions}  ${r.evalTimeMs.toFixed(0)} ms${tooLong}`;
}

/** The oracle's summary in two lines (src/train/oracle.ts). */
export function describeOracle(r: OracleResult): string {
  const s = r.summary;
  const after = s.meanTokensAfterCorrect === null ? '—' : s.meanTokensAfterCorrect.toFixed(1);
  return (
    `oracle (${r.problems.length} problems, ${r.trace === 'greedy' ? 'greedy' : `T=${r.trace.temperature}`} traces, stop after every token): ` +
    `own ${percent(s.ownAccuracy)} at ${s.ownMeanThinkingTokens.toFixed(1)} thinking tokens; oracle ${percent(s.oracleAccuracy)} at ${s.oracleMeanThinkingTokens.toFixed(1)}; ` +
    `at step boundaries ${percent(s.stepsOracleAccuracy)} at ${s.stepsOracleMeanThinkingTokens.toFixed(1)}; without thinking ${percent(s.accuracyWithoutThinking)}\n` +
    `  thinking after the answer was right: ${after} tokens per right problem (${percent(s.fractionThinkingAfterCorrect)} of all thinking); ` +
    `right earlier but wrong at the own stop: ${s.rightThenWrong}; right → wrong → right: ${s.unstableRight}  ${(r.evalTimeMs / 1000).toFixed(1)} s`
  );
}

/** One line: method and knob, accuracy, mean thinking tokens (correct / wrong), stop rate, time. */
export function describePoint(p: EvalPoint): string {
  const f = (x: number | null) => (x === null ? '—' : x.toFixed(1));
  const series = p.lengthTag ? `${p.series} <${p.lengthTag}>` : p.series;
  return `${series.padEnd(18)} ${decodeSettingText(p.series, p.decode).padEnd(24)} accuracy ${(100 * p.accuracy).toFixed(1).padStart(5)}%  thinking ${f(p.meanThinkingTokens)} (correct ${f(p.meanThinkingTokensCorrect)}, wrong ${f(p.meanThinkingTokensWrong)})  stop ${(100 * p.stopRate).toFixed(0)}%  ${p.evalTimeMs.toFixed(0)} ms`;
}
