/**
 * Corrupt run files (property): an exported run with weights and suite results, damaged by a bit flip in its weights
 * or hash, edited counts and orderings, or safetensors offsets, metadata and lengths rewritten by an editor who also
 * recomputes the SHA-256. Every such file must be refused by the store's own import, with a short message, and leave
 * the stored runs as they were.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildParamLayout, initParams } from '../../src/model/params';
import { base64ToBytes, bytesToBase64, sha256Hex } from '../../src/runs/encoding';
import { exportRunFile, parseRunFile, type RunFileDocument } from '../../src/runs/run_file';
import type { RunRecord } from '../../src/runs/run_record';
import { useStore } from '../../src/state/store';
import { DEFAULT_RUN_CONFIG, modelConfigFor, type RunConfig } from '../../src/train/run_config';
import type { SuiteResult } from '../../src/train/suite_types';
import { withHeader } from '../helpers/safetensors';

const CONFIG: RunConfig = {
  ...DEFAULT_RUN_CONFIG,
  task: { ...DEFAULT_RUN_CONFIG.task, id: 'sokoban' },
  model: { size: 'tiny' },
  seed: 3,
};

function suite(name: string): SuiteResult {
  return {
    task: 'sokoban',
    suite: name,
    kind: name === 'id' ? 'id' : 'difficulty',
    unit: 'episode',
    problems: 4,
    successes: 1,
    tooLong: 1,
    meanThinkingTokens: 2,
    turns: 6,
    parsedTurns: 5,
    meanActions: 1.5,
    evalTimeMs: 10,
    samples: [],
  };
}

const RUN: RunRecord = {
  id: 'c0ffee00c0ffee00c0ffee00c0ffee00',
  name: 'corruption fixture',
  createdAt: 1_760_000_000_000,
  updatedAt: 1_760_000_100_000,
  config: CONFIG,
  status: 'finished',
  adapter: 'test',
  stepsDone: 8,
  timeline: Array.from({ length: 8 }, (_, i) => ({ step: i + 1, elapsedMs: i * 10, values: { 'train/loss': 1 } })),
  evalPoints: [],
  samples: null,
  checkpointStep: 8,
  suiteResults: [suite('id'), suite('size10')],
};

const modelConfig = modelConfigFor(CONFIG);
const layout = buildParamLayout(modelConfig);
const CHECKPOINT = { params: initParams(modelConfig, layout), m: null, v: null, step: 8 };
const inline = exportRunFile(RUN, CHECKPOINT, 'inline');
const separate = exportRunFile(RUN, CHECKPOINT, 'separate');
const WEIGHT_BYTES = separate.safetensors!;

interface Files {
  doc: RunFileDocument;
  /** The safetensors bytes (inside the document as base64, or beside it). */
  weights: Uint8Array;
}

/** The exported files as an editable document and the weights' bytes. */
function fresh(inlineMode: boolean): Files {
  return inlineMode
    ? { doc: JSON.parse(inline.json), weights: WEIGHT_BYTES.slice() }
    : { doc: JSON.parse(separate.json), weights: WEIGHT_BYTES.slice() };
}

/** The text and side-car file of `f`, the weights written where the document says (hash and size as they stand). */
function serialise(f: Files): { text: string; sidecar: Uint8Array | undefined } {
  const w = f.doc.weights!;
  if (w.encoding === 'safetensors-base64')
    return {
      text: JSON.stringify({ ...f.doc, weights: { ...w, data: bytesToBase64(f.weights) } }),
      sidecar: undefined,
    };
  return { text: JSON.stringify(f.doc), sidecar: f.weights };
}

/** An editor who also fixes the recorded hash and size after changing the weights. */
function rehash(f: Files): void {
  const w = f.doc.weights!;
  w.sha256 = sha256Hex(f.weights);
  if (w.encoding === 'safetensors-file') w.bytes = f.weights.length;
}

type Mutation = { name: string; apply: (f: Files) => void };

const tensorNames = layout.entries.map((e) => e.name);
const suiteIndex = fc.integer({ min: 0, max: 1 });
const more = fc.integer({ min: 1, max: 1000 });

