/**
 * The run config in the URL hash, so that a link reproduces a run (seed included). Every setting is one row of
 * `ROWS`: a short URL key and the config path it stands for. What a value may be is read from the config's zod schema
 * (runConfigSchema) at that path: a number (an integer or not), one of an enum's names, a yes/no flag (1 / 0), a list
 * of an enum's names, or a name. That one table drives both writing and parsing (the TensorFlow Playground `state.ts`
 * pattern).
 *
 * Parsing treats the hash as hostile: it never throws, never evaluates anything and never writes a key it did not
 * define. Each field is checked on its own (format, then the run-config schema and its cross-field rules); a bad one
 * keeps its default and produces a notice naming the key, so one broken value does not discard the rest of the link.
 *
 * The RL settings (`rl`, optional in the config: absent means DEFAULT_RL_CONFIG) are written only when the config
 * has them, and a link without any valid RL key leaves `rl` as it was, so old links and RL-free configs are unchanged.
 */
import { z } from 'zod';
import {
  DEFAULT_RUN_CONFIG,
  RUN_CONFIG_VERSION,
  type RunConfig,
  rlConfigFor,
  runConfigIssues,
  runConfigSchema,
} from '../train/run_config';

/** Longer hashes are ignored whole: every legitimate link is far shorter. */
export const MAX_HASH_CHARS = 2000;
/** Longest raw value accepted for one setting. */
const MAX_VALUE_CHARS = 40;
const VERSION_KEY = 'v';

/** The dotted path of every leaf of the run config (arrays are leaves), e.g. "sft.batchSize". */
type LeafPaths<T> = {
  [K in keyof T & string]-?: NonNullable<T[K]> extends readonly unknown[]
    ? K
    : NonNullable<T[K]> extends object
      ? `${K}.${LeafPaths<NonNullable<T[K]>>}`
      : K;
}[keyof T & string];
export type ConfigPath = LeafPaths<RunConfig>;

/** Every setting of a run, once: URL key and config path. Order is the order written to the URL. */
const ROWS: readonly (readonly [key: string, path: ConfigPath])[] = [
  ['seed', 'seed'],
  ['task', 'task.id'],
  ['style', 'task.targetStyle'],
  ['instr', 'task.instructions'],
  ['digits', 'task.arithmeticMaxDigits'],
  ['trace', 'task.arithmeticTraceStyle'],
  ['thinkcap', 'task.arithmeticMaxThinkTokens'],
  ['model', 'model.size'],
  ['ctx', 'model.contextLength'],
  ['steps', 'sft.steps'],
  ['batch', 'sft.batchSize'],
  ['ntrain', 'sft.trainSize'],
  ['data', 'sft.data'],
  ['lr', 'sft.learningRate'],
  ['warmup', 'sft.warmupSteps'],
  ['wd', 'sft.weightDecay'],
  ['clip', 'sft.gradClipNorm'],
  ['evalevery', 'sft.evalLossEverySteps'],
  ['sampleevery', 'sft.samplesEverySteps'],
  ['ckptevery', 'sft.checkpointEverySteps'],
  ['evaln', 'eval.size'],
  ['evalvar', 'eval.variant'],
  ['evalseed', 'eval.seed'],
  ['temp', 'decode.temperature'],
  ['topk', 'decode.topK'],
  ['topp', 'decode.topP'],
  ['stop', 'decode.intervention'],
  ['tau', 'decode.stopTemperature'],
  ['bias', 'decode.stopLogitBias'],
  ['tauz', 'decode.stopLogitTemperature'],
  ['margin', 'decode.stopMarginNats'],
  ['marginsteps', 'decode.stopMarginAtSteps'],
  ['budget', 'decode.thinkingBudgetTokens'],
  ['minthink', 'decode.minThinkingTokens'],
  ['waits', 'decode.maxExtensions'],
  ['maxnew', 'decode.maxNewTokens'],
  // The RL stage: every field of RlConfig but `temperature`, which must be 1.
  ['rlsteps', 'rl.steps'],
  ['rlprompts', 'rl.promptsPerStep'],
  ['rlgens', 'rl.generationsPerPrompt'],
  ['rllr', 'rl.learningRate'],
  ['rlclip', 'rl.gradClipNorm'],
  ['rlmaxnew', 'rl.maxCompletionTokens'],
  ['rlloss', 'rl.loss.lossType'],
  ['rleps', 'rl.loss.epsilon'],
  ['rlepshi', 'rl.loss.epsilonHigh'],
  ['rlbeta', 'rl.loss.beta'],
  ['rlmasktrunc', 'rl.loss.maskTruncatedCompletions'],
  ['rliters', 'rl.numIterations'],
  ['rlscale', 'rl.scaleRewards'],
  ['rlstdfloor', 'rl.stdFloor'],
  ['rlformat', 'rl.reward.formatReward'],
  ['rlpenalty', 'rl.reward.lengthPenalty'],
  ['rllambda', 'rl.reward.lambda'],
  ['rlbshort', 'rl.reward.budgets.short'],
  ['rlbmedium', 'rl.reward.budgets.medium'],
  ['rlblong', 'rl.reward.budgets.long'],
  // Order matters (prompt i of step s gets levels[(s·P + i) mod L]), so the list is kept as written.
  ['rllevels', 'rl.levels'],
  ['rlsampleevery', 'rl.evalEverySteps'],
  ['rlckptevery', 'rl.checkpointEverySteps'],
];

