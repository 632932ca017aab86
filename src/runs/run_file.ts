/**
 * The run file: one playground run exported as a single JSON document, to share it or move it to another browser.
 *
 *   { format: 'stoptime-run', schemaVersion: 1, exportedAt, run: RunRecord, weights }
 *
 * `weights` is null (no checkpoint), the checkpoint's weights as base64 of a safetensors file ('inline', one file to
 * move around), or a reference to a `.safetensors` file written beside the JSON ('separate': the weights load
 * directly into PyTorch, and the JSON stays small and readable). Either way the JSON records the SHA-256 of the
 * safetensors bytes (required), and every imported byte is checked against it: a bit flipped in the base64, or a
 * weights file of another run, is refused rather than silently mixed in.
 *
 * By default only the weights are exported, not the AdamW moments: an imported run that resumes training starts with
 * fresh (zero) moments, as after a warm start; its step counter, and so its learning-rate schedule, continue from the
 * checkpoint's step. With `withMoments` the file also holds `moments` (m and v, each a base64 safetensors file with its
 * SHA-256, in either mode), and an import resumes exactly as a reload does.
 *
 * Non-finite metric values (a diverged loss) are written as JSON `null` and read back as NaN; every other number in
 * the file must be finite.
 *
 * Importing treats the file as hostile: a size cap before `JSON.parse`, one zod schema for the whole document with
 * bounds on every number, string and array, the run config's cross-field checks, the run's internal consistency
 * (counts within their totals, ordered times and steps), strict base64, the SHA-256, and the safetensors loader's
 * checks of the layout, metadata, shapes and values. Problems are reported as a RunFileError naming where they are
 * ("run.evalPoints[3].accuracy: expected number ≤ 1, got 1.5"), at most MAX_MESSAGE_CHARS long.
 */
import { z } from 'zod';
import { buildParamLayout } from '../model/params';
import { loadSafetensors, SafetensorsError, saveSafetensors } from '../model/safetensors';
import { TASK_IDS } from '../tasks/index';
import type { TrainerState } from '../train/backend';
import { SERIES_IDS, STAGES } from '../train/methods';
import { METRIC_KEYS, type MetricKey } from '../train/metrics';
import { oracleResultSchema } from '../train/oracle';
import {
  decodeConfigSchema,
  modelConfigFor,
  type RunConfig,
  runConfigIssues,
  runConfigSchema,
} from '../train/run_config';
import { MAX_MESSAGE_CHARS, quoteValue, truncate } from '../util/text';
import { Base64Error, base64ToBytes, bytesToBase64, sha256Hex } from './encoding';
import type { RunRecord } from './run_record';

export const RUN_FILE_FORMAT = 'stoptime-run';
export const RUN_FILE_SCHEMA_VERSION = 1;

/**
 * Bounds on an imported file. The largest playground model ('medium', 2.76 M parameters) is 11.0 MB of safetensors,
 * 14.7 M characters as base64. A timeline point with every metric is about 370 characters of JSON, so the text cap
 * holds about 700 000 of them next to the weights; the point cap (sft.steps ≤ 1 000 000) only stops absurd arrays.
 */
export const RUN_FILE_LIMITS = {
  /** Characters of the JSON text, checked before parsing (also the cap on the file's size for the UI to check). */
  maxTextChars: 256 * 2 ** 20,
  /** Bytes of the separate weights file. */
  maxWeightsBytes: 256 * 2 ** 20,
  maxTimelinePoints: 1_000_000,
  maxEvalPoints: 10_000,
  /** Sample traces per evaluation point, and in the run's latest training samples. */
  maxSamples: 256,
  maxHistogramBins: 4096,
  /** Problems of one evaluation point's per-problem outcomes (eval.size is at most 4096). */
  maxEvalProblems: 4096,
  /** Suite results of a run (one per task variant) and turns of one sample episode (Sokoban: 30 actions at most). */
  maxSuites: 64,
  maxSuiteTurns: 256,
  /**
   * Rows and columns of a Sokoban sample's start board (the tasks generate 10×10 at most). The viewer's replay and
   * drawing grow with cells × boxes, so an unbounded board could freeze the tab.
   */
  maxBoardSide: 32,
  /** A prompt or completion (1024 tokens, special tokens spelled out, fit with room to spare). */
  maxTraceChars: 65_536,
  /** Run names, adapter descriptions, verifier reasons. */
  maxLabelChars: 1024,
  maxIdChars: 128,
} as const;