const mutations: fc.Arbitrary<Mutation> = fc.oneof(
  // Damage: bits flipped in the weights or in their recorded hash.
  fc.tuple(fc.nat(WEIGHT_BYTES.length - 1), fc.integer({ min: 0, max: 7 })).map(([at, bit]) => ({
    name: `weights byte ${at} bit ${bit}`,
    apply: (f: Files) => {
      f.weights[at] = f.weights[at]! ^ (1 << bit);
    },
  })),
  fc.tuple(fc.nat(63), fc.integer({ min: 1, max: 15 })).map(([at, xor]) => ({
    name: `sha256 digit ${at} ^ ${xor}`,
    apply: (f: Files) => {
      const h = f.doc.weights!.sha256;
      const digit = (Number.parseInt(h[at]!, 16) ^ xor).toString(16);
      f.doc.weights!.sha256 = `${h.slice(0, at)}${digit}${h.slice(at + 1)}`;
    },
  })),
  // Edits that keep the hash right: offsets, header length, metadata, trailing bytes.
  fc
    .tuple(
      fc.constantFrom(...tensorNames),
      fc.integer({ min: -4096, max: 4096 }).filter((d) => d !== 0),
    )
    .map(([name, shift]) => ({
      name: `${name} offsets ${shift > 0 ? '+' : ''}${shift}, re-hashed`,
      apply: (f: Files) => {
        f.weights = withHeader(f.weights, (h) => {
          const info = h[name] as { data_offsets: number[] };
          info.data_offsets = info.data_offsets.map((o) => o + shift);
        });
        rehash(f);
      },
    })),
  fc.tuple(fc.constantFrom(...tensorNames), fc.constantFrom(0, 1), more).map(([name, end, delta]) => ({
    name: `${name} data_offsets[${end}] + ${delta}, re-hashed`,
    apply: (f: Files) => {
      f.weights = withHeader(f.weights, (h) => {
        const info = h[name] as { data_offsets: number[] };
        info.data_offsets[end] = info.data_offsets[end]! + delta;
      });
      rehash(f);
    },
  })),
  fc.tuple(fc.nat(7), fc.integer({ min: 0, max: 7 })).map(([at, bit]) => ({
    name: `header length byte ${at} bit ${bit}, re-hashed`,
    apply: (f: Files) => {
      f.weights[at] = f.weights[at]! ^ (1 << bit);
      rehash(f);
    },
  })),
  fc
    .tuple(fc.constantFrom('vocabSize', 'contextLength', 'dModel', 'nLayers', 'nHeads', 'mlpRatio', 'seed'), more)
    .map(([field, delta]) => ({
      name: `metadata ${field} + ${delta}, re-hashed`,
      apply: (f: Files) => {
        f.weights = withHeader(f.weights, (h) => {
          const meta = h.__metadata__ as { stoptime_model_config: string };
          const c = JSON.parse(meta.stoptime_model_config);
          c[field] += delta;
          meta.stoptime_model_config = JSON.stringify(c);
        });
        rehash(f);
      },
    })),
  fc.integer({ min: 1, max: 64 }).map((n) => ({
    name: `${n} bytes appended, re-hashed`,
    apply: (f: Files) => {
      const longer = new Uint8Array(f.weights.length + n);
      longer.set(f.weights);
      f.weights = longer;
      rehash(f);
    },
  })),
  // Counts and orderings that contradict each other.
  fc.tuple(suiteIndex, more).map(([i, k]) => ({
    name: `suiteResults[${i}].successes = problems + ${k}`,
    apply: (f: Files) => {
      const r = f.doc.run.suiteResults![i]!;
      r.successes = r.problems + k;
    },
  })),
  fc.tuple(suiteIndex, more).map(([i, k]) => ({
    name: `suiteResults[${i}].problems lowered by ${k}`,
    apply: (f: Files) => {
      const r = f.doc.run.suiteResults![i]!;
      r.problems = Math.max(0, r.successes + (r.tooLong ?? 0) - k);
    },
  })),
  fc.tuple(suiteIndex, more).map(([i, k]) => ({
    name: `suiteResults[${i}].tooLong + ${k}`,
    apply: (f: Files) => {
      const r = f.doc.run.suiteResults![i]!;
      r.tooLong = r.problems - r.successes + k;
    },
  })),
  fc.tuple(suiteIndex, more).map(([i, k]) => ({
    name: `suiteResults[${i}].parsedTurns = turns + ${k}`,
    apply: (f: Files) => {
      const r = f.doc.run.suiteResults![i]!;
      r.parsedTurns = r.turns! + k;
    },
  })),
  fc
    .tuple(suiteIndex, fc.constantFrom('arithmetic', 'general_points') as fc.Arbitrary<SuiteResult['task']>)
    .map(([i, task]) => ({
      name: `suiteResults[${i}].task = ${task}`,
      apply: (f: Files) => {
        f.doc.run.suiteResults![i]!.task = task;
      },
    })),
  fc.constant({
    name: 'a suite twice',
    apply: (f: Files) => {
      f.doc.run.suiteResults![1]!.suite = f.doc.run.suiteResults![0]!.suite;
    },
  }),
  fc.tuple(fc.integer({ min: 1, max: 7 }), more).map(([i, k]) => ({
    name: `timeline[${i}].step below the one before by ${k}`,
    apply: (f: Files) => {
      const t = f.doc.run.timeline;
      t[i]!.step = Math.max(0, t[i - 1]!.step - k);
      if (t[i]!.step === t[i - 1]!.step) t[i - 1]!.step += 1;
    },
  })),
  more.map((k) => ({
    name: `updatedAt ${k} ms before createdAt`,
    apply: (f: Files) => {
      f.doc.run.updatedAt = f.doc.run.createdAt - k;
    },
  })),
);

