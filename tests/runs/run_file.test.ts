import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildParamLayout, initParams } from '../../src/model/params';
import { loadSafetensors } from '../../src/model/safetensors';
import { base64ToBytes, bytesToBase64, sha256Hex } from '../../src/runs/encoding';
import {
  exportRunFile,
  parseRunFile,
  RUN_FILE_LIMITS,
  type RunFileDocument,
  RunFileError,
} from '../../src/runs/run_file';
import type { MetricPoint, RunRecord, RunStatus } from '../../src/runs/run_record';
import { generateLevel, renderBoard } from '../../src/tasks/sokoban';
import type { TrainerState } from '../../src/train/backend';
import { METRIC, METRIC_KEYS, type MetricKey } from '../../src/train/metrics';
import type { EvalPoint, SeriesId, TraceSample } from '../../src/train/results';
import {
  DEFAULT_DECODE_CONFIG,
  DEFAULT_RUN_CONFIG,
  type DecodeConfig,
  modelConfigFor,
  PLAYGROUND_MODEL_SIZES,
  type PlaygroundModel,
  type RunConfig,
} from '../../src/train/run_config';
import type { SuiteResult } from '../../src/train/suite_types';
import { createRng } from '../../src/util/rng';
import { withHeader } from '../helpers/safetensors';

const TINY: RunConfig = { ...DEFAULT_RUN_CONFIG, model: { size: 'tiny' }, seed: 5 };

function sample(i: number, correct: boolean): TraceSample {
  return {
    prompt: `What is ${i} + ${i}?`,
    completion: correct ? `<think>${i}+${i}=${2 * i}</think>${2 * i}<eos>` : '<think>hmm</think>7<eos>',
    correct,
    reason: correct ? 'ok' : `wrong-value: 7 ≠ ${2 * i}`,
    thinkingTokens: correct ? 9 : 3,
    finished: true,
  };
}

function evalPoint(id: string, step: number): EvalPoint {
  return {
    id,
    step,
    series: 'cap',
    decode: { ...DEFAULT_DECODE_CONFIG, intervention: 'cap', thinkingBudgetTokens: 16 },
    variant: 'id',
    problems: 64,
    accuracy: 0.71875,
    meanThinkingTokens: 14.25,
    meanThinkingTokensCorrect: 13.5,
    meanThinkingTokensWrong: null,
    meanCompletionTokens: 21.125,
    stopRate: 0.984375,
    repetitionRate: 0.03,
    histogram: [
      { startTokens: 0, widthTokens: 8, correct: 10, wrong: 2 },
      { startTokens: 8, widthTokens: 8, correct: 36, wrong: 16 },
    ],
    samples: [sample(3, true), sample(4, false)],
    evalTimeMs: 812.5,
    createdAt: 1_760_000_100_000,
  };
}

function makeRun(config: RunConfig = TINY): RunRecord {
  const timeline: MetricPoint[] = [];
  for (let step = 1; step <= 40; step++) {
    timeline.push({
      step,
      elapsedMs: step * 123.5,
      values: {
        [METRIC.trainLoss]: 4.6 / Math.sqrt(step),
        [METRIC.trainGradNorm]: 1.5 + step / 100,
        [METRIC.trainLearningRate]: 3e-3 * Math.min(1, step / 20),
        ...(step % 10 === 0 ? { [METRIC.evalLoss]: 4.4 / Math.sqrt(step) } : {}),
      },
    });
  }
  return {
    id: '0123456789abcdef0123456789abcdef',
    name: 'Arithmetic — CoT #2',
    createdAt: 1_760_000_000_000,
    updatedAt: 1_760_000_200_000,
    config,
    status: 'paused',
    adapter: 'NVIDIA / hopper / H100',
    stepsDone: 40,
    timeline,
    evalPoints: [evalPoint('e1', 20), evalPoint('e2', 40)],
    samples: { step: 40, samples: [sample(1, true), sample(2, false)] },
    checkpointStep: 40,
  };
}

/** Weights of the run's model with every tensor perturbed (padding stays 0, as in a trainer's arena). */
function makeCheckpoint(config: RunConfig, step: number, seed = 1): TrainerState {
  const mc = modelConfigFor(config);
  const layout = buildParamLayout(mc);
  const params = initParams(mc, layout);
  const rng = createRng(seed);
  for (const e of layout.entries)
    for (let i = e.offset; i < e.offset + e.length; i++) params[i] = params[i]! + 0.01 * rng.normal();
  return { params, m: params.map((x) => x * 0.1), v: params.map((x) => x * x), step };
}

/** Index of the first element whose bits differ (-1: bit-identical, same length). vitest's toEqual on 100k-element
 * typed arrays takes about half a second, this a millisecond. */
function firstBitDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i;
  return -1;
}

