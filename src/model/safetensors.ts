/**
 * Weights in the safetensors format (https://huggingface.co/docs/safetensors): an 8-byte little-endian header length,
 * a JSON header { name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__": { ... } }, then the raw
 * little-endian tensor bytes. Tensors are written in the layout order of src/model/params.ts, F32, names as a PyTorch
 * nanoGPT-style GPT (untied `lm_head.weight`). `__metadata__.stoptime_model_config` holds the ModelConfig as JSON.
 *
 * Loading treats the file as untrusted: every length, offset, dtype, shape and name is checked before a byte is
 * copied, and a bad file gets an error that says what is wrong.
 */
import { type ModelConfig, modelConfigIssues } from './config';
import { buildParamLayout, type ParamLayout, view } from './params';

const CONFIG_KEY = 'stoptime_model_config';
/** Header size cap: a model's header is a few KiB; anything larger is not ours. */
const MAX_HEADER_BYTES = 1 << 20;

export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

export function saveSafetensors(config: ModelConfig, layout: ParamLayout, params: Float32Array): Uint8Array {
  if (params.length < layout.totalElements)
    throw new Error(`params has ${params.length} elements, layout needs ${layout.totalElements}`);
  const header: Record<string, unknown> = { __metadata__: { [CONFIG_KEY]: JSON.stringify(config), format: 'pt' } };
  let offset = 0;
  for (const e of layout.entries) {
    header[e.name] = { dtype: 'F32', shape: e.shape, data_offsets: [offset, offset + e.length * 4] };
    offset += e.length * 4;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned (the format allows trailing spaces).
  while ((8 + json.length) % 8 !== 0) json += ' ';
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let cursor = 8 + headerBytes.length;
  for (const e of layout.entries) {
    const src = view(params, e);
    const bytes = new Uint8Array(src.buffer, src.byteOffset, src.byteLength);
    if (isLittleEndian()) out.set(bytes, cursor);
    else for (let i = 0; i < src.length; i++) dv.setFloat32(cursor + i * 4, src[i]!, true);
    cursor += e.length * 4;
  }
  return out;
}

export interface LoadedWeights {
  config: ModelConfig;
  layout: ParamLayout;
  params: Float32Array;
}

/**
 * Parses a safetensors file written for a Stoptime GPT. The config comes from the file's metadata unless
 * `expectConfig` is given, in which case the file must match it.
 */
export function loadSafetensors(bytes: Uint8Array, expectConfig?: ModelConfig): LoadedWeights {
  if (bytes.length < 8)
    throw new SafetensorsError(`file is ${bytes.length} bytes; a safetensors file starts with an 8-byte header length`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = dv.getBigUint64(0, true);
  if (headerLen > BigInt(Math.min(MAX_HEADER_BYTES, bytes.length - 8))) {
    throw new SafetensorsError(
      `header length ${headerLen} exceeds the file (${bytes.length} bytes) or the ${MAX_HEADER_BYTES}-byte cap`,
    );
  }
  const n = Number(headerLen);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (err) {
    throw new SafetensorsError(`header is not valid UTF-8 JSON: ${(err as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    throw new SafetensorsError('header must be a JSON object');
  const h = header as Record<string, unknown>;
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;

  let config: ModelConfig;
  if (expectConfig) config = expectConfig;
  else {
    const meta = h.__metadata__;
    const raw = typeof meta === 'object' && meta !== null ? (meta as Record<string, unknown>)[CONFIG_KEY] : undefined;
    if (typeof raw !== 'string')
      throw new SafetensorsError(`__metadata__.${CONFIG_KEY} is missing: not a Stoptime model file (pass its config)`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw new SafetensorsError(`__metadata__.${CONFIG_KEY} is not valid JSON`);
    }
    const issues = modelConfigIssues(parsed);
    if (issues.length > 0)
      throw new SafetensorsError(
        `model config in the file is invalid: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
      );
    config = parsed as ModelConfig;
  }
  const layout = buildParamLayout(config);
  const names = new Set(Object.keys(h).filter((k) => k !== '__metadata__'));
  for (const e of layout.entries) {
    if (!names.has(e.name)) throw new SafetensorsError(`tensor ${e.name} is missing`);
  }
  for (const name of names) {
    if (!layout.byName.has(name)) throw new SafetensorsError(`unexpected tensor ${JSON.stringify(name.slice(0, 100))}`);
  }
  const params = new Float32Array(layout.totalElements);
  for (const e of layout.entries) {
    const info = h[e.name] as Record<string, unknown> | null;
    if (typeof info !== 'object' || info === null) throw new SafetensorsError(`${e.name}: entry must be an object`);
    if (info.dtype !== 'F32')
      throw new SafetensorsError(`${e.name}: dtype ${JSON.stringify(info.dtype)}, only F32 is supported`);
    const shape = info.shape;
    if (!Array.isArray(shape) || shape.length !== e.shape.length || shape.some((d, i) => d !== e.shape[i])) {
      throw new SafetensorsError(`${e.name}: shape ${JSON.stringify(shape)}, expected [${e.shape.join(', ')}]`);
    }
    const offs = info.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      throw new SafetensorsError(`${e.name}: data_offsets must be two non-negative integers`);
    }
    const [begin, end] = offs as [number, number];
    if (end - begin !== e.length * 4 || end > dataLen || begin % 4 !== 0) {
      throw new SafetensorsError(
        `${e.name}: data_offsets [${begin}, ${end}] do not hold ${e.length} f32 values inside ${dataLen} data bytes`,
      );
    }
    const dst = view(params, e);
    for (let i = 0; i < e.length; i++) {
      const v = dv.getFloat32(dataStart + begin + i * 4, true);
      if (!Number.isFinite(v)) throw new SafetensorsError(`${e.name}[${i}] is ${v}; weights must be finite`);
      dst[i] = v;
    }
  }
  return { config, layout, params };
}

function isLittleEndian(): boolean {
  return new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
}