describe('corrupt run files are refused and change nothing stored (property)', () => {
  const stored: RunRecord = { ...RUN, id: 'stored', name: 'already stored' };

  beforeAll(() => {
    useStore.setState({ runs: { [stored.id]: stored }, runOrder: [stored.id], error: null });
  });

  it('the uncorrupted files import (the control)', () => {
    const same = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer).equals(Buffer.from(b.buffer));
    expect(parseRunFile(inline.json).run).toStrictEqual(RUN);
    expect(same(parseRunFile(separate.json, WEIGHT_BYTES).checkpoint!.params, CHECKPOINT.params)).toBe(true);
    // Both modes start from the same bytes, and the serialised files import as they are.
    const data = (JSON.parse(inline.json) as RunFileDocument).weights as { data: string };
    expect(Buffer.from(base64ToBytes(data.data)).equals(Buffer.from(WEIGHT_BYTES))).toBe(true);
    for (const mode of [true, false]) {
      const { text, sidecar } = serialise(fresh(mode));
      expect(parseRunFile(text, sidecar).run).toStrictEqual(RUN);
    }
  });

  it('every mutation is refused with a bounded message, and the stored runs stay as they were', async () => {
    const runsBefore = useStore.getState().runs;
    const snapshot = JSON.stringify(runsBefore);
    await fc.assert(
      fc.asyncProperty(mutations, fc.boolean(), async (mutation, inlineMode) => {
        const files = fresh(inlineMode);
        mutation.apply(files);
        const { text, sidecar } = serialise(files);
        const picked = [new File([text], 'corrupt.stoptime.json')];
        if (sidecar) picked.push(new File([new Uint8Array(sidecar)], 'corrupt.safetensors'));
        useStore.setState({ error: null });
        await useStore.getState().importFiles(picked);
        const error = useStore.getState().error;
        expect(error, mutation.name).toMatch(/^Import of 'corrupt\.stoptime\.json' failed: invalid run file: /);
        expect(error!.length, mutation.name).toBeLessThanOrEqual(400);
        expect(useStore.getState().runs, mutation.name).toBe(runsBefore);
      }),
      { numRuns: 80 },
    );
    expect(JSON.stringify(useStore.getState().runs)).toBe(snapshot);
  });
});