/** A setting: its row, what its values may be (from the schema), and how it reads and writes a config. */
export interface Setting {
  /** Short key in the URL hash. */
  key: string;
  /** Dotted config path, as in `runConfigIssues` ("sft.batchSize"). */
  path: ConfigPath;
  /** 'rl': part of the optional RL section, written only when the config has one. */
  section?: 'rl';
  /**
   * 'number' (`integer` or not); 'enum': one of `values` (a flag: 0 / 1); 'list': `empty` or a comma list of distinct
   * `values`; 'name': a short lowercase name (eval.variant, checked against the task by runConfigIssues).
   */
  kind: 'number' | 'enum' | 'list' | 'name';
  integer: boolean;
  values: readonly string[];
  /** The value as written in the URL. */
  get(c: RunConfig): string;
  /** `c` with the value `raw` stands for, or why `raw` is refused. */
  parse(c: RunConfig, raw: string): RunConfig | string;
}

/** The value written for an empty list. */
const EMPTY_LIST = 'none';
/** Plain decimal or exponent notation only ("0.003", "3e-3", "-4"); no hex, "Infinity" or whitespace. */
const NUMBER_PATTERN = /^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
/** Names (eval variants of every task); `runConfigIssues` then checks one against the chosen task. */
const NAME_PATTERN = /^[a-z0-9_]{1,64}$/;

/** How one kind of value is written and read. */
interface Codec {
  kind: Setting['kind'];
  integer: boolean;
  values: readonly string[];
  encode(value: unknown): string;
  /** The value, or why `raw` is refused. */
  decode(raw: string): { value: unknown } | string;
}

/** The schema of `path` in runConfigSchema, with optional, nullable and default wrappers taken off. */
function schemaAt(path: string): z.core.$ZodType {
  let schema: z.core.$ZodType = runConfigSchema;
  for (const part of path.split('.')) {
    const object = unwrapped(schema);
    if (!(object instanceof z.ZodObject)) throw new Error(`url: '${path}' is not a path of the run config`);
    const next: z.core.$ZodType | undefined = object.shape[part];
    if (next === undefined) throw new Error(`url: '${path}' is not a path of the run config`);
    schema = next;
  }
  return unwrapped(schema);
}

function unwrapped(schema: z.core.$ZodType): z.core.$ZodType {
  let s = schema;
  for (;;) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodNullable || s instanceof z.ZodDefault) s = s.unwrap();
    else if (s instanceof z.ZodPipe) s = s.in;
    else return s;
  }
}

function enumValues(schema: z.core.$ZodType): readonly string[] | null {
  return schema instanceof z.ZodEnum ? (schema.options as readonly unknown[]).map(String) : null;
}

/** The codec of the schema at `path`: what its values may be in the URL. */
function codecFor(path: string): Codec {
  const schema = schemaAt(path);
  const values = enumValues(schema);
  if (schema instanceof z.ZodNumber) {
    const integer = schema.isInt;
    return {
      kind: 'number',
      integer,
      values: [],
      encode: String,
      decode(raw) {
        if (!NUMBER_PATTERN.test(raw)) return 'not a number';
        const value = Number(raw);
        if (!Number.isFinite(value)) return 'not a finite number';
        if (integer && !Number.isInteger(value)) return 'must be an integer';
        return { value };
      },
    };
  }
  if (values !== null || schema instanceof z.ZodBoolean) {
    const flag = values === null;
    const names = values ?? ['0', '1'];
    return {
      kind: 'enum',
      integer: false,
      values: names,
      encode: (v) => (flag ? (v ? '1' : '0') : String(v)),
      decode(raw) {
        const name = names.find((x) => x === raw);
        if (name === undefined) return `must be one of ${names.join(', ')}`;
        return { value: flag ? name === '1' : name };
      },
    };
  }
  const items = schema instanceof z.ZodArray ? enumValues(schema.element) : null;
  if (items !== null) {
    return {
      kind: 'list',
      integer: false,
      values: items,
      encode: (v) => (Array.isArray(v) && v.length > 0 ? v.join(',') : EMPTY_LIST),
      decode(raw) {
        if (raw === EMPTY_LIST) return { value: [] };
        const list: string[] = [];
        for (const part of raw.split(',')) {
          const name = items.find((x) => x === part);
          if (name === undefined) return `must be '${EMPTY_LIST}' or a comma list of ${items.join(', ')}`;
          list.push(name);
        }
        // Repeats pass here and are refused by the run-config rules, with their own message.
        return { value: list };
      },
    };
  }
  if (schema instanceof z.ZodString) {
    return {
      kind: 'name',
      integer: false,
      values: [],
      encode: String,
      decode: (raw) => (NAME_PATTERN.test(raw) ? { value: raw } : 'not a valid name'),
    };
  }
  throw new Error(`url: no URL form for the schema of '${path}'`);
}

