/**
 * A minimal ZIP writer: STORE method (no compression), CRC-32, UTF-8 names, no ZIP64 (each file and the whole
 * archive under 4 GiB, at most 65 535 entries). Layout (APPNOTE.TXT 4.3): per entry a local file header
 * (30 bytes + name) and the data; then one central directory header per entry (46 bytes + name); then the end of
 * central directory record (22 bytes). Timestamps are fixed (1980-01-01 00:00), so the same files give the same
 * bytes.
 */

export interface ZipEntry {
  /** Path inside the archive, '/'-separated, relative (no leading '/', no '..'). */
  name: string;
  data: Uint8Array | string;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE 802.3, reflected, as ZIP and zlib use) of `bytes`. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const DOS_DATE_1980_01_01 = (0 << 9) | (1 << 5) | 1;
const UTF8_FLAG = 1 << 11;
const MAX_U32 = 0xffffffff;

function checkName(name: string): void {
  if (
    name === '' ||
    name.startsWith('/') ||
    name.includes('\\') ||
    name.split('/').some((p) => p === '..' || p === '')
  ) {
    throw new Error(`zip: bad entry name ${JSON.stringify(name)} (relative '/'-separated path expected)`);
  }
}

/** The archive holding `entries` in order. Throws on a bad or repeated name, or sizes beyond the 32-bit format. */
export function zipStore(entries: readonly ZipEntry[]): Uint8Array {
  if (entries.length > 0xffff) throw new Error(`zip: ${entries.length} entries, at most 65535 without ZIP64`);
  const enc = new TextEncoder();
  const seen = new Set<string>();
  const files = entries.map((e) => {
    checkName(e.name);
    if (seen.has(e.name)) throw new Error(`zip: entry ${JSON.stringify(e.name)} appears twice`);
    seen.add(e.name);
    const data = typeof e.data === 'string' ? enc.encode(e.data) : e.data;
    return { name: enc.encode(e.name), data, crc: crc32(data), offset: 0 };
  });
  let size = 22;
  for (const f of files) size += 30 + f.name.length + f.data.length + 46 + f.name.length;
  if (size > MAX_U32) throw new Error(`zip: archive of ${size} bytes needs ZIP64`);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  const u16 = (v: number) => {
    view.setUint16(at, v, true);
    at += 2;
  };
  const u32 = (v: number) => {
    view.setUint32(at, v >>> 0, true);
    at += 4;
  };
  const bytes = (b: Uint8Array) => {
    out.set(b, at);
    at += b.length;
  };
  for (const f of files) {
    f.offset = at;
    u32(0x04034b50); // local file header
    u16(20); // version needed: 2.0
    u16(UTF8_FLAG);
    u16(0); // method: STORE
    u16(0); // time
    u16(DOS_DATE_1980_01_01);
    u32(f.crc);
    u32(f.data.length); // compressed size
    u32(f.data.length); // uncompressed size
    u16(f.name.length);
    u16(0); // extra field length
    bytes(f.name);
    bytes(f.data);
  }
  const directoryStart = at;
  for (const f of files) {
    u32(0x02014b50); // central directory header
    u16(20); // version made by: 2.0, MS-DOS attributes
    u16(20);
    u16(UTF8_FLAG);
    u16(0);
    u16(0);
    u16(DOS_DATE_1980_01_01);
    u32(f.crc);
    u32(f.data.length);
    u32(f.data.length);
    u16(f.name.length);
    u16(0); // extra
    u16(0); // comment
    u16(0); // disk number start
    u16(0); // internal attributes
    u32(0); // external attributes
    u32(f.offset);
    bytes(f.name);
  }
  const directorySize = at - directoryStart;
  u32(0x06054b50); // end of central directory
  u16(0);
  u16(0);
  u16(files.length);
  u16(files.length);
  u32(directorySize);
  u32(directoryStart);
  u16(0); // comment length
  return out;
}
