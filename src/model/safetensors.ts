/**
 * Weights in the safetensors format (https://huggingface.co/docs/safetensors): an 8-byte little-endian header length,
 * a JSON header { name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__": { ... } }, then the raw
 * little-endian tensor bytes. Tensors are written in the layout order of src/model/params.ts, F32, names as a PyTorch
 * nanoGPT-style GPT (untied `lm_head.weight`). `__metadata__.stoptime_model_config` holds the ModelConfig as JSON.
 *
 * Loading treats the file as untrusted: every length, offset, dtype, shape and name is checked before a byte is
 * copied, the tensors must tile the data section exactly (sorted by offset: contiguous, no overlap, 4-byte aligned,
 * nothing after the last), the metadata must hold a valid config (the expected one, when the caller knows it), and a
 * bad file gets a short error that says what is wrong.
 */
import { MAX_MESSAGE_CHARS, quoteValue, truncate } from '../util/text';
import { type ModelConfig, modelConfigIssues } from './config';
import { buildParamLayout, type ParamEntry, type ParamLayout, view } from './params';

const CONFIG_KEY = 'stoptime_model_config';
/** Header size cap: a model's header is a few KiB; anything larger is not ours. */
const MAX_HEADER_BYTES = 1 << 20;

/** Every failure of the loader; the message names the tensor or field first and is at most MAX_MESSAGE_CHARS long. */
export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
  constructor(message: string) {
    super(truncate(message, MAX_MESSAGE_CHARS));
  }
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

const MODEL_FIELDS = ['vocabSize', 'contextLength', 'dModel', 'nLayers', 'nHeads', 'mlpRatio', 'seed'] as const;

/** The valid model config of `__metadata__.stoptime_model_config`, or a SafetensorsError saying why there is none. */
function metadataConfig(h: Record<string, unknown>): ModelConfig {
  const meta = Object.hasOwn(h, '__metadata__') ? h.__metadata__ : undefined;
  const raw =
    typeof meta === 'object' && meta !== null && Object.hasOwn(meta, CONFIG_KEY)
      ? (meta as Record<string, unknown>)[CONFIG_KEY]
      : undefined;
  if (typeof raw !== 'string')
    throw new SafetensorsError(`__metadata__.${CONFIG_KEY} is missing: not a Stoptime model file`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new SafetensorsError(`__metadata__.${CONFIG_KEY} is not valid JSON: ${quoteValue(raw)}`);
  }
  const issues = modelConfigIssues(parsed);
  if (issues.length > 0)
    throw new SafetensorsError(
      `model config in the file is invalid: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
    );
  return parsed as ModelConfig;
}

/** One tensor's byte range in the data section, checked on its own (dtype, shape, length, alignment). */
interface Span {
  name: string;
  begin: number;
  end: number;
}

function tensorSpan(e: ParamEntry, info: unknown, dataLen: number): Span {
  if (typeof info !== 'object' || info === null || Array.isArray(info))
    throw new SafetensorsError(`${e.name}: entry must be an object`);
  const { dtype, shape, data_offsets: offs } = info as Record<string, unknown>;
  if (dtype !== 'F32') throw new SafetensorsError(`${e.name}: dtype ${quoteValue(dtype)}, only F32 is supported`);
  if (!Array.isArray(shape) || shape.length !== e.shape.length || shape.some((d, i) => d !== e.shape[i])) {
    throw new SafetensorsError(`${e.name}: shape ${quoteValue(shape)}, expected [${e.shape.join(', ')}]`);
  }
  if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    throw new SafetensorsError(`${e.name}: data_offsets ${quoteValue(offs)} must be two non-negative integers`);
  }
  const [begin, end] = offs as [number, number];
  if (end - begin !== e.length * 4) {
    throw new SafetensorsError(
      `${e.name}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes, ${e.length} f32 values need ${e.length * 4}`,
    );
  }
  if (begin % 4 !== 0) throw new SafetensorsError(`${e.name}: data_offsets [${begin}, ${end}] are not 4-byte aligned`);
  if (end > dataLen) {
    throw new SafetensorsError(
      `${e.name}: data_offsets [${begin}, ${end}] reach past the ${dataLen} data bytes of the file (truncated?)`,
    );
  }
  return { name: e.name, begin, end };
}

/**
 * The tensors as a whole: sorted by offset they must tile the data section exactly, from byte 0 to its end, with no
 * overlap, no gap and nothing after the last one (the format's rule; a gap or a shared range would let two files
 * with the same weights differ, or one tensor read another's bytes).
 */
function checkTiling(spans: Span[], dataLen: number): void {
  const sorted = [...spans].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let previous: Span | null = null;
  for (const s of sorted) {
    if (previous !== null && s.begin < cursor) {
      throw new SafetensorsError(
        `${s.name}: data_offsets [${s.begin}, ${s.end}] overlap ${previous.name} [${previous.begin}, ${previous.end}]`,
      );
    }
    if (s.begin > cursor) throw new SafetensorsError(`bytes [${cursor}, ${s.begin}) of the data belong to no tensor`);
    cursor = s.end;
    previous = s;
  }
  if (cursor < dataLen)
    throw new SafetensorsError(`${dataLen - cursor} bytes after the last tensor (the data must end with it)`);
}

/** "seed 8, expected 7; dModel 128, expected 64" for the fields where `found` differs from `expected`. */
function configDifferences(found: ModelConfig, expected: ModelConfig): string {
  return MODEL_FIELDS.filter((k) => found[k] !== expected[k])
    .map((k) => `${k} ${found[k]}, expected ${expected[k]}`)
    .join('; ');
}

/**
 * Parses a safetensors file written for a Stoptime GPT. The config comes from the file's metadata; when
 * `expectConfig` is given the metadata must name that very model. Every failure is a SafetensorsError (at most
 * MAX_MESSAGE_CHARS long), thrown before the weights are allocated unless it is a non-finite value.
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

  const config = metadataConfig(h);
  if (expectConfig) {
    const differences = configDifferences(config, expectConfig);
    if (differences !== '')
      throw new SafetensorsError(`__metadata__.${CONFIG_KEY}: ${differences} (the weights of another model)`);
  }
  const layout = buildParamLayout(config);
  const names = new Set(Object.keys(h).filter((k) => k !== '__metadata__'));
  for (const e of layout.entries) {
    if (!names.has(e.name)) throw new SafetensorsError(`tensor ${e.name} is missing`);
  }
  for (const name of names) {
    if (!layout.byName.has(name)) throw new SafetensorsError(`unexpected tensor ${quoteValue(name)}`);
  }
  checkTiling(
    layout.entries.map((e) => tensorSpan(e, h[e.name], dataLen)),
    dataLen,
  );
  const params = new Float32Array(layout.totalElements);
  for (const e of layout.entries) {
    const begin = (h[e.name] as { data_offsets: [number, number] }).data_offsets[0];
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