/** The config as a setting of `section` sees it: RL settings start from the defaults when the config has none. */
function rooted(c: RunConfig, section: Setting['section']): Record<string, unknown> {
  return section === 'rl' ? { ...c, rl: rlConfigFor(c) } : { ...c };
}

function valueAt(o: Record<string, unknown>, parts: readonly string[]): unknown {
  let v: unknown = o;
  for (const part of parts) v = (v as Record<string, unknown>)[part];
  return v;
}

/** `o` with `value` at `parts` (copied along the path; `parts` come from the table, never from the URL). */
function withValueAt(o: Record<string, unknown>, parts: readonly string[], value: unknown): Record<string, unknown> {
  const [head, ...rest] = parts;
  if (head === undefined) return o;
  const inner = rest.length === 0 ? value : withValueAt(o[head] as Record<string, unknown>, rest, value);
  return { ...o, [head]: inner };
}

/**
 * Written for an optional setting left out of the config: `ctx=size` (the model size's own context), else `default`
 * (the code's default for that setting).
 */
function absentWord(path: string): string {
  return path === 'model.contextLength' ? 'size' : 'default';
}

/** Whether the setting at `path` may be absent from a config (its schema is optional). */
function optionalAt(path: string): boolean {
  const parts = path.split('.');
  const parent = parts.length === 1 ? runConfigSchema : schemaAt(parts.slice(0, -1).join('.'));
  return parent instanceof z.ZodObject && parent.shape[parts.at(-1)!] instanceof z.ZodOptional;
}

/** `codec` with the absent value written as `word` (optional settings). */
function orAbsent(codec: Codec, word: string): Codec {
  return {
    ...codec,
    encode: (v) => (v === undefined ? word : codec.encode(v)),
    decode: (raw) => (raw === word ? { value: undefined } : codec.decode(raw)),
  };
}

function setting(key: string, path: ConfigPath): Setting {
  const codec = optionalAt(path) ? orAbsent(codecFor(path), absentWord(path)) : codecFor(path);
  const parts = path.split('.');
  const section = parts[0] === 'rl' ? 'rl' : undefined;
  return {
    key,
    path,
    ...(section ? { section } : {}),
    kind: codec.kind,
    integer: codec.integer,
    values: codec.values,
    get: (c) => codec.encode(valueAt(rooted(c, section), parts)),
    parse(c, raw) {
      const decoded = codec.decode(raw);
      if (typeof decoded === 'string') return decoded;
      // The schema and the types agree on the value's type at this path (codecFor read it from there).
      return withValueAt(rooted(c, section), parts, decoded.value) as unknown as RunConfig;
    },
  };
}

/** Every setting of a run, once, in URL order. */
export const SETTINGS: readonly Setting[] = ROWS.map(([key, path]) => setting(key, path));

const BY_KEY: ReadonlyMap<string, Setting> = new Map(SETTINGS.map((s) => [s.key, s]));

/** The hash (with '#') that encodes every setting of `config` (the RL ones only when it has RL settings). */
export function configToHash(config: RunConfig): string {
  const params = new URLSearchParams();
  params.set(VERSION_KEY, String(RUN_CONFIG_VERSION));
  for (const s of SETTINGS) {
    if (s.section === 'rl' && config.rl === undefined) continue;
    params.set(s.key, s.get(config));
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
  return raw.length > MAX_VALUE_CHARS ? 'value too long' : setting.parse(config, raw);
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
          notices.push(`Ignored '${setting.key}=${shown(setting.get(config))}' (${setting.path}): ${issue.message}.`);
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
  const next = setting.parse(config, setting.get(base));
  return typeof next === 'string' ? config : next;
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
