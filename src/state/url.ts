/**
 * The run config in the URL hash, so that a link reproduces a run (seed included). Every setting is listed once in
 * `SETTINGS`, a typed table of short URL key → config field, and that one table drives both writing and parsing
 * (the TensorFlow Playground `state.ts` pattern).
 *
 * Parsing treats the hash as hostile: it never throws, never evaluates anything and never writes a key it did not
 * define. Each field is checked on its own (format, then the run-config schema and its cross-field rules); a bad one
 * keeps its default and produces a notice naming the key, so one broken value does not discard the rest of the link.
 *
 * The RL settings (`rl`, optional in the config: absent means DEFAULT_RL_CONFIG) are written only when the config
 * has them, and a link without any valid RL key leaves `rl` as it was, so old links and RL-free configs are unchanged.
 */
import type { LengthTag } from '../tasks/types';
import type { RewardConfig } from '../train/rewards';
import {
  DEFAULT_RUN_CONFIG,
  type DecodeConfig,
  type EvalConfig,
  type Intervention,
  PLAYGROUND_MODEL_SIZES,
  type RlConfig,
  RUN_CONFIG_VERSION,
  type RunConfig,
  rlConfigFor,
  runConfigIssues,
  type SftConfig,
  type TaskSettings,
} from '../train/run_config';

/** Longer hashes are ignored whole: every legitimate link is far shorter. */
export const MAX_HASH_CHARS = 2000;
/** Longest raw value accepted for one setting. */
const MAX_VALUE_CHARS = 40;
const VERSION_KEY = 'v';

interface SettingBase {
  /** Short key in the URL hash. */
  key: string;
  /** Dotted config path, as in `runConfigIssues` ("sft.batchSize"). */
  path: string;
  /** 'rl': part of the optional RL section, written only when the config has one. */
  section?: 'rl';
}

export interface NumberSetting extends SettingBase {
  kind: 'number';
  integer: boolean;
  get(c: RunConfig): number;
  set(c: RunConfig, value: number): RunConfig;
}

export interface EnumSetting extends SettingBase {
  kind: 'enum';
  values: readonly string[];
  get(c: RunConfig): string;
  /** Null when `raw` is not one of `values`. */
  parse(c: RunConfig, raw: string): RunConfig | null;
}

/** An ordered list of distinct names, written as a comma list ("short,long") or `empty` for none. */
export interface ListSetting extends SettingBase {
  kind: 'list';
  values: readonly string[];
  /** The value written for an empty list. */
  empty: string;
  /** The encoded list. */
  get(c: RunConfig): string;
  /** Null when `raw` is neither `empty` nor a comma list of `values`. */
  parse(c: RunConfig, raw: string): RunConfig | null;
}

export type Setting = NumberSetting | EnumSetting | ListSetting;

function num(
  key: string,
  path: string,
  integer: boolean,
  get: (c: RunConfig) => number,
  set: (c: RunConfig, v: number) => RunConfig,
): NumberSetting {
  return { kind: 'number', key, path, integer, get, set };
}

function choice<V extends string>(
  key: string,
  path: string,
  values: readonly V[],
  get: (c: RunConfig) => V,
  set: (c: RunConfig, v: V) => RunConfig,
): EnumSetting {
  return {
    kind: 'enum',
    key,
    path,
    values,
    get,
    parse(c, raw) {
      const v = values.find((x) => x === raw);
      return v === undefined ? null : set(c, v);
    },
  };
}

/** A yes/no setting, written as 1 / 0. */
function flag(
  key: string,
  path: string,
  get: (c: RunConfig) => boolean,
  set: (c: RunConfig, v: boolean) => RunConfig,
): EnumSetting {
  return choice(
    key,
    path,
    ['0', '1'],
    (c) => (get(c) ? '1' : '0'),
    (c, v) => set(c, v === '1'),
  );
}