/** The parsed document of an export, to edit into hostile variants. */
function docOf(json: string): RunFileDocument & Record<string, unknown> {
  return JSON.parse(json);
}

/** The RunFileError of parsing `text`, failing the test when it parses. */
function errorOf(text: string, sidecar?: Uint8Array): RunFileError {
  try {
    parseRunFile(text, sidecar);
  } catch (e) {
    expect(e).toBeInstanceOf(RunFileError);
    return e as RunFileError;
  }
  throw new Error('parseRunFile accepted the input');
}

function expectRejected(doc: unknown, path: string, message: RegExp, sidecar?: Uint8Array): RunFileError {
  const err = errorOf(JSON.stringify(doc), sidecar);
  expect(err.issues.map((i) => i.path)).toContain(path);
  const hit = err.issues.find((i) => i.path === path)!;
  expect(hit.message).toMatch(message);
  // The message (at most 300 characters) spells the issue out, cut when it is long.
  expect(err.message.length).toBeLessThanOrEqual(300);
  expect(err.message).toContain(`${path}: ${hit.message}`.slice(0, 150));
  return err;
}

const run = makeRun();
const checkpoint = makeCheckpoint(TINY, 40);
const inline = exportRunFile(run, checkpoint, 'inline');
const separate = exportRunFile(run, checkpoint, 'separate');

