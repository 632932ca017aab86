import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MODEL_PRESETS } from '../../src/model/config';
import { buildParamLayout, initParams } from '../../src/model/params';
import { loadSafetensors, SafetensorsError, saveSafetensors } from '../../src/model/safetensors';
import { readHeader, withHeader, withShiftedTensor } from '../helpers/safetensors';

const config = { ...MODEL_PRESETS.tiny, nLayers: 1, seed: 7 };
const layout = buildParamLayout(config);
const params = initParams(config, layout);

function header(bytes: Uint8Array): Record<string, { shape: number[]; data_offsets: number[]; dtype: string }> {
  return readHeader(bytes) as Record<string, { shape: number[]; data_offsets: number[]; dtype: string }>;
}

describe('safetensors', () => {
  it('round-trips the weights and the config exactly', () => {
    const bytes = saveSafetensors(config, layout, params);
    const loaded = loadSafetensors(bytes);
    expect(loaded.config).toEqual(config);
    expect(Buffer.from(loaded.params.buffer).equals(Buffer.from(params.buffer))).toBe(true);
  });

  it('writes PyTorch names, shapes and contiguous offsets, data 8-byte aligned', () => {
    const bytes = saveSafetensors(config, layout, params);
    const h = header(bytes);
    const C = config.dModel;
    expect(h['transformer.wte.weight']!.shape).toEqual([config.vocabSize, C]);
    expect(h['transformer.h.0.attn.c_attn.weight']!.shape).toEqual([3 * C, C]);
    expect(h['transformer.h.0.mlp.c_proj.weight']!.shape).toEqual([C, 4 * C]);
    expect(h['lm_head.weight']!.dtype).toBe('F32');
    let expectedBegin = 0;
    for (const e of layout.entries) {
      expect(h[e.name]!.data_offsets).toEqual([expectedBegin, expectedBegin + e.length * 4]);
      expectedBegin += e.length * 4;
    }
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    // A value lands where its offsets say.
    const e = layout.byName.get('transformer.h.0.ln_1.weight')!;
    const begin = 8 + n + h[e.name]!.data_offsets[0]!;
    expect(new DataView(bytes.buffer).getFloat32(begin, true)).toBe(params[e.offset]);
  });

  it('rejects truncated, malformed and hostile files with a clear error', () => {
    const bytes = saveSafetensors(config, layout, params);
    expect(() => loadSafetensors(bytes.subarray(0, 5))).toThrow(/8-byte header length/);
    expect(() => loadSafetensors(bytes.subarray(0, bytes.length - 4))).toThrow(/data_offsets/);
    const huge = bytes.slice();
    new DataView(huge.buffer).setBigUint64(0, 2n ** 60n, true);
    expect(() => loadSafetensors(huge)).toThrow(/header length/);
    expect(() => loadSafetensors(withHeader(bytes, (h) => delete h['lm_head.weight']))).toThrow(
      /lm_head.weight is missing/,
    );
    expect(() =>
      loadSafetensors(withHeader(bytes, (h) => ((h['lm_head.weight'] as { dtype: string }).dtype = 'F16'))),
    ).toThrow(/only F32/);
    expect(() =>
      loadSafetensors(withHeader(bytes, (h) => ((h['lm_head.weight'] as { shape: number[] }).shape = [1, 2]))),
    ).toThrow(/shape/);
    expect(() => loadSafetensors(withHeader(bytes, (h) => (h.__metadata__ = {})))).toThrow(/not a Stoptime model/);
    expect(() =>
      loadSafetensors(withHeader(bytes, (h) => (h.__metadata__ = { stoptime_model_config: '{"dModel": 3}' }))),
    ).toThrow(SafetensorsError);
    expect(() => loadSafetensors(withHeader(bytes, (h) => (h.evil = { dtype: 'F32' })))).toThrow(/unexpected tensor/);
    const nan = bytes.slice();
    const n = Number(new DataView(nan.buffer).getBigUint64(0, true));
    new DataView(nan.buffer).setFloat32(8 + n, Number.NaN, true);
    expect(() => loadSafetensors(nan)).toThrow(/finite/);
  });
});

/** The SafetensorsError of loading `bytes`, failing the test when it loads or throws anything else. */
function loadError(bytes: Uint8Array, expectConfig?: typeof config): SafetensorsError {
  try {
    loadSafetensors(bytes, expectConfig);
  } catch (e) {
    expect(e).toBeInstanceOf(SafetensorsError);
    return e as SafetensorsError;
  }
  throw new Error('loadSafetensors accepted the file');
}