function list<V extends string>(
  key: string,
  path: string,
  values: readonly V[],
  empty: string,
  get: (c: RunConfig) => readonly V[],
  set: (c: RunConfig, v: V[]) => RunConfig,
): ListSetting {
  return {
    kind: 'list',
    key,
    path,
    values,
    empty,
    get: (c) => (get(c).length === 0 ? empty : get(c).join(',')),
    parse(c, raw) {
      if (raw === empty) return set(c, []);
      const items: V[] = [];
      for (const part of raw.split(',')) {
        const v = values.find((x) => x === part);
        if (v === undefined) return null;
        items.push(v);
      }
      // Repeats pass here and are refused by the run-config rules, with their own message.
      return set(c, items);
    },
  };
}

/** `setting` as part of the optional RL section. */
function inRl<S extends Setting>(setting: S): S {
  return { ...setting, section: 'rl' };
}

const task = (c: RunConfig, patch: Partial<TaskSettings>): RunConfig => ({ ...c, task: { ...c.task, ...patch } });
const sft = (c: RunConfig, patch: Partial<SftConfig>): RunConfig => ({ ...c, sft: { ...c.sft, ...patch } });
const evalSet = (c: RunConfig, patch: Partial<EvalConfig>): RunConfig => ({ ...c, eval: { ...c.eval, ...patch } });
const decode = (c: RunConfig, patch: Partial<DecodeConfig>): RunConfig => ({
  ...c,
  decode: { ...c.decode, ...patch },
});

// RL setters start from the config's RL settings, or the defaults when it has none (see rlConfigFor).
const rl = (c: RunConfig, patch: Partial<RlConfig>): RunConfig => ({ ...c, rl: { ...rlConfigFor(c), ...patch } });
const rlLoss = (c: RunConfig, patch: Partial<RlConfig['loss']>): RunConfig =>
  rl(c, { loss: { ...rlConfigFor(c).loss, ...patch } });
const rlReward = (c: RunConfig, patch: Partial<RewardConfig>): RunConfig =>
  rl(c, { reward: { ...rlConfigFor(c).reward, ...patch } });
const rlBudget = (level: LengthTag) =>
  num(
    `rlb${level}`,
    `rl.reward.budgets.${level}`,
    true,
    (c) => rlConfigFor(c).reward.budgets[level],
    (c, v) => rlReward(c, { budgets: { ...rlConfigFor(c).reward.budgets, [level]: v } }),
  );

const INTERVENTIONS: readonly Intervention[] = ['none', 'ts', 'bias', 'cap', 'extend'];
/** Every eval variant of every task; `runConfigIssues` then checks it against the chosen task. */
const EVAL_VARIANT_PATTERN = /^[a-z0-9_]{1,64}$/;

