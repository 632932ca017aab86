/** Edits of safetensors files for tests: read the JSON header, or rewrite it keeping the data bytes. */

export type SafetensorsHeader = Record<string, unknown>;

function headerLength(bytes: Uint8Array): number {
  return Number(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true));
}

export function readHeader(bytes: Uint8Array): SafetensorsHeader {
  const n = headerLength(bytes);
  return JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
}

/** The file with its header replaced by `edit` of it (the data bytes unchanged, after the new header). */
export function withHeader(bytes: Uint8Array, edit: (h: SafetensorsHeader) => void): Uint8Array {
  const n = headerLength(bytes);
  const h = readHeader(bytes);
  edit(h);
  const json = new TextEncoder().encode(JSON.stringify(h));
  const out = new Uint8Array(8 + json.length + bytes.length - 8 - n);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(bytes.subarray(8 + n), 8 + json.length);
  return out;
}

/** The file with tensor `name`'s data_offsets moved by `shiftBytes` and `extraBytes` zero bytes appended. */
export function withShiftedTensor(bytes: Uint8Array, name: string, shiftBytes: number, extraBytes = 0): Uint8Array {
  const moved = withHeader(bytes, (h) => {
    const info = h[name] as { data_offsets: number[] };
    info.data_offsets = info.data_offsets.map((o) => o + shiftBytes);
  });
  const out = new Uint8Array(moved.length + extraBytes);
  out.set(moved);
  return out;
}