/** Weights as stored in the file; `sha256` is the SHA-256 of the safetensors bytes (64 lowercase hex digits). */
export type RunFileWeights =
  | { encoding: 'safetensors-base64'; step: number; data: string; sha256: string }
  | { encoding: 'safetensors-file'; step: number; fileName: string; bytes: number; sha256: string };

export interface RunFileDocument {
  format: typeof RUN_FILE_FORMAT;
  schemaVersion: typeof RUN_FILE_SCHEMA_VERSION;
  /** ms since epoch. */
  exportedAt: number;
  run: RunRecord;
  weights: RunFileWeights | null;
  /**
   * Opt-in (exportRunFile's `withMoments`): the checkpoint's AdamW moments, each a safetensors file in base64 (tensor
   * names and shapes those of the weights) with its SHA-256, so an import resumes exactly as a reload does. Absent or
   * null: an import resumes with fresh moments.
   */
  moments?: RunFileMoments | null;
}

/** The AdamW moments of the exported checkpoint (`step` = the weights' step). */
export interface RunFileMoments {
  encoding: 'safetensors-base64';
  step: number;
  m: { data: string; sha256: string };
  v: { data: string; sha256: string };
}

export interface RunFileExport {
  /** The run file's text. */
  json: string;
  /** The weights file to save beside it ('separate' mode with a checkpoint), else null. */
  safetensors: Uint8Array | null;
  /** File name without extension: save `${fileBaseName}.stoptime.json` and `${fileBaseName}.safetensors`. */
  fileBaseName: string;
}

export interface ParsedRunFile {
  run: RunRecord;
  /** Weights and step of the exported checkpoint, and its moments when the file has them; null when none. */
  checkpoint: TrainerState | null;
}

export interface RunFileIssue {
  /** Where in the document ("run.timeline[12].values", "weights.data", "(file)"). */
  path: string;
  message: string;
}

/** An issue whose `path: message` line is at most MAX_MESSAGE_CHARS long (the path cut first to 100). */
function boundedIssue(i: RunFileIssue): RunFileIssue {
  const path = truncate(i.path, 100);
  return { path, message: truncate(i.message, MAX_MESSAGE_CHARS - path.length - 2) };
}

/**
 * The error of an import or export. `issues` holds every problem (each bounded); the message spells out as many as
 * fit in MAX_MESSAGE_CHARS (the first always, cut if need be) and counts the rest.
 */
export class RunFileError extends Error {
  override name = 'RunFileError';
  readonly issues: RunFileIssue[];
  constructor(issues: RunFileIssue[], intro = 'invalid run file') {
    const bounded = issues.map(boundedIssue);
    const lines = bounded.map((i) => `${i.path}: ${i.message}`);
    // Room for the intro and the longest "; …and N more".
    const room = MAX_MESSAGE_CHARS - intro.length - 2 - `; …and ${lines.length} more`.length;
    let text = truncate(lines[0] ?? '', room);
    let shown = lines.length > 0 ? 1 : 0;
    while (shown < lines.length && text.length + 2 + lines[shown]!.length <= room) {
      text += `; ${lines[shown]}`;
      shown += 1;
    }
    const more = shown < lines.length ? `; …and ${lines.length - shown} more` : '';
    super(`${intro}: ${text}${more}`);
    this.issues = bounded;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Schema

const L = RUN_FILE_LIMITS;
/** Non-negative safe integer (zod's int() is bounded to safe integers). */
const count = () => z.number().int().min(0);
/** Non-negative finite number (zod 4 numbers reject NaN and ±Infinity). */
const nonNegative = () => z.number().min(0);
const fraction = () => z.number().min(0).max(1);

const RUN_STATUSES = ['running', 'paused', 'stopped', 'finished', 'interrupted', 'imported', 'error'] as const;

const traceSampleSchema = z.strictObject({
  prompt: z.string().max(L.maxTraceChars),
  completion: z.string().max(L.maxTraceChars),
  correct: z.boolean(),
  reason: z.string().max(L.maxLabelChars),
  thinkingTokens: count(),
  finished: z.boolean(),
});

/** Symbols of a rendered Sokoban board (src/tasks/sokoban.ts). */
const BOARD_SYMBOLS = '#_OXP√S';
const BOARD_SYMBOL_SET = new Set(BOARD_SYMBOLS);

/**
 * Why `text` is not a board of at most maxBoardSide × maxBoardSide board symbols, or null. Only the size and the
 * alphabet are checked here; the viewer's parser reports a board that is malformed otherwise (ragged rows, no player).
 */
function boardIssue(text: string): string | null {
  const side = L.maxBoardSide;
  const maxChars = side * (side + 1) - 1;
  if (text.length > maxChars) {
    return `is ${text.length} characters long, at most ${maxChars} allowed (a board of at most ${side}×${side})`;
  }
  const rows = text.split('\n');
  if (rows.length > side) return `has ${rows.length} rows, at most ${side} allowed`;
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r] as string;
    if (row.length > side) return `row ${r} has ${row.length} columns, at most ${side} allowed`;
    for (let c = 0; c < row.length; c++) {
      const ch = row[c] as string;
      if (!BOARD_SYMBOL_SET.has(ch)) {
        return `row ${r} column ${c} holds ${JSON.stringify(ch)}, not a board symbol (${BOARD_SYMBOLS})`;
      }
    }
  }
  return null;
}