/** Every setting of a run, once. Order is the order written to the URL. */
export const SETTINGS: readonly Setting[] = [
  num(
    'seed',
    'seed',
    true,
    (c) => c.seed,
    (c, seed) => ({ ...c, seed }),
  ),
  choice(
    'task',
    'task.id',
    ['arithmetic', 'general_points', 'sokoban'],
    (c) => c.task.id,
    (c, id) => task(c, { id }),
  ),
  choice(
    'style',
    'task.targetStyle',
    ['cot', 'answer'],
    (c) => c.task.targetStyle,
    (c, targetStyle) => task(c, { targetStyle }),
  ),
  choice(
    'instr',
    'task.instructions',
    ['fixed', 'diverse'],
    (c) => c.task.instructions,
    (c, instructions) => task(c, { instructions }),
  ),
  num(
    'digits',
    'task.arithmeticMaxDigits',
    true,
    (c) => c.task.arithmeticMaxDigits,
    (c, v) => task(c, { arithmeticMaxDigits: v }),
  ),
  choice(
    'trace',
    'task.arithmeticTraceStyle',
    ['distilled', 'concise', 'review'],
    (c) => c.task.arithmeticTraceStyle,
    (c, v) => task(c, { arithmeticTraceStyle: v }),
  ),
  num(
    'thinkcap',
    'task.arithmeticMaxThinkTokens',
    true,
    (c) => c.task.arithmeticMaxThinkTokens,
    (c, v) => task(c, { arithmeticMaxThinkTokens: v }),
  ),
  choice(
    'model',
    'model.size',
    PLAYGROUND_MODEL_SIZES,
    (c) => c.model.size,
    (c, size) => ({ ...c, model: { size } }),
  ),
  num(
    'steps',
    'sft.steps',
    true,
    (c) => c.sft.steps,
    (c, steps) => sft(c, { steps }),
  ),
  num(
    'batch',
    'sft.batchSize',
    true,
    (c) => c.sft.batchSize,
    (c, batchSize) => sft(c, { batchSize }),
  ),
  num(
    'ntrain',
    'sft.trainSize',
    true,
    (c) => c.sft.trainSize,
    (c, trainSize) => sft(c, { trainSize }),
  ),
  num(
    'lr',
    'sft.learningRate',
    false,
    (c) => c.sft.learningRate,
    (c, learningRate) => sft(c, { learningRate }),
  ),
  num(
    'warmup',
    'sft.warmupSteps',
    true,
    (c) => c.sft.warmupSteps,
    (c, warmupSteps) => sft(c, { warmupSteps }),
  ),
  num(
    'wd',
    'sft.weightDecay',
    false,
    (c) => c.sft.weightDecay,
    (c, weightDecay) => sft(c, { weightDecay }),
  ),
  num(
    'clip',
    'sft.gradClipNorm',
    false,
    (c) => c.sft.gradClipNorm,
    (c, gradClipNorm) => sft(c, { gradClipNorm }),
  ),
  num(
    'evalevery',
    'sft.evalLossEverySteps',
    true,
    (c) => c.sft.evalLossEverySteps,
    (c, v) => sft(c, { evalLossEverySteps: v }),
  ),
  num(
    'sampleevery',
    'sft.samplesEverySteps',
    true,
    (c) => c.sft.samplesEverySteps,
    (c, v) => sft(c, { samplesEverySteps: v }),
  ),
  num(
    'ckptevery',
    'sft.checkpointEverySteps',
    true,
    (c) => c.sft.checkpointEverySteps,
    (c, v) => sft(c, { checkpointEverySteps: v }),
  ),
  num(
    'evaln',
    'eval.size',
    true,
    (c) => c.eval.size,
    (c, size) => evalSet(c, { size }),
  ),
  {
    kind: 'enum',
    key: 'evalvar',
    path: 'eval.variant',
    // Checked against the task's variants by runConfigIssues; the pattern keeps junk out of the notice text.
    values: [],
    get: (c) => c.eval.variant,
    parse: (c, raw) => (EVAL_VARIANT_PATTERN.test(raw) ? evalSet(c, { variant: raw }) : null),
  },
  num(
    'evalseed',
    'eval.seed',
    true,
    (c) => c.eval.seed,
    (c, seed) => evalSet(c, { seed }),
  ),
  num(
    'temp',
    'decode.temperature',
    false,
    (c) => c.decode.temperature,
    (c, temperature) => decode(c, { temperature }),
  ),
  num(
    'topk',
    'decode.topK',
    true,
    (c) => c.decode.topK,
    (c, topK) => decode(c, { topK }),
  ),
  num(
    'topp',
    'decode.topP',
    false,
    (c) => c.decode.topP,
    (c, topP) => decode(c, { topP }),
  ),
  choice(
    'stop',
    'decode.intervention',
    INTERVENTIONS,
    (c) => c.decode.intervention,
    (c, intervention) => decode(c, { intervention }),
  ),
  num(
    'tau',
    'decode.stopTemperature',
    false,
    (c) => c.decode.stopTemperature,
    (c, v) => decode(c, { stopTemperature: v }),
  ),
  num(
    'bias',
    'decode.stopLogitBias',
    false,
    (c) => c.decode.stopLogitBias,
    (c, v) => decode(c, { stopLogitBias: v }),
  ),
  num(
    'budget',
    'decode.thinkingBudgetTokens',
    true,
    (c) => c.decode.thinkingBudgetTokens,
    (c, v) => decode(c, { thinkingBudgetTokens: v }),
  ),
  num(
    'minthink',
    'decode.minThinkingTokens',
    true,
    (c) => c.decode.minThinkingTokens,
    (c, v) => decode(c, { minThinkingTokens: v }),
  ),
  num(
    'waits',
    'decode.maxExtensions',
    true,
    (c) => c.decode.maxExtensions,
    (c, v) => decode(c, { maxExtensions: v }),
  ),
  num(
    'maxnew',
    'decode.maxNewTokens',
    true,
    (c) => c.decode.maxNewTokens,
    (c, v) => decode(c, { maxNewTokens: v }),
  ),
  // The RL stage: every field of RlConfig but `temperature`, which must be 1.
  ...[
    num(
      'rlsteps',
      'rl.steps',
      true,
      (c) => rlConfigFor(c).steps,
      (c, steps) => rl(c, { steps }),
    ),
    num(
      'rlprompts',
      'rl.promptsPerStep',
      true,
      (c) => rlConfigFor(c).promptsPerStep,
      (c, promptsPerStep) => rl(c, { promptsPerStep }),
    ),
    num(
      'rlgens',
      'rl.generationsPerPrompt',
      true,
      (c) => rlConfigFor(c).generationsPerPrompt,
      (c, generationsPerPrompt) => rl(c, { generationsPerPrompt }),
    ),
    num(
      'rllr',
      'rl.learningRate',
      false,
      (c) => rlConfigFor(c).learningRate,
      (c, learningRate) => rl(c, { learningRate }),
    ),
    num(
      'rlclip',
      'rl.gradClipNorm',
      false,
      (c) => rlConfigFor(c).gradClipNorm,
      (c, gradClipNorm) => rl(c, { gradClipNorm }),
    ),
    num(
      'rlmaxnew',
      'rl.maxCompletionTokens',
      true,
      (c) => rlConfigFor(c).maxCompletionTokens,
      (c, maxCompletionTokens) => rl(c, { maxCompletionTokens }),
    ),
    choice(
      'rlloss',
      'rl.loss.lossType',
      ['grpo', 'dr_grpo', 'dapo'],
      (c) => rlConfigFor(c).loss.lossType,
      (c, lossType) => rlLoss(c, { lossType }),
    ),
    num(
      'rleps',
      'rl.loss.epsilon',
      false,
      (c) => rlConfigFor(c).loss.epsilon,
      (c, epsilon) => rlLoss(c, { epsilon }),
    ),
    num(
      'rlepshi',
      'rl.loss.epsilonHigh',
      false,
      (c) => rlConfigFor(c).loss.epsilonHigh,
      (c, epsilonHigh) => rlLoss(c, { epsilonHigh }),
    ),
    num(
      'rlbeta',
      'rl.loss.beta',
      false,
      (c) => rlConfigFor(c).loss.beta,
      (c, beta) => rlLoss(c, { beta }),
    ),
    flag(
      'rlmasktrunc',
      'rl.loss.maskTruncatedCompletions',
      (c) => rlConfigFor(c).loss.maskTruncatedCompletions,
      (c, maskTruncatedCompletions) => rlLoss(c, { maskTruncatedCompletions }),
    ),
    num(
      'rliters',
      'rl.numIterations',
      true,
      (c) => rlConfigFor(c).numIterations,
      (c, numIterations) => rl(c, { numIterations }),
    ),
    choice(
      'rlscale',
      'rl.scaleRewards',
      ['group', 'batch', 'none'],
      (c) => rlConfigFor(c).scaleRewards,
      (c, scaleRewards) => rl(c, { scaleRewards }),
    ),
    num(
      'rlstdfloor',
      'rl.stdFloor',
      false,
      (c) => rlConfigFor(c).stdFloor,
      (c, stdFloor) => rl(c, { stdFloor }),
    ),
    num(
      'rlformat',
      'rl.reward.formatReward',
      false,
      (c) => rlConfigFor(c).reward.formatReward,
      (c, formatReward) => rlReward(c, { formatReward }),
    ),
    choice(
      'rlpenalty',
      'rl.reward.lengthPenalty',
      ['none', 'budget', 'group'],
      (c) => rlConfigFor(c).reward.lengthPenalty,
      (c, lengthPenalty) => rlReward(c, { lengthPenalty }),
    ),
    num(
      'rllambda',
      'rl.reward.lambda',
      false,
      (c) => rlConfigFor(c).reward.lambda,
      (c, lambda) => rlReward(c, { lambda }),
    ),
    rlBudget('short'),
    rlBudget('medium'),
    rlBudget('long'),
    // Order matters (prompt i of step s gets levels[(s·P + i) mod L]), so the list is kept as written.
    list(
      'rllevels',
      'rl.levels',
      ['short', 'medium', 'long'],
      'none',
      (c) => rlConfigFor(c).levels,
      (c, levels) => rl(c, { levels }),
    ),
    num(
      'rlsampleevery',
      'rl.evalEverySteps',
      true,
      (c) => rlConfigFor(c).evalEverySteps,
      (c, evalEverySteps) => rl(c, { evalEverySteps }),
    ),
    num(
      'rlckptevery',
      'rl.checkpointEverySteps',
      true,
      (c) => rlConfigFor(c).checkpointEverySteps,
      (c, checkpointEverySteps) => rl(c, { checkpointEverySteps }),
    ),
  ].map(inRl),
];

