/**
 * Exact resume anywhere: a run file exported with its AdamW moments (opt-in) imports to the same checkpoint, bit for
 * bit, and a session resumed from it takes the same steps as the uninterrupted run (as a reload's resume does). The
 * moments carry the weights' integrity check. CPU backend (the GPU trainer shares the state format).
 */
import { describe, expect, it } from 'vitest';
import { buildParamLayout } from '../../src/model/params';
import { exportRunFile, parseRunFile } from '../../src/runs/run_file';
import { newRunRecord } from '../../src/state/playground_state';
import type { TrainerState } from '../../src/train/backend';
import { createCpuBackend } from '../../src/train/backend_cpu';
import { METRIC } from '../../src/train/metrics';
import { modelConfigFor } from '../../src/train/run_config';
import { SftSession } from '../../src/train/sft';
import { tinyOneDigitRun } from '../helpers/tiny_run';

const config = tinyOneDigitRun(4, { steps: 5, warmupSteps: 2, evalLossEverySteps: 0, samplesEverySteps: 0 });

/** Trains `config` from `from` (or fresh), stopping once step `stopAt` is done; the state then, moments included. */
async function train(from: TrainerState | undefined, stopAt?: number): Promise<TrainerState> {
  let session: SftSession | null = null;
  session = new SftSession(
    createCpuBackend(),
    config,
    (e) => {
      if (e.type === 'metrics' && METRIC.trainLoss in e.values && e.step === stopAt) session!.stop();
    },
    from,
    { logWindowMs: 0, decodeRows: 2 },
  );
  await session.run();
  const state = await session.readState();
  await session.destroy();
  return state;
}

const bits = (a: Float32Array | null) =>
  a === null ? null : Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe('run files with AdamW moments', () => {
  it('import to the same checkpoint bit for bit, and resume exactly as the uninterrupted run', async () => {
    const straight = await train(undefined);
    const at3 = await train(undefined, 3);
    expect(at3.step).toBe(3);
    expect(at3.m).not.toBeNull();
    const run = { ...newRunRecord(config, 'moments', 'CPU reference'), stepsDone: 3, status: 'stopped' as const };
    for (const mode of ['inline', 'separate'] as const) {
      const file = exportRunFile(run, at3, mode, { withMoments: true });
      const parsed = parseRunFile(file.json, file.safetensors ?? undefined);
      expect(parsed.checkpoint!.step).toBe(3);
      expect(bits(parsed.checkpoint!.params)).toEqual(bits(at3.params));
      expect(bits(parsed.checkpoint!.m)).toEqual(bits(at3.m));
      expect(bits(parsed.checkpoint!.v)).toEqual(bits(at3.v));
    }
    const imported = parseRunFile(exportRunFile(run, at3, 'inline', { withMoments: true }).json).checkpoint!;
    const resumed = await train(imported);
    expect(resumed.step).toBe(5);
    expect(bits(resumed.params)).toEqual(bits(straight.params));
    expect(bits(resumed.m)).toEqual(bits(straight.m));
    // Without the moments (the default) the import resumes with fresh ones: the weights then differ.
    const plain = parseRunFile(exportRunFile(run, at3, 'inline').json).checkpoint!;
    expect([plain.m, plain.v]).toEqual([null, null]);
    expect(bits((await train(plain)).params)).not.toEqual(bits(straight.params));
  });

  it('refuses moments that were changed, of another step, or without weights; and a checkpoint without moments', () => {
    const n = buildParamLayout(modelConfigFor(config)).totalElements;
    const filled = (x: number) => new Float32Array(n).fill(x);
    const state: TrainerState = { params: filled(0.5), m: filled(0.01), v: filled(0.001), step: 3 };
    const run = { ...newRunRecord(config, 'x', 'CPU reference'), stepsDone: 3, status: 'stopped' as const };
    const doc = JSON.parse(exportRunFile(run, state, 'inline', { withMoments: true }).json);
    const reparse = (edit: (d: typeof doc) => void) => {
      const d = structuredClone(doc);
      edit(d);
      return () => parseRunFile(JSON.stringify(d));
    };
    expect(parseRunFile(JSON.stringify(doc)).checkpoint!.v![7]).toBe(Math.fround(0.001));
    expect(
      reparse((d) => {
        d.moments.m.sha256 = d.moments.v.sha256;
      }),
    ).toThrow(/moments\.m\.sha256: does not match/);
    expect(
      reparse((d) => {
        d.moments.step = 2;
      }),
    ).toThrow(/moments\.step: is 2, but weights\.step is 3/);
    expect(
      reparse((d) => {
        d.weights = null;
        d.run.checkpointStep = null;
      }),
    ).toThrow(/moments: are given, but the file has no weights/);
    expect(() => exportRunFile(run, { ...state, m: null }, 'inline', { withMoments: true })).toThrow(/checkpoint\.m/);
  });
});