const boardSchema = z.string().superRefine((text, ctx) => {
  const message = boardIssue(text);
  if (message !== null) ctx.addIssue({ code: 'custom', message, input: text });
});

const suiteSampleSchema = z.strictObject({
  prompt: z.string().max(L.maxTraceChars),
  success: z.boolean(),
  reason: z.string().max(L.maxLabelChars),
  turns: z
    .array(
      z.strictObject({
        completion: z.string().max(L.maxTraceChars),
        action: z.string().max(L.maxLabelChars).nullable(),
        note: z.string().max(L.maxLabelChars),
        thinkingTokens: count(),
      }),
    )
    .max(L.maxSuiteTurns),
  board: boardSchema.optional(),
});

const suiteResultSchema = z.strictObject({
  task: z.enum(TASK_IDS),
  suite: z.string().min(1).max(64),
  kind: z.enum(['id', 'instruction', 'difficulty', 'fake', 'training']),
  unit: z.enum(['episode', 'answer']),
  problems: count(),
  successes: count(),
  /** Optional: files written before it was recorded lack it (read as 0). */
  tooLong: count().optional(),
  meanThinkingTokens: nonNegative(),
  /** Optional, as tooLong. */
  turns: count().optional(),
  parsedTurns: count().optional(),
  meanActions: nonNegative().nullable(),
  evalTimeMs: nonNegative(),
  samples: z.array(suiteSampleSchema).max(L.maxSamples),
});

const histogramBinSchema = z.strictObject({
  startTokens: count(),
  widthTokens: z.number().int().min(1),
  correct: count(),
  wrong: count(),
});

const evalPointSchema = z.strictObject({
  id: z.string().min(1).max(L.maxIdChars),
  step: count(),
  series: z.enum(SERIES_IDS),
  decode: decodeConfigSchema,
  variant: z.string().min(1).max(64),
  lengthTag: z.enum(['short', 'medium', 'long']).optional(),
  stage: z.enum(STAGES).optional(),
  problems: count(),
  accuracy: fraction(),
  meanThinkingTokens: nonNegative(),
  meanThinkingTokensCorrect: nonNegative().nullable(),
  meanThinkingTokensWrong: nonNegative().nullable(),
  meanCompletionTokens: nonNegative(),
  stopRate: fraction(),
  repetitionRate: fraction(),
  histogram: z.array(histogramBinSchema).max(L.maxHistogramBins),
  /** Optional: files written before per-problem outcomes were recorded lack it. */
  perProblem: z
    .strictObject({
      correct: z
        .string()
        .max(L.maxEvalProblems)
        .regex(/^[01]*$/, "only '0' and '1'"),
      thinkingTokens: z.array(count()).max(L.maxEvalProblems),
    })
    .optional(),
  samples: z.array(traceSampleSchema).max(L.maxSamples),
  evalTimeMs: nonNegative(),
  createdAt: nonNegative(),
});

/** A metric value: finite, or null for a value that was not finite when exported (read back as NaN). */
const metricValueSchema = z
  .number()
  .nullable()
  .transform((v) => v ?? Number.NaN)
  .optional();