describe('safetensors layout, metadata and bounds', () => {
  const bytes = saveSafetensors(config, layout, params);
  const last = layout.entries[layout.entries.length - 1]!.name;

  it('two tensors on the same bytes, or one shifted into its neighbour, overlap', () => {
    const same = withHeader(bytes, (h) => {
      (h['transformer.h.0.ln_1.bias'] as { data_offsets: number[] }).data_offsets = (
        h['transformer.h.0.ln_1.weight'] as { data_offsets: number[] }
      ).data_offsets;
    });
    expect(loadError(same).message).toMatch(/transformer\.h\.0\.ln_1\.bias: data_offsets .* overlap .*ln_1\.weight/);
    expect(loadError(withShiftedTensor(bytes, 'transformer.h.0.ln_1.weight', -4)).message).toMatch(
      /ln_1\.weight: .* overlap transformer\.wpe\.weight/,
    );
  });

  it('bytes that belong to no tensor, bytes after the last one, and a file too short are refused', () => {
    expect(loadError(withShiftedTensor(bytes, last, 4, 4)).message).toMatch(
      /bytes \[\d+, \d+\) of the data belong to no tensor/,
    );
    const trailing = new Uint8Array(bytes.length + 4);
    trailing.set(bytes);
    expect(loadError(trailing).message).toMatch(/4 bytes after the last tensor/);
    expect(loadError(bytes.subarray(0, bytes.length - 4)).message).toMatch(/data_offsets/);
  });

  it('a tensor that is not 4-byte aligned is refused', () => {
    expect(loadError(withShiftedTensor(bytes, last, 2, 2)).message).toMatch(
      /lm_head\.weight: data_offsets \[\d+, \d+\] .*4-byte aligned/,
    );
  });

  it('with an expected config, the metadata must be present, JSON, and the same model', () => {
    const loaded = loadSafetensors(bytes, config).params;
    // Bit-identical (toEqual on a 60k-element array takes half a second).
    expect(Buffer.from(loaded.buffer).equals(Buffer.from(params.buffer))).toBe(true);
    expect(
      loadError(
        withHeader(bytes, (h) => delete h.__metadata__),
        config,
      ).message,
    ).toMatch(/__metadata__\.stoptime_model_config is missing/);
    const notJson = withHeader(bytes, (h) => (h.__metadata__ = { stoptime_model_config: '{dModel' }));
    expect(loadError(notJson, config).message).toMatch(/__metadata__\.stoptime_model_config is not valid JSON/);
    const other = withHeader(
      bytes,
      (h) => (h.__metadata__ = { stoptime_model_config: JSON.stringify({ ...config, seed: 8 }) }),
    );
    expect(loadError(other, config).message).toMatch(/__metadata__\.stoptime_model_config: seed 8, expected 7/);
  });

  it('messages stay short and name the field, whatever the size of the value', () => {
    const cases = [
      withHeader(bytes, (h) => ((h[last] as { dtype: string }).dtype = 'F'.repeat(500_000))),
      withHeader(bytes, (h) => ((h[last] as { shape: number[] }).shape = Array.from({ length: 100_000 }, () => 7))),
      withHeader(bytes, (h) => (h[`x${'y'.repeat(100_000)}`] = {})),
      withHeader(
        bytes,
        (h) => (h.__metadata__ = { stoptime_model_config: JSON.stringify({ ...config, dModel: 'd'.repeat(500_000) }) }),
      ),
    ];
    for (const [i, file] of cases.entries()) {
      const message = loadError(file).message;
      expect(message.length, `case ${i}: ${message.slice(0, 80)}`).toBeLessThanOrEqual(300);
      expect(message).toMatch(/lm_head\.weight: dtype|lm_head\.weight: shape|unexpected tensor "xyyy|model\.dModel/);
    }
  });

  it('a header naming a model whose parameter arena exceeds the device limit is refused before allocating', () => {
    // Each tensor fits a binding (the largest, c_fc, is exactly 128 MiB), the arena (5.4e9 values) does not.
    const big = { vocabSize: 1024, contextLength: 1024, dModel: 2048, nLayers: 64, nHeads: 16, mlpRatio: 8, seed: 1 };
    const bigLayout = buildParamLayout(big);
    const h: Record<string, unknown> = { __metadata__: { stoptime_model_config: JSON.stringify(big) } };
    let offset = 0;
    for (const e of bigLayout.entries) {
      h[e.name] = { dtype: 'F32', shape: e.shape, data_offsets: [offset, offset + e.length * 4] };
      offset += e.length * 4;
    }
    const json = new TextEncoder().encode(JSON.stringify(h));
    const file = new Uint8Array(8 + json.length + 64);
    new DataView(file.buffer).setBigUint64(0, BigInt(json.length), true);
    file.set(json, 8);
    expect(loadError(file).message).toMatch(/parameter arena/);
  });

  it('any corruption of the header or data is a SafetensorsError, never another exception (property)', () => {
    const small = bytes.subarray(0, bytes.length);
    const headerLen = Number(new DataView(small.buffer, small.byteOffset).getBigUint64(0, true));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(8 + headerLen + 64), fc.integer({ min: 1, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        (edits) => {
          const file = small.slice();
          for (const [at, xor] of edits) file[at] = file[at]! ^ xor;
          try {
            loadSafetensors(file);
          } catch (e) {
            expect(e).toBeInstanceOf(SafetensorsError);
            expect((e as Error).message.length).toBeLessThanOrEqual(300);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