describe('run file round trip', () => {
  it('inline: one JSON document gives back the run and bit-identical weights, moments dropped', () => {
    expect(inline.safetensors).toBeNull();
    expect(inline.fileBaseName).toBe('stoptime-arithmetic-cot-2-01234567');
    const doc = docOf(inline.json);
    expect(doc.format).toBe('stoptime-run');
    expect(doc.schemaVersion).toBe(1);
    expect(doc.weights?.encoding).toBe('safetensors-base64');
    const parsed = parseRunFile(inline.json);
    expect(parsed.run).toStrictEqual(run);
    expect(parsed.checkpoint).not.toBeNull();
    expect(firstBitDifference(parsed.checkpoint!.params, checkpoint.params)).toBe(-1);
    expect(parsed.checkpoint!.m).toBeNull();
    expect(parsed.checkpoint!.v).toBeNull();
    expect(parsed.checkpoint!.step).toBe(40);
  });

  it('separate: the JSON names a safetensors file that loads on its own (PyTorch-style) and with the run', () => {
    const doc = docOf(separate.json);
    expect(doc.weights).toMatchObject({
      encoding: 'safetensors-file',
      step: 40,
      fileName: 'stoptime-arithmetic-cot-2-01234567.safetensors',
      bytes: separate.safetensors!.length,
    });
    // The JSON stays small: the weights (≈ 0.5 MB) are not in it.
    expect(separate.json.length).toBeLessThan(inline.json.length / 5);
    const standalone = loadSafetensors(separate.safetensors!);
    expect(standalone.config).toEqual(modelConfigFor(TINY));
    const parsed = parseRunFile(separate.json, separate.safetensors!);
    expect(parsed.run).toStrictEqual(run);
    expect(firstBitDifference(parsed.checkpoint!.params, checkpoint.params)).toBe(-1);
    expect(parsed.checkpoint!.step).toBe(40);
  });

  it('without a checkpoint: weights null, checkpointStep null', () => {
    const out = exportRunFile(run, null, 'separate');
    expect(out.safetensors).toBeNull();
    expect(docOf(out.json).weights).toBeNull();
    const parsed = parseRunFile(out.json);
    expect(parsed.checkpoint).toBeNull();
    expect(parsed.run).toStrictEqual({ ...run, checkpointStep: null });
  });

  it('a diverged metric (NaN, ±Infinity) is written as null and read back as NaN', () => {
    const diverged = makeRun();
    diverged.timeline[5]!.values[METRIC.trainLoss] = Number.NaN;
    diverged.timeline[6]!.values[METRIC.trainGradNorm] = Number.POSITIVE_INFINITY;
    const out = exportRunFile(diverged, null, 'inline');
    expect(docOf(out.json).run.timeline[5]!.values[METRIC.trainLoss]).toBeNull();
    const parsed = parseRunFile(out.json);
    expect(parsed.run.timeline[5]!.values[METRIC.trainLoss]).toBeNaN();
    expect(parsed.run.timeline[6]!.values[METRIC.trainGradNorm]).toBeNaN();
    expect(parsed.run.timeline[7]).toStrictEqual(diverged.timeline[7]);
  });

  it('export refuses what its import would refuse', () => {
    const nanWeights = makeCheckpoint(TINY, 40);
    const lmHead = buildParamLayout(modelConfigFor(TINY)).byName.get('lm_head.weight')!;
    nanWeights.params[lmHead.offset + 3] = Number.NaN;
    expect(() => exportRunFile(run, nanWeights, 'inline')).toThrow(/lm_head\.weight\[3\] is NaN/);
    const small = makeCheckpoint({ ...TINY, model: { size: 'small' } }, 40);
    expect(() => exportRunFile(run, small, 'inline')).toThrow(/checkpoint\.params: has \d+ values, the run's 'tiny'/);
    const bad = makeRun();
    bad.evalPoints[1]!.accuracy = Number.NaN;
    expect(() => exportRunFile(bad, null, 'inline')).toThrow(
      /cannot export this run: run\.evalPoints\[1\]\.accuracy: expected number, got null/,
    );
  });
});

describe('hostile run files', () => {
  const good = () => docOf(inline.json);

  it('truncated, empty or non-JSON text', () => {
    for (const text of [inline.json.slice(0, inline.json.length >> 1), '', '   ', '{"format": "stoptime-run",']) {
      const err = errorOf(text);
      expect(err.issues).toHaveLength(1);
      expect(err.issues[0]!.path).toBe('(file)');
      expect(err.message).toMatch(/is not valid JSON/);
    }
  });

  it('too large text is refused before parsing', () => {
    const err = errorOf(' '.repeat(RUN_FILE_LIMITS.maxTextChars + 1));
    expect(err.message).toMatch(/\(file\): is 256 MiB; a run file is at most 256 MiB/);
  });

  it('not a run file: wrong format tag, not an object', () => {
    expectRejected({ ...good(), format: 'stoptime-checkpoint' }, 'format', /expected "stoptime-run", got string/);
    expectRejected({ ...good(), format: undefined }, 'format', /got nothing: not a Stoptime run file/);
    for (const text of ['[]', '42', 'null', '"stoptime-run"']) {
      expect(errorOf(text).message).toMatch(/\(root\): expected a JSON object.*not a Stoptime run file/);
    }
  });

  it('a newer schema version says so; a malformed version is named', () => {
    expectRejected(
      { ...good(), schemaVersion: 2, somethingNew: {} },
      'schemaVersion',
      /made by a newer Stoptime \(schema 2, this one reads 1\)/,
    );
    expectRejected({ ...good(), schemaVersion: '1' }, 'schemaVersion', /expected 1, got string "1"/);
    expectRejected({ ...good(), schemaVersion: 0 }, 'schemaVersion', /expected 1, got 0/);
  });

  it('missing fields', () => {
    const d1 = good();
    delete (d1.run as Partial<RunRecord>).name;
    expectRejected(d1, 'run.name', /is missing \(expected string\)/);
    const d2 = good();
    delete (d2.run.evalPoints[1] as Partial<EvalPoint>).accuracy;
    expectRejected(d2, 'run.evalPoints[1].accuracy', /is missing/);
    const d3 = good();
    delete (d3 as Partial<RunFileDocument>).weights;
    expectRejected(d3, 'weights', /is missing/);
    const d4 = good();
    delete (d4.run.config.sft as Partial<RunConfig['sft']>).batchSize;
    expectRejected(d4, 'run.config.sft.batchSize', /is missing/);
  });

  it('NaN-like strings, wrong types and out-of-range numbers', () => {
    const d = good() as unknown as { run: Record<string, unknown> & RunRecord };
    (d.run.evalPoints[1] as unknown as Record<string, unknown>).accuracy = 'NaN';
    (d.run.timeline[3]!.values as Record<string, unknown>)[METRIC.trainLoss] = 'Infinity';
    d.run.evalPoints[0]!.stopRate = 1.5;
    (d.run as Record<string, unknown>).stepsDone = 2.5;
    (d.run as Record<string, unknown>).samples = [];
    d.run.config.decode.topK = -1;
    const err = errorOf(JSON.stringify(d));
    const byPath = Object.fromEntries(err.issues.map((i) => [i.path, i.message]));
    expect(byPath['run.evalPoints[1].accuracy']).toBe('expected number, got string "NaN"');
    expect(byPath['run.timeline[3].values["train/loss"]']).toBe('expected number, got string "Infinity"');
    expect(byPath['run.evalPoints[0].stopRate']).toBe('expected number ≤ 1, got 1.5');
    expect(byPath['run.stepsDone']).toBe('expected int, got 2.5');
    expect(byPath['run.samples']).toBe('expected object, got an array of 0 items');
    expect(byPath['run.config.decode.topK']).toBe('expected number ≥ 0, got -1');
    // Six issues: as many spelled out as fit in 300 characters, the rest counted.
    expect(err.issues).toHaveLength(6);
    expect(err.message.length).toBeLessThanOrEqual(300);
    expect(err.message).toMatch(
      /^invalid run file: run\.config\.decode\.topK: expected number ≥ 0, got -1; run\.stepsDone: /,
    );
    expect(err.message).toMatch(/; …and [1-4] more$/);
  });

  it('an unknown metric key, an unknown field, a bad enum value', () => {
    const d = good();
    (d.run.timeline[2]!.values as Record<string, number>)['train/evil'] = 1;
    expectRejected(d, 'run.timeline[2].values', /unknown metric key "train\/evil" \(known: train\/loss,/);
    expectRejected({ ...good(), extra: 1 }, '(root)', /unknown key "extra"/);
    const e = good();
    (e.run as { status: string }).status = 'exploded';
    expectRejected(e, 'run.status', /expected "running" \| "paused" .* got string "exploded"/);
  });

  it('oversized arrays and strings are refused by their bounds', () => {
    const t = good();
    const point: MetricPoint = { step: 0, elapsedMs: 0, values: {} };
    t.run.timeline = Array.from({ length: RUN_FILE_LIMITS.maxTimelinePoints + 1 }, () => point);
    expectRejected(t, 'run.timeline', /has 1000001 items, at most 1000000 allowed/);
    const h = good();
    const bin = h.run.evalPoints[0]!.histogram[0]!;
    h.run.evalPoints[0]!.histogram = Array.from({ length: RUN_FILE_LIMITS.maxHistogramBins + 1 }, () => bin);
    expectRejected(h, 'run.evalPoints[0].histogram', /at most 4096 allowed/);
    const s = good();
    s.run.samples!.samples[0]!.completion = 'x'.repeat(RUN_FILE_LIMITS.maxTraceChars + 1);
    expectRejected(s, 'run.samples.samples[0].completion', /is 65537 characters long, at most 65536 allowed/);
  });

  it('cross-field rules: config, duplicate evaluation ids, checkpoint step', () => {
    const c = good();
    c.run.config.task.instructions = 'diverse';
    expectRejected(c, 'run.config.task.instructions', /no diverse-instruction variant/);
    const e = good();
    e.run.evalPoints[1]!.id = 'e1';
    expectRejected(e, 'run.evalPoints[1].id', /duplicate id string "e1" \(also evalPoints\[0\]\)/);
    const s = good();
    s.run.checkpointStep = 39;
    expectRejected(s, 'run.checkpointStep', /is 39, but weights.step is 40/);
    const n = good();
    n.weights = null;
    expectRejected(n, 'run.checkpointStep', /the file has no weights/);
  });

  it('invalid base64 and base64 of garbage', () => {
    const d = good();
    const data = (d.weights as { data: string }).data;
    (d.weights as { data: string }).data = `${data.slice(0, 1000)}!${data.slice(1001)}`;
    expectRejected(d, 'weights.data', /invalid base64 character '!' at position 1000/);
    (d.weights as { data: string }).data = data.slice(0, -3);
    expectRejected(d, 'weights.data', /not a multiple of 4/);
    const rng = createRng(3);
    const garbage = Uint8Array.from({ length: 4096 }, () => rng.int(256));
    // With a matching hash (anyone can compute one), the loader still refuses the bytes.
    const weights = d.weights as { data: string; sha256: string };
    weights.data = bytesToBase64(garbage);
    weights.sha256 = sha256Hex(garbage);
    expectRejected(d, 'weights.data', /header length|header is not valid/);
    weights.data = '';
    weights.sha256 = sha256Hex(new Uint8Array(0));
    expectRejected(d, 'weights.data', /8-byte header length/);
  });

  it('weights for a different model size', () => {
    const d = good();
    d.run.config.model.size = 'small';
    expectRejected(
      d,
      'weights.data',
      /are for a different model \(dModel 64, 2 layers, 4 heads, context 64\); the run's 'small' model is dModel 128, 4 layers/,
    );
  });

  it('separate weights: missing, of another run, of another model, or given to an inline file', () => {
    const doc = docOf(separate.json);
    const name = 'stoptime-arithmetic-cot-2-01234567.safetensors';
    expect(errorOf(separate.json).message).toContain(
      `weights: are in a separate file "${name}": import it together with the run file`,
    );
    // Same model, other weights: same size, caught by the SHA-256.
    const other = exportRunFile(run, makeCheckpoint(TINY, 40, 2), 'separate').safetensors!;
    expect(other.length).toBe(separate.safetensors!.length);
    expectRejected(doc, 'weights.sha256', /does not match/, other);
    // Another model size: the byte count differs.
    const small = makeRun({ ...TINY, model: { size: 'small' } });
    const smallWeights = exportRunFile(small, makeCheckpoint(small.config, 40), 'separate').safetensors!;
    expectRejected(doc, 'weights.bytes', /the weights file given is \d+ bytes, the run file expects \d+/, smallWeights);
    // With the size and hash edited to match, the loader still tells the models apart.
    const unchecked = docOf(separate.json);
    const w = unchecked.weights as { bytes: number; sha256: string };
    w.bytes = smallWeights.length;
    w.sha256 = sha256Hex(smallWeights);
    expectRejected(unchecked, `weights file "${name}"`, /are for a different model/, smallWeights);
    // A sidecar with an inline file, or with a file without weights.
    expectRejected(good(), 'weights', /a separate weights file was given too/, separate.safetensors!);
    const none = exportRunFile(run, null, 'inline').json;
    expect(errorOf(none, separate.safetensors!).message).toMatch(/weights: is null .* but a weights file was given/);
  });

  it('"__proto__" keys do not pollute Object.prototype and are refused', () => {
    const text = inline.json
      .replace('{"format"', '{"__proto__":{"polluted":"root"},"format"')
      .replace('"config":{', '"config":{"__proto__":{"polluted":"config"},')
      .replace('"values":{', '"values":{"__proto__":{"polluted":"values"},');
    expect(text).not.toBe(inline.json);
    const err = errorOf(text);
    const paths = err.issues.map((i) => i.path);
    expect(paths).toContain('(root)');
    expect(err.message).toMatch(/unknown key "__proto__"/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    // Format and version read from the object's own fields, never through an inherited one.
    expect(errorOf('{"__proto__":{"format":"stoptime-run","schemaVersion":1}}').issues[0]!.path).toBe('format');
  });
});

/** `bytes` with bit `bit` (0–7) of byte `at` flipped. */
function flipBit(bytes: Uint8Array, at: number, bit: number): Uint8Array {
  const out = bytes.slice();
  out[at] = out[at]! ^ (1 << bit);
  return out;
}

describe('every imported weight byte is verified', () => {
  const weightsOf = (d: RunFileDocument) => d.weights as { data: string; sha256?: string };

  it('inline: a bit flipped in the weights (still finite, still valid base64) is refused by the SHA-256', () => {
    const d = docOf(inline.json);
    const bytes = base64ToBytes(weightsOf(d).data);
    // The lowest mantissa bit of the last weight: a finite value a hair away, which nothing else would notice.
    weightsOf(d).data = bytesToBase64(flipBit(bytes, bytes.length - 4, 0));
    expectRejected(d, 'weights.sha256', /does not match the bytes of weights\.data/);
  });

  it('a file without the hash is refused naming the field, inline or separate', () => {
    const d = docOf(inline.json);
    delete weightsOf(d).sha256;
    expectRejected(d, 'weights.sha256', /is missing: a run file records the SHA-256 of its weights/);
    // Separate: the hash deleted and a same-length weights file with one bit flipped.
    const s = docOf(separate.json);
    delete weightsOf(s).sha256;
    const flipped = flipBit(separate.safetensors!, separate.safetensors!.length - 4, 0);
    expectRejected(s, 'weights.sha256', /is missing/, flipped);
    const sha = docOf(separate.json);
    expectRejected(sha, 'weights.sha256', /the weights file given does not match/, flipped);
  });

  it('weights re-hashed by an editor still go through the loader: bounded message, metadata of another model', () => {
    const d = docOf(inline.json);
    const bytes = base64ToBytes(weightsOf(d).data);
    const hostile = withHeader(bytes, (h) => ((h['lm_head.weight'] as { dtype: string }).dtype = 'F'.repeat(500_000)));
    weightsOf(d).data = bytesToBase64(hostile);
    weightsOf(d).sha256 = sha256Hex(hostile);
    const err = expectRejected(d, 'weights.data', /lm_head\.weight: dtype "FFFF.*…", only F32 is supported/);
    expect(err.message.length).toBeLessThanOrEqual(300);
    // The run's seed changed: the metadata names the model with the other seed.
    const seed = docOf(inline.json);
    seed.run.config.seed = 6;
    expectRejected(seed, 'weights.data', /__metadata__\.stoptime_model_config: seed 5, expected 6/);
  });
});

describe('every message is bounded and names its field', () => {
  it('long values and many issues make a message of at most 300 characters', () => {
    const d = docOf(inline.json) as unknown as Record<string, unknown> & RunFileDocument;
    (d.run as unknown as Record<string, unknown>)[`x${'y'.repeat(100_000)}`] = 1;
    (d.run.config as unknown as Record<string, unknown>).seed = 'z'.repeat(100_000);
    d.run.evalPoints[0]!.variant = 'v'.repeat(100_000);
    d.run.timeline[1]!.values = Object.fromEntries(
      Array.from({ length: 1000 }, (_, i) => [`evil/${'k'.repeat(100)}${i}`, 1]),
    );
    const err = errorOf(JSON.stringify(d));
    expect(err.message.length).toBeLessThanOrEqual(300);
    expect(err.message).toMatch(/^invalid run file: run(\.|\[)/);
    expect(err.message).toMatch(/…and \d+ more$/);
    expect(err.issues.length).toBeGreaterThanOrEqual(4);
    for (const i of err.issues) expect(`${i.path}: ${i.message}`.length).toBeLessThanOrEqual(300);
  });
});

describe('a run is consistent with itself', () => {
  it('updated before it was created, or timeline steps that decrease, are refused', () => {
    const t = docOf(inline.json);
    t.run.updatedAt = t.run.createdAt - 1;
    expectRejected(t, 'run.updatedAt', /before createdAt/);
    const s = docOf(inline.json);
    s.run.timeline[7]!.step = 3;
    expectRejected(s, 'run.timeline[7].step', /is 3, less than the step before it \(7\)/);
    // Equal steps are fine (an RL stage's first point may share the SFT stage's last step).
    const e = docOf(inline.json);
    e.run.timeline[7]!.step = 7;
    expect(parseRunFile(JSON.stringify(e)).run.timeline[7]!.step).toBe(7);
  });

  it('export refuses an inconsistent run too', () => {
    expect(() => exportRunFile({ ...run, updatedAt: run.createdAt - 1 }, null, 'inline')).toThrow(
      /cannot export this run: run\.updatedAt: is \d+, before createdAt/,
    );
  });
});

describe('suite results', () => {
  const { level } = generateLevel(createRng(1));
  function evaluatedRun(): RunRecord {
    const suite = (over: Partial<SuiteResult>): SuiteResult => ({
      task: 'sokoban',
      suite: 'size10',
      kind: 'difficulty',
      unit: 'episode',
      problems: 4,
      successes: 1,
      meanThinkingTokens: 2.5,
      meanActions: 7.25,
      evalTimeMs: 120.5,
      samples: [
        {
          prompt: `${renderBoard(level)}\nact Up,Down,Left,Right:`,
          success: false,
          reason: 'prompt too long: 133 tokens leave no room to generate in the context of 128',
          turns: [{ completion: '<answer>Up</answer><eos>', action: 'Up', note: 'ok', thinkingTokens: 0 }],
          board: renderBoard(level),
        },
      ],
      ...over,
    });
    // A result with the too-long count, and one saved before it was recorded (no field).
    return {
      ...makeRun({ ...TINY, task: { ...TINY.task, id: 'sokoban' } }),
      checkpointStep: null,
      suiteResults: [suite({ tooLong: 2 }), suite({ suite: 'id', kind: 'id' })],
    };
  }
  /** The evaluated run's file, parsed back to a document to edit. */
  const doc = () => docOf(exportRunFile(evaluatedRun(), null, 'inline').json);
  const boardPath = 'run.suiteResults[0].samples[0].board';
  const setBoard = (board: string) => {
    const d = doc();
    d.run.suiteResults![0]!.samples[0]!.board = board;
    return d;
  };

  it('round-trip with their boards and too-long counts; a result without the count stays without', () => {
    const evaluated = evaluatedRun();
    const parsed = parseRunFile(exportRunFile(evaluated, null, 'inline').json).run;
    expect(parsed).toStrictEqual(evaluated);
    expect(parsed.suiteResults!.map((r) => r.tooLong)).toEqual([2, undefined]);
  });

  it('a board of more than 32 rows or columns, or with a symbol no board has, is refused naming the sample', () => {
    const side = RUN_FILE_LIMITS.maxBoardSide;
    const rows = (n: number, width: number) =>
      Array.from({ length: n }, (_, r) => (r === 0 ? `P${'_'.repeat(width - 1)}` : '#'.repeat(width))).join('\n');
    // The largest allowed board parses (the replay, not the file, says whether it is a playable level).
    const largest = setBoard(rows(side, side));
    expect(parseRunFile(JSON.stringify(largest)).run.suiteResults![0]!.samples[0]!.board).toBe(rows(side, side));
    expectRejected(setBoard(rows(side + 1, 4)), boardPath, /has 33 rows, at most 32 allowed/);
    expectRejected(setBoard(rows(3, side + 1)), boardPath, /row 0 has 33 columns, at most 32 allowed/);
    expectRejected(setBoard('#P#\n#<#'), boardPath, /row 1 column 1 holds "<", not a board symbol \(#_OXP√S\)/);
    expectRejected(
      setBoard('#'.repeat(RUN_FILE_LIMITS.maxTraceChars)),
      boardPath,
      /is 65536 characters long, at most 1055/,
    );
  });

  it('a too-long count must be a count', () => {
    const d = doc();
    (d.run.suiteResults![0] as unknown as Record<string, unknown>).tooLong = -1;
    expectRejected(d, 'run.suiteResults[0].tooLong', /expected number ≥ 0, got -1/);
  });

  it('counts beyond their totals, a suite of another task, a suite twice: refused naming the result', () => {
    const edit = (f: (r: SuiteResult[]) => void) => {
      const d = doc();
      f(d.run.suiteResults!);
      return d;
    };
    expectRejected(
      edit((r) => (r[1]!.successes = 5)),
      'run.suiteResults[1].successes',
      /is 5, more than problems \(4\)/,
    );
    expectRejected(
      edit((r) => (r[0]!.tooLong = 4)),
      'run.suiteResults[0].tooLong',
      /is 4; with 1 successes that is more than problems \(4\)/,
    );
    expectRejected(
      edit((r) => Object.assign(r[0]!, { turns: 3, parsedTurns: 4 })),
      'run.suiteResults[0].parsedTurns',
      /is 4, more than turns \(3\)/,
    );
    expectRejected(
      edit((r) => Object.assign(r[0]!, { parsedTurns: 4 })),
      'run.suiteResults[0].parsedTurns',
      /and turns must be given together/,
    );
    expectRejected(
      edit((r) => (r[1]!.task = 'general_points')),
      'run.suiteResults[1].task',
      /is "general_points", but the run's task is "sokoban"/,
    );
    expectRejected(
      edit((r) => (r[1]!.suite = 'size10')),
      'run.suiteResults[1].suite',
      /duplicate suite "size10" \(also suiteResults\[0\]\)/,
    );
  });

  it('turn counts must be counts', () => {
    const d = doc();
    (d.run.suiteResults![0] as unknown as Record<string, unknown>).parsedTurns = 2.5;
    expectRejected(d, 'run.suiteResults[0].parsedTurns', /expected int, got 2.5/);
  });
});

describe('random valid runs round-trip (property)', () => {
  const SIZES: PlaygroundModel[] = [...PLAYGROUND_MODEL_SIZES];
  const STATUSES: RunStatus[] = ['running', 'paused', 'stopped', 'finished', 'interrupted', 'imported', 'error'];
  const SERIES: SeriesId[] = ['temperature', 'ts', 'bias', 'cap', 'extend'];
  // Valid task settings (the cross-field rules: diverse instructions only for tasks with a diverse variant, variants
  // of the task).
  const TASKS = [
    { id: 'arithmetic', instructions: 'fixed', variants: ['id', 'add', 'sub', 'mul', 'more_digits'] },
    { id: 'general_points', instructions: 'fixed', variants: ['id'] },
    { id: 'general_points', instructions: 'diverse', variants: ['id'] },
    { id: 'sokoban', instructions: 'diverse', variants: ['id'] },
    { id: 'sokoban', instructions: 'fixed', variants: ['id'] },
  ] as const;
  /** Plain objects (fast-check also makes null-prototype ones, which toStrictEqual tells apart). */
  const record = ((shape: Record<string, fc.Arbitrary<unknown>>, options?: { requiredKeys?: [] }) =>
    fc.record(shape, { noNullPrototype: true, ...options })) as typeof fc.record;
  /** JSON writes -0 as 0. */
  const noNegZero = (x: number) => x + 0;
  const finite = (min: number, max: number) => fc.double({ min, max, noNaN: true }).map(noNegZero);
  const nat = (max = 1_000_000) => fc.integer({ min: 0, max });

  const decode: fc.Arbitrary<DecodeConfig> = record({
    temperature: finite(0, 10),
    topK: nat(1024),
    topP: finite(1e-6, 1),
    intervention: fc.constantFrom('none', 'ts', 'bias', 'cap', 'extend'),
    stopTemperature: finite(1e-3, 100),
    stopLogitBias: finite(-100, 100),
    thinkingBudgetTokens: nat(1024),
    minThinkingTokens: nat(1024),
    maxExtensions: nat(16),
    maxNewTokens: fc.integer({ min: 1, max: 1024 }),
  });

  const config = (size: fc.Arbitrary<PlaygroundModel>): fc.Arbitrary<RunConfig> =>
    record({
      seed: nat(2 ** 31 - 1),
      task: fc.constantFrom(...TASKS),
      variantPick: nat(10),
      targetStyle: fc.constantFrom('cot', 'answer'),
      size,
      steps: fc.integer({ min: 1, max: 1_000_000 }),
      batchSize: fc.integer({ min: 1, max: 1024 }),
      learningRate: finite(1e-6, 1),
      warmupSteps: nat(),
      weightDecay: finite(0, 10),
      decode,
      evalSize: fc.integer({ min: 1, max: 4096 }),
    }).map((r) => ({
      ...DEFAULT_RUN_CONFIG,
      seed: r.seed,
      task: {
        ...DEFAULT_RUN_CONFIG.task,
        id: r.task.id,
        instructions: r.task.instructions,
        targetStyle: r.targetStyle,
      },
      model: { size: r.size },
      sft: {
        ...DEFAULT_RUN_CONFIG.sft,
        steps: r.steps,
        batchSize: r.batchSize,
        learningRate: r.learningRate,
        warmupSteps: r.warmupSteps,
        weightDecay: r.weightDecay,
      },
      eval: { size: r.evalSize, variant: r.task.variants[r.variantPick % r.task.variants.length]!, seed: r.seed },
      decode: r.decode,
    }));

  const traceSample: fc.Arbitrary<TraceSample> = record({
    prompt: fc.string({ maxLength: 40, unit: 'grapheme' }),
    completion: fc.string({ maxLength: 60, unit: 'binary' }),
    correct: fc.boolean(),
    reason: fc.string({ maxLength: 20 }),
    thinkingTokens: nat(1024),
    finished: fc.boolean(),
  });

  // NaN round-trips (as null); ±Infinity comes back as NaN, tested on its own above.
  const metricValue = fc.oneof(finite(-Number.MAX_VALUE, Number.MAX_VALUE), fc.constant(Number.NaN));
  const metricPoint: fc.Arbitrary<MetricPoint> = record({
    step: nat(),
    elapsedMs: finite(0, 1e12),
    values: record(
      Object.fromEntries(METRIC_KEYS.map((k) => [k, metricValue])) as Record<MetricKey, fc.Arbitrary<number>>,
      { requiredKeys: [] },
    ),
  });

  const evalPoints: fc.Arbitrary<EvalPoint[]> = fc.uniqueArray(
    record({
      id: fc.string({ minLength: 1, maxLength: 12 }),
      step: nat(),
      series: fc.constantFrom(...SERIES),
      decode,
      variant: fc.string({ minLength: 1, maxLength: 10 }),
      problems: nat(4096),
      accuracy: finite(0, 1),
      meanThinkingTokens: finite(0, 1024),
      meanThinkingTokensCorrect: fc.option(finite(0, 1024)),
      meanThinkingTokensWrong: fc.option(finite(0, 1024)),
      meanCompletionTokens: finite(0, 1024),
      stopRate: finite(0, 1),
      repetitionRate: finite(0, 1),
      histogram: fc.array(
        record({ startTokens: nat(1024), widthTokens: fc.integer({ min: 1, max: 64 }), correct: nat(), wrong: nat() }),
        { maxLength: 4 },
      ),
      samples: fc.array(traceSample, { maxLength: 3 }),
      evalTimeMs: finite(0, 1e7),
      createdAt: nat(2 ** 45),
    }),
    { maxLength: 3, selector: (p) => p.id },
  );

  const runArb = (size: fc.Arbitrary<PlaygroundModel>): fc.Arbitrary<RunRecord> =>
    record({
      id: fc.stringMatching(/^[0-9a-f]{32}$/),
      name: fc.string({ maxLength: 40, unit: 'grapheme' }),
      createdAt: nat(2 ** 45),
      updatedAt: nat(2 ** 45),
      config: config(size),
      status: fc.constantFrom(...STATUSES),
      adapter: fc.string({ maxLength: 30 }),
      stepsDone: nat(),
      timeline: fc.array(metricPoint, { maxLength: 8 }),
      evalPoints,
      samples: fc.option(record({ step: nat(), samples: fc.array(traceSample, { maxLength: 3 }) })),
      checkpointStep: fc.option(nat()),
    }).map((r) => ({
      // A consistent run: updated no earlier than created, timeline steps in order.
      ...r,
      createdAt: Math.min(r.createdAt, r.updatedAt),
      updatedAt: Math.max(r.createdAt, r.updatedAt),
      timeline: r.timeline
        .map((p) => p.step)
        .sort((a, b) => a - b)
        .map((step, i) => ({ ...r.timeline[i]!, step })),
    }));

  it('without weights, any model size', () => {
    fc.assert(
      fc.property(runArb(fc.constantFrom(...SIZES)), fc.constantFrom('inline', 'separate'), (r, mode) => {
        const out = exportRunFile(r, null, mode as 'inline' | 'separate');
        const parsed = parseRunFile(out.json);
        expect(parsed.run).toStrictEqual({ ...r, checkpointStep: null });
        expect(parsed.checkpoint).toBeNull();
      }),
      { numRuns: 200 },
    );
  });

  it('with weights of the tiny model, inline or separate', () => {
    fc.assert(
      fc.property(runArb(fc.constant('tiny')), nat(), fc.boolean(), (r, step, inlineMode) => {
        const ckpt = makeCheckpoint(r.config, step, r.config.seed);
        const out = exportRunFile(r, ckpt, inlineMode ? 'inline' : 'separate');
        const parsed = parseRunFile(out.json, out.safetensors ?? undefined);
        expect(parsed.run).toStrictEqual({ ...r, checkpointStep: step });
        expect(firstBitDifference(parsed.checkpoint!.params, ckpt.params)).toBe(-1);
        expect(parsed.checkpoint!.step).toBe(step);
      }),
      { numRuns: 12 },
    );
  });
});