const metricValuesSchema = z.strictObject(
  Object.fromEntries(METRIC_KEYS.map((k) => [k, metricValueSchema])) as Record<MetricKey, typeof metricValueSchema>,
);

const metricPointSchema = z.strictObject({
  step: count(),
  elapsedMs: nonNegative(),
  values: metricValuesSchema,
});

const runRecordSchema = z.strictObject({
  id: z.string().min(1).max(L.maxIdChars),
  name: z.string().max(L.maxLabelChars),
  createdAt: nonNegative(),
  updatedAt: nonNegative(),
  config: runConfigSchema,
  status: z.enum(RUN_STATUSES),
  adapter: z.string().max(L.maxLabelChars),
  stepsDone: count(),
  timeline: z.array(metricPointSchema).max(L.maxTimelinePoints),
  evalPoints: z.array(evalPointSchema).max(L.maxEvalPoints),
  samples: z.strictObject({ step: count(), samples: z.array(traceSampleSchema).max(L.maxSamples) }).nullable(),
  checkpointStep: count().nullable(),
  rlStartStep: count().nullable().optional(),
  suiteResults: z.array(suiteResultSchema).max(L.maxSuites).nullable().optional(),
  /** Files written before the oracle frontier existed lack it. */
  oracle: oracleResultSchema.nullable().optional(),
});

/** Required for both encodings: every imported weight byte is checked against it. */
const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits');

const weightsSchema = z
  .discriminatedUnion('encoding', [
    z.strictObject({
      encoding: z.literal('safetensors-base64'),
      step: count(),
      data: z.string().max(L.maxTextChars),
      sha256: sha256Schema,
    }),
    z.strictObject({
      encoding: z.literal('safetensors-file'),
      step: count(),
      fileName: z.string().min(1).max(255),
      bytes: z.number().int().min(8).max(L.maxWeightsBytes),
      sha256: sha256Schema,
    }),
  ])
  .nullable();

const runFileSchema = z.strictObject({
  format: z.literal(RUN_FILE_FORMAT),
  schemaVersion: z.literal(RUN_FILE_SCHEMA_VERSION),
  exportedAt: nonNegative(),
  run: runRecordSchema,
  weights: weightsSchema,
  moments: z
    .strictObject({
      encoding: z.literal('safetensors-base64'),
      step: count(),
      m: z.strictObject({ data: z.string().max(L.maxTextChars), sha256: sha256Schema }),
      v: z.strictObject({ data: z.string().max(L.maxTextChars), sha256: sha256Schema }),
    })
    .nullable()
    .optional(),
});

// The schema and the TypeScript types describe the same data: every RunRecord is schema input and every schema output
// a RunRecord. The compiler checks both where they meet (`asInput` in exportRunFile, `run` in parseRunFile).

// ---------------------------------------------------------------------------------------------------------------
// Issue formatting

/** `run.evalPoints[3].accuracy` from zod's path segments. */
function formatPath(segments: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of segments) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else {
      const s = String(seg);
      if (/^[A-Za-z_$][\w$]*$/.test(s)) out += out === '' ? s : `.${s}`;
      else out += `[${JSON.stringify(s.slice(0, 64))}]`;
    }
  }
  return out || '(root)';
}

/** A short description of an untrusted value for a message (never its whole text). */
function describe(value: unknown): string {
  if (typeof value === 'string') return `string ${quoteValue(value, 41)}`;
  if (Array.isArray(value)) return `an array of ${value.length} items`;
  if (typeof value === 'object' && value !== null) return 'an object';
  return quoteValue(value);
}

function quoteList(items: readonly unknown[], max = 8): string {
  const shown = items.slice(0, max).map((k) => JSON.stringify(typeof k === 'string' ? k.slice(0, 64) : k));
  return items.length > max ? `${shown.join(', ')}, …` : shown.join(', ');
}

