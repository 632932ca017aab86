import { describe, expect, it } from 'vitest';
import { MODEL_PRESETS } from '../../src/model/config';
import { buildParamLayout, initParams } from '../../src/model/params';
import { loadSafetensors, SafetensorsError, saveSafetensors } from '../../src/model/safetensors';

const config = { ...MODEL_PRESETS.tiny, nLayers: 1, seed: 7 };
const layout = buildParamLayout(config);
const params = initParams(config, layout);

function header(bytes: Uint8Array): Record<string, { shape: number[]; data_offsets: number[]; dtype: string }> {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
}

function withHeader(bytes: Uint8Array, edit: (h: Record<string, unknown>) => void): Uint8Array {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const h = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  edit(h);
  const json = new TextEncoder().encode(JSON.stringify(h));
  const out = new Uint8Array(8 + json.length + bytes.length - 8 - n);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(bytes.subarray(8 + n), 8 + json.length);
  return out;
}

describe('safetensors', () => {
  it('round-trips the weights and the config exactly', () => {
    const bytes = saveSafetensors(config, layout, params);
    const loaded = loadSafetensors(bytes);
    expect(loaded.config).toEqual(config);
    expect(loaded.params).toEqual(params);
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