const BY_KEY: ReadonlyMap<string, Setting> = new Map(SETTINGS.map((s) => [s.key, s]));

/** Plain decimal or exponent notation only ("0.003", "3e-3", "-4"); no hex, "Infinity" or whitespace. */
const NUMBER_PATTERN = /^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** The hash (with '#') that encodes every setting of `config` (the RL ones only when it has RL settings). */
export function configToHash(config: RunConfig): string {
  const params = new URLSearchParams();
  params.set(VERSION_KEY, String(RUN_CONFIG_VERSION));
  for (const s of SETTINGS) {
    if (s.section === 'rl' && config.rl === undefined) continue;
    params.set(s.key, String(s.get(config)));
  }
  return `#${params.toString()}`;
}

export interface HashConfig {
  config: RunConfig;
  /** One line per ignored part of the hash (empty when everything applied). */
  notices: string[];
  /** Whether the hash held any settings at all. */
  found: boolean;
}

/** A short, printable rendering of untrusted text for a notice. */
function shown(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 24 ? `${clean.slice(0, 24)}…` : clean;
}

function applyOne(config: RunConfig, setting: Setting, raw: string): RunConfig | string {
  if (raw.length > MAX_VALUE_CHARS) return 'value too long';
  if (setting.kind === 'list') {
    const next = setting.parse(config, raw);
    if (next !== null) return next;
    return `must be '${setting.empty}' or a comma list of ${setting.values.join(', ')}`;
  }
  if (setting.kind === 'enum') {
    const next = setting.parse(config, raw);
    if (next !== null) return next;
    return setting.values.length > 0 ? `must be one of ${setting.values.join(', ')}` : 'not a valid name';
  }
  if (!NUMBER_PATTERN.test(raw)) return 'not a number';
  const value = Number(raw);
  if (!Number.isFinite(value)) return 'not a finite number';
  if (setting.integer && !Number.isInteger(value)) return 'must be an integer';
  return setting.set(config, value);
}