function issueMessage(iss: z.core.$ZodIssue): string {
  const input = iss.input;
  switch (iss.code) {
    case 'invalid_type':
      if (input === undefined && iss.path[iss.path.length - 1] === 'sha256')
        return 'is missing: a run file records the SHA-256 of its weights (files written before it was required cannot be imported; export the run again)';
      if (input === undefined) return `is missing (expected ${iss.expected})`;
      return `expected ${iss.expected}, got ${describe(input)}`;
    case 'too_big': {
      const op = iss.inclusive === false ? '<' : '≤';
      if (iss.origin === 'number') return `expected number ${op} ${iss.maximum}, got ${describe(input)}`;
      if (iss.origin === 'array' && Array.isArray(input))
        return `has ${input.length} items, at most ${iss.maximum} allowed`;
      if (iss.origin === 'string' && typeof input === 'string')
        return `is ${input.length} characters long, at most ${iss.maximum} allowed`;
      return iss.message;
    }
    case 'too_small': {
      const op = iss.inclusive === false ? '>' : '≥';
      if (iss.origin === 'number') return `expected number ${op} ${iss.minimum}, got ${describe(input)}`;
      if (iss.origin === 'string' && iss.minimum === 1) return 'must not be empty';
      return iss.message;
    }
    case 'invalid_value':
      return `expected ${iss.values.map((v) => JSON.stringify(v)).join(' | ')}, got ${describe(input)}`;
    case 'unrecognized_keys': {
      const last = iss.path[iss.path.length - 1];
      if (last === 'values')
        return `unknown metric key${iss.keys.length > 1 ? 's' : ''} ${quoteList(iss.keys)} (known: ${METRIC_KEYS.join(', ')})`;
      return `unknown key${iss.keys.length > 1 ? 's' : ''} ${quoteList(iss.keys)}`;
    }
    default:
      return iss.message;
  }
}

function zodToIssues(error: z.ZodError, prefix: readonly PropertyKey[] = []): RunFileIssue[] {
  return error.issues.map((iss) => ({ path: formatPath([...prefix, ...iss.path]), message: issueMessage(iss) }));
}

const issue = (path: string, message: string, intro?: string) => new RunFileError([{ path, message }], intro);

// ---------------------------------------------------------------------------------------------------------------
// Export

/** Lowercase ASCII slug of a run name for file names ("Arithmetic #2 — CoT" → "arithmetic-2-cot"). */
function slug(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48)
    .replace(/-+$/, '');
}

export function runFileBaseName(run: RunRecord): string {
  const id = run.id.replace(/[^A-Za-z0-9]/g, '').slice(0, 8);
  return ['stoptime', slug(run.name) || 'run', id].filter((s) => s !== '').join('-');
}

/** The checkpoint's weights as a safetensors file for the run's model; refuses weights that could not be imported. */
function checkpointSafetensors(config: RunConfig, checkpoint: TrainerState): Uint8Array {
  const modelConfig = modelConfigFor(config);
  const layout = buildParamLayout(modelConfig);
  const intro = 'cannot export this run';
  if (checkpoint.params.length !== layout.totalElements) {
    throw issue(
      'checkpoint.params',
      `has ${checkpoint.params.length} values, the run's '${config.model.size}' model has ${layout.totalElements}`,
      intro,
    );
  }
  for (const e of layout.entries) {
    for (let i = e.offset; i < e.offset + e.length; i++) {
      if (!Number.isFinite(checkpoint.params[i]!)) {
        throw issue(
          'checkpoint.params',
          `${e.name}[${i - e.offset}] is ${checkpoint.params[i]}: the weights diverged; export the run without weights`,
          intro,
        );
      }
    }
  }
  return saveSafetensors(modelConfig, layout, checkpoint.params);
}

/**
 * The run file for `run` and, when given, the weights of `checkpoint` (its AdamW moments are not exported: an
 * imported run resumes with fresh moments). 'inline' puts the weights in the JSON as base64; 'separate' returns
 * them as a safetensors file to save beside it. The exported run's `checkpointStep` is the checkpoint's step (null
 * without one). Throws a RunFileError when the run holds something its own import would refuse.
 */
export function exportRunFile(
  run: RunRecord,
  checkpoint: TrainerState | null,
  mode: 'inline' | 'separate',
  options: { withMoments?: boolean } = {},
): RunFileExport {
  const exported: RunRecord = { ...run, checkpointStep: checkpoint ? checkpoint.step : null };
  // Check what will be written (after JSON's NaN → null) with the very schema the import uses.
  const asInput: z.input<typeof runRecordSchema> = exported;
  const check = runRecordSchema.safeParse(JSON.parse(JSON.stringify(asInput)), { reportInput: true });
  if (!check.success) throw new RunFileError(zodToIssues(check.error, ['run']), 'cannot export this run');
  const configIssues = [
    ...runConfigIssues(run.config).map((i) => ({ path: `run.config.${i.path}`, message: i.message })),
    ...consistencyIssues(check.data),
  ];
  if (configIssues.length > 0) throw new RunFileError(configIssues, 'cannot export this run');

  const fileBaseName = runFileBaseName(run);
  let weights: RunFileWeights | null = null;
  let safetensors: Uint8Array | null = null;
  if (checkpoint) {
    const bytes = checkpointSafetensors(run.config, checkpoint);
    if (mode === 'inline') {
      weights = {
        encoding: 'safetensors-base64',
        step: checkpoint.step,
        data: bytesToBase64(bytes),
        sha256: sha256Hex(bytes),
      };
    } else {
      weights = {
        encoding: 'safetensors-file',
        step: checkpoint.step,
        fileName: `${fileBaseName}.safetensors`,
        bytes: bytes.length,
        sha256: sha256Hex(bytes),
      };
      safetensors = bytes;
    }
  }
  const doc: RunFileDocument = {
    format: RUN_FILE_FORMAT,
    schemaVersion: RUN_FILE_SCHEMA_VERSION,
    exportedAt: Date.now(),
    run: exported,
    weights,
  };
  if (options.withMoments) doc.moments = checkpoint ? momentsOf(run.config, checkpoint) : null;
  return { json: JSON.stringify(doc), safetensors, fileBaseName };
}

// ---------------------------------------------------------------------------------------------------------------
// Import

function ownField(doc: object, key: string): unknown {
  return Object.hasOwn(doc, key) ? (doc as Record<string, unknown>)[key] : undefined;
}

/** Format tag and version first, so a wrong or newer file gets that message rather than a list of schema issues. */
function checkHeader(doc: unknown): void {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw issue('(root)', `expected a JSON object, got ${describe(doc)}: not a Stoptime run file`);
  const format = ownField(doc, 'format');
  if (format !== RUN_FILE_FORMAT)
    throw issue('format', `expected "${RUN_FILE_FORMAT}", got ${describe(format)}: not a Stoptime run file`);
  const version = ownField(doc, 'schemaVersion');
  if (typeof version === 'number' && Number.isInteger(version) && version > RUN_FILE_SCHEMA_VERSION) {
    throw issue(
      'schemaVersion',
      `made by a newer Stoptime (schema ${version}, this one reads ${RUN_FILE_SCHEMA_VERSION}); update Stoptime to import it`,
    );
  }
  if (version !== RUN_FILE_SCHEMA_VERSION)
    throw issue('schemaVersion', `expected ${RUN_FILE_SCHEMA_VERSION}, got ${describe(version)}`);
}

/**
 * Contradictions inside the run's results: counts beyond their totals, suites of another task or twice, times and
 * steps out of order. A file that states them was edited or damaged; storing it would show impossible rates.
 */
function consistencyIssues(run: z.output<typeof runRecordSchema>): RunFileIssue[] {
  const issues: RunFileIssue[] = [];
  const add = (path: string, message: string) => issues.push({ path, message });
  if (run.createdAt > run.updatedAt) add('run.updatedAt', `is ${run.updatedAt}, before createdAt ${run.createdAt}`);
  for (let i = 1; i < run.timeline.length; i++) {
    const step = run.timeline[i]!.step;
    const before = run.timeline[i - 1]!.step;
    if (step < before) {
      add(`run.timeline[${i}].step`, `is ${step}, less than the step before it (${before}): steps must not decrease`);
      break;
    }
  }
  run.evalPoints.forEach((p, i) => {
    if (!p.perProblem) return;
    const at = `run.evalPoints[${i}].perProblem`;
    const { correct, thinkingTokens } = p.perProblem;
    if (correct.length !== p.problems)
      add(`${at}.correct`, `has ${correct.length} outcomes for ${p.problems} problems`);
    if (thinkingTokens.length !== p.problems)
      add(`${at}.thinkingTokens`, `has ${thinkingTokens.length} lengths for ${p.problems} problems`);
    const right = correct.split('').filter((c) => c === '1').length;
    if (p.problems > 0 && Math.abs(right / p.problems - p.accuracy) > 1e-9)
      add(`${at}.correct`, `${right} of ${p.problems} correct contradicts accuracy ${p.accuracy}`);
  });
  const suites = new Map<string, number>();
  (run.suiteResults ?? []).forEach((r, i) => {
    const at = `run.suiteResults[${i}]`;
    if (r.task !== run.config.task.id)
      add(`${at}.task`, `is ${quoteValue(r.task)}, but the run's task is ${quoteValue(run.config.task.id)}`);
    const first = suites.get(r.suite);
    if (first !== undefined) add(`${at}.suite`, `duplicate suite ${quoteValue(r.suite)} (also suiteResults[${first}])`);
    else suites.set(r.suite, i);
    if (r.successes > r.problems) add(`${at}.successes`, `is ${r.successes}, more than problems (${r.problems})`);
    const tooLong = r.tooLong ?? 0;
    // A problem refused for length is a failure: it counts in problems, never in successes.
    if (r.successes + tooLong > r.problems)
      add(`${at}.tooLong`, `is ${tooLong}; with ${r.successes} successes that is more than problems (${r.problems})`);
    if ((r.parsedTurns !== undefined) !== (r.turns !== undefined))
      add(`${at}.parsedTurns`, 'and turns must be given together');
    else if (r.parsedTurns !== undefined && r.parsedTurns > r.turns!)
      add(`${at}.parsedTurns`, `is ${r.parsedTurns}, more than turns (${r.turns})`);
  });
  return issues;
}