/**
 * The config a hash describes, starting from `base`: valid settings applied, everything else ignored with a notice.
 * Never throws.
 */
export function configFromHash(hash: string, base: RunConfig = DEFAULT_RUN_CONFIG): HashConfig {
  try {
    const text = hash.startsWith('#') ? hash.slice(1) : hash;
    if (text.trim() === '') return { config: base, notices: [], found: false };
    if (text.length > MAX_HASH_CHARS) {
      return {
        config: base,
        notices: [`The link's settings are too long (${text.length} characters): ignored, using the defaults.`],
        found: true,
      };
    }
    const notices: string[] = [];
    let config = base;
    const seen = new Set<string>();
    const applied = new Set<Setting>();
    for (const [key, raw] of new URLSearchParams(text)) {
      if (key === VERSION_KEY) {
        if (raw !== String(RUN_CONFIG_VERSION)) {
          notices.push(`The link is for settings version '${shown(raw)}'; read as version ${RUN_CONFIG_VERSION}.`);
        }
        continue;
      }
      const setting = BY_KEY.get(key);
      if (setting === undefined) {
        notices.push(`Ignored unknown setting '${shown(key)}' in the link.`);
        continue;
      }
      if (seen.has(key)) {
        notices.push(`Ignored a second value for '${key}' in the link.`);
        continue;
      }
      seen.add(key);
      const result = applyOne(config, setting, raw);
      if (typeof result === 'string') {
        notices.push(`Ignored '${key}=${shown(raw)}' (${setting.path}): ${result}.`);
      } else {
        config = result;
        applied.add(setting);
      }
    }
    // Range and cross-field rules: put each offending setting back to its base value, one round per dependency.
    // An issue about a group of settings ("rl.reward.budgets": short ≤ medium ≤ long) reverts each applied one in it.
    for (let round = 0; round <= SETTINGS.length; round++) {
      const issues = runConfigIssues(config);
      if (issues.length === 0) return { config: keepRlSection(config, base, applied), notices, found: true };
      let reverted = false;
      for (const issue of issues) {
        const settings = SETTINGS.filter(
          (s) =>
            applied.has(s) &&
            (issue.path === s.path || issue.path.startsWith(`${s.path}.`) || s.path.startsWith(`${issue.path}.`)),
        );
        for (const setting of settings) {
          notices.push(
            `Ignored '${setting.key}=${shown(String(setting.get(config)))}' (${setting.path}): ${issue.message}.`,
          );
          config = revert(config, setting, base);
          applied.delete(setting);
          reverted = true;
        }
      }
      if (!reverted) break;
    }
    const left = runConfigIssues(config);
    return {
      config: base,
      notices: [
        ...notices,
        `The link's settings don't fit together (${left.map((i) => `${i.path}: ${i.message}`).join('; ')}): using the defaults.`,
      ],
      found: true,
    };
  } catch (e) {
    return {
      config: base,
      notices: [`The link's settings could not be read (${e instanceof Error ? e.message : String(e)}).`],
      found: true,
    };
  }
}

function revert(config: RunConfig, setting: Setting, base: RunConfig): RunConfig {
  if (setting.kind === 'number') return setting.set(config, setting.get(base));
  return setting.parse(config, setting.get(base)) ?? config;
}

/**
 * `config` with the base's RL section (present or absent) when no RL setting of the link was kept: reverting an RL
 * setting writes the base value into a section that may not have existed, and a link whose RL keys were all refused
 * should read like one without them.
 */
function keepRlSection(config: RunConfig, base: RunConfig, applied: ReadonlySet<Setting>): RunConfig {
  if ([...applied].some((s) => s.section === 'rl')) return config;
  const { rl: _rl, ...rest } = config;
  return base.rl === undefined ? rest : { ...rest, rl: base.rl };
}