/** Rules the schema cannot express: run config cross-field checks, consistency, unique evaluation ids, checkpoint. */
function crossFieldIssues(file: z.output<typeof runFileSchema>): RunFileIssue[] {
  const issues: RunFileIssue[] = runConfigIssues(file.run.config).map((i) => ({
    path: `run.config.${i.path}`,
    message: i.message,
  }));
  issues.push(...consistencyIssues(file.run));
  const seen = new Map<string, number>();
  file.run.evalPoints.forEach((p, i) => {
    const first = seen.get(p.id);
    if (first !== undefined)
      issues.push({
        path: `run.evalPoints[${i}].id`,
        message: `duplicate id ${describe(p.id)} (also evalPoints[${first}])`,
      });
    else seen.set(p.id, i);
  });
  const weightsStep = file.weights?.step ?? null;
  if (file.run.checkpointStep !== weightsStep) {
    issues.push({
      path: 'run.checkpointStep',
      message:
        weightsStep === null
          ? `is ${file.run.checkpointStep}, but the file has no weights (expected null)`
          : `is ${describe(file.run.checkpointStep)}, but weights.step is ${weightsStep}`,
    });
  }
  return issues;
}

/** "dModel 64, 2 layers, 4 heads, context 64" */
function describeModel(c: { dModel: number; nLayers: number; nHeads: number; contextLength: number }): string {
  return `dModel ${c.dModel}, ${c.nLayers} layers, ${c.nHeads} heads, context ${c.contextLength}`;
}

function decodeWeights(
  weights: RunFileWeights | null,
  config: RunConfig,
  sidecar: Uint8Array | undefined,
): TrainerState | null {
  if (weights === null) {
    if (sidecar) throw issue('weights', 'is null (the run was exported without weights), but a weights file was given');
    return null;
  }
  let bytes: Uint8Array;
  let where: string;
  if (weights.encoding === 'safetensors-base64') {
    if (sidecar)
      throw issue(
        'weights',
        'are inside the run file, but a separate weights file was given too: import the .json alone',
      );
    try {
      bytes = base64ToBytes(weights.data);
    } catch (e) {
      if (e instanceof Base64Error) throw issue('weights.data', e.message);
      throw e;
    }
    where = 'weights.data';
  } else {
    const name = JSON.stringify(weights.fileName);
    if (!sidecar) throw issue('weights', `are in a separate file ${name}: import it together with the run file`);
    if (sidecar.length !== weights.bytes) {
      throw issue(
        'weights.bytes',
        `the weights file given is ${sidecar.length} bytes, the run file expects ${weights.bytes} (is it ${name}?)`,
      );
    }
    bytes = sidecar;
    where = `weights file ${name}`;
  }
  if (sha256Hex(bytes) !== weights.sha256) {
    throw issue(
      'weights.sha256',
      weights.encoding === 'safetensors-base64'
        ? 'does not match the bytes of weights.data (the weights were changed or damaged)'
        : `the weights file given does not match (it is not this run's ${JSON.stringify(weights.fileName)}, or it is damaged)`,
    );
  }
  const modelConfig = modelConfigFor(config);
  try {
    const loaded = loadSafetensors(bytes, modelConfig);
    return { params: loaded.params, m: null, v: null, step: weights.step };
  } catch (e) {
    if (!(e instanceof SafetensorsError)) throw e;
    // A valid Stoptime file of another model size gets a message that says so; anything else the loader's own.
    let other: string | null = null;
    try {
      other = describeModel(loadSafetensors(bytes).config);
    } catch {
      other = null;
    }
    const own = describeModel(modelConfig);
    const message =
      other !== null && other !== own
        ? `are for a different model (${other}); the run's '${config.model.size}' model is ${own}`
        : e.message;
    throw issue(where, message);
  }
}

/**
 * Reads an untrusted run file (and, for 'separate' weights, the weights file beside it). Returns the run as it was
 * exported (same id: the database assigns a fresh one on import) and its checkpoint, or throws a RunFileError.
 */
export function parseRunFile(text: string, sidecar?: Uint8Array): ParsedRunFile {
  if (typeof text !== 'string') throw issue('(file)', `expected text, got ${describe(text)}`);
  if (text.length > L.maxTextChars) {
    const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
    throw issue('(file)', `is ${mib(text.length)}; a run file is at most ${mib(L.maxTextChars)}`);
  }
  if (sidecar !== undefined && !(sidecar instanceof Uint8Array))
    throw issue('(weights file)', `expected bytes, got ${describe(sidecar)}`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e);
    throw issue('(file)', `is not valid JSON (${text.trim() === '' ? 'empty' : detail}); is it a Stoptime run file?`);
  }
  checkHeader(doc);
  const parsed = runFileSchema.safeParse(doc, { reportInput: true });
  if (!parsed.success) throw new RunFileError(zodToIssues(parsed.error));
  const file = parsed.data;
  const issues = crossFieldIssues(file);
  if (issues.length > 0) throw new RunFileError(issues);
  const run: RunRecord = file.run;
  const checkpoint = decodeWeights(file.weights, run.config, sidecar);
  if (!file.moments) return { run, checkpoint };
  if (checkpoint === null) throw issue('moments', 'are given, but the file has no weights (expected null)');
  if (file.moments.step !== checkpoint.step)
    throw issue('moments.step', `is ${file.moments.step}, but weights.step is ${checkpoint.step}`);
  const m = decodeMoment(file.moments.m, 'moments.m', run.config);
  const v = decodeMoment(file.moments.v, 'moments.v', run.config);
  return { run, checkpoint: { ...checkpoint, m, v } };
}

/** The checkpoint's AdamW moments as two safetensors files in base64 (refused when it has none, or non-finite ones). */
function momentsOf(config: RunConfig, checkpoint: TrainerState): RunFileMoments {
  const encode = (name: 'm' | 'v', values: Float32Array | null) => {
    if (values === null)
      throw new RunFileError(
        [{ path: `checkpoint.${name}`, message: 'is missing: this checkpoint has no AdamW moments to export' }],
        'cannot export this run',
      );
    const bytes = checkpointSafetensors(config, { ...checkpoint, params: values });
    return { data: bytesToBase64(bytes), sha256: sha256Hex(bytes) };
  };
  return {
    encoding: 'safetensors-base64',
    step: checkpoint.step,
    m: encode('m', checkpoint.m),
    v: encode('v', checkpoint.v),
  };
}

/** One moment array from its base64 safetensors, every byte checked against its SHA-256 (`where`: its path). */
function decodeMoment(moment: { data: string; sha256: string }, where: string, config: RunConfig): Float32Array {
  let bytes: Uint8Array;
  try {
    bytes = base64ToBytes(moment.data);
  } catch (e) {
    if (e instanceof Base64Error) throw issue(`${where}.data`, e.message);
    throw e;
  }
  if (sha256Hex(bytes) !== moment.sha256)
    throw issue(`${where}.sha256`, `does not match the bytes of ${where}.data (the moments were changed or damaged)`);
  try {
    return loadSafetensors(bytes, modelConfigFor(config)).params;
  } catch (e) {
    if (e instanceof SafetensorsError) throw issue(`${where}.data`, e.message);
    throw e;
  }
}
