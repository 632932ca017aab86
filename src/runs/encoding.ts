/**
 * Byte encodings for run files (src/runs/run_file.ts): standard base64 (RFC 4648 §4, padded) and SHA-256
 * (FIPS 180-4). Pure TypeScript, so they run the same in the page, in a worker and in Node, and linear in the input:
 * a checkpoint of tens of MB is encoded into one preallocated byte array (no string concatenation) and decoded with
 * one pass over the string.
 *
 * Decoding is strict because the input is untrusted: only the 64 alphabet characters, length a multiple of 4, `=`
 * only as the last one or two characters, and zero unused bits in the last group (so every byte string has exactly
 * one accepted encoding). Errors name the offending position.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const ENCODE = new Uint8Array(64);
/** Char code → 6-bit value, 255 = not in the alphabet. */
const DECODE = new Uint8Array(256).fill(255);
for (let i = 0; i < 64; i++) {
  ENCODE[i] = ALPHABET.charCodeAt(i);
  DECODE[ALPHABET.charCodeAt(i)] = i;
}
const PAD = 61; // '='

export class Base64Error extends Error {
  override name = 'Base64Error';
}

export function bytesToBase64(bytes: Uint8Array): string {
  const n = bytes.length;
  const out = new Uint8Array(Math.ceil(n / 3) * 4);
  const full = n - (n % 3);
  let o = 0;
  for (let i = 0; i < full; i += 3) {
    const w = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out[o] = ENCODE[w >>> 18]!;
    out[o + 1] = ENCODE[(w >>> 12) & 63]!;
    out[o + 2] = ENCODE[(w >>> 6) & 63]!;
    out[o + 3] = ENCODE[w & 63]!;
    o += 4;
  }
  if (n - full === 1) {
    const w = bytes[full]! << 16;
    out[o] = ENCODE[w >>> 18]!;
    out[o + 1] = ENCODE[(w >>> 12) & 63]!;
    out[o + 2] = PAD;
    out[o + 3] = PAD;
  } else if (n - full === 2) {
    const w = (bytes[full]! << 16) | (bytes[full + 1]! << 8);
    out[o] = ENCODE[w >>> 18]!;
    out[o + 1] = ENCODE[(w >>> 12) & 63]!;
    out[o + 2] = ENCODE[(w >>> 6) & 63]!;
    out[o + 3] = PAD;
  }
  // The output is ASCII, so one UTF-8 decode turns it into a string in a single allocation.
  return new TextDecoder().decode(out);
}

function invalidChar(s: string, i: number): Base64Error {
  const c = s.charCodeAt(i);
  const shown = c > 0x20 && c < 0x7f ? `'${s[i]}'` : `U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
  return new Base64Error(`invalid base64 character ${shown} at position ${i}`);
}

/** Strict base64 decoding (see the file comment); throws a Base64Error naming the position of the problem. */
export function base64ToBytes(s: string): Uint8Array {
  if (s.length % 4 !== 0) throw new Base64Error(`base64 length ${s.length} is not a multiple of 4 (truncated?)`);
  if (s.length === 0) return new Uint8Array(0);
  const pad = s.charCodeAt(s.length - 1) !== PAD ? 0 : s.charCodeAt(s.length - 2) === PAD ? 2 : 1;
  const out = new Uint8Array((s.length / 4) * 3 - pad);
  const lastGroup = s.length - 4;
  let o = 0;
  for (let i = 0; i < lastGroup; i += 4) {
    const c0 = s.charCodeAt(i);
    const c1 = s.charCodeAt(i + 1);
    const c2 = s.charCodeAt(i + 2);
    const c3 = s.charCodeAt(i + 3);
    // Characters outside the table (code ≥ 256) map to 255 like every other non-alphabet character.
    const a = c0 < 256 ? DECODE[c0]! : 255;
    const b = c1 < 256 ? DECODE[c1]! : 255;
    const c = c2 < 256 ? DECODE[c2]! : 255;
    const d = c3 < 256 ? DECODE[c3]! : 255;
    if ((a | b | c | d) > 63) {
      for (let k = 0; k < 4; k++) {
        const code = s.charCodeAt(i + k);
        if (code >= 256 || DECODE[code] === 255) throw invalidChar(s, i + k);
      }
    }
    const w = (a << 18) | (b << 12) | (c << 6) | d;
    out[o] = w >>> 16;
    out[o + 1] = (w >>> 8) & 255;
    out[o + 2] = w & 255;
    o += 3;
  }
  // Last group: 4 - pad data characters, then the padding.
  const values = [0, 0, 0, 0];
  for (let k = 0; k < 4 - pad; k++) {
    const code = s.charCodeAt(lastGroup + k);
    const v = code < 256 ? DECODE[code]! : 255;
    if (v > 63) throw invalidChar(s, lastGroup + k);
    values[k] = v;
  }
  const w = (values[0]! << 18) | (values[1]! << 12) | (values[2]! << 6) | values[3]!;
  const unusedBits = pad === 2 ? w & 0xffff : pad === 1 ? w & 0xff : 0;
  if (unusedBits !== 0)
    throw new Base64Error(`non-canonical base64: unused bits of the last group (position ${lastGroup}) are not zero`);
  out[o] = w >>> 16;
  if (pad < 2) out[o + 1] = (w >>> 8) & 255;
  if (pad < 1) out[o + 2] = w & 255;
  return out;
}

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);

/** SHA-256 of `bytes` as 64 lowercase hex digits (synchronous, unlike crypto.subtle.digest). */
export function sha256Hex(bytes: Uint8Array): string {
  const h = new Uint32Array([
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
  ]);
  const w = new Uint32Array(64);
  const n = bytes.length;
  // Padding: 0x80, zeros, then the bit length as a 64-bit big-endian integer; the tail holds the last 1–2 blocks.
  const fullBlocks = Math.floor(n / 64);
  const tailLen = n - fullBlocks * 64 < 56 ? 64 : 128;
  const tail = new Uint8Array(tailLen);
  tail.set(bytes.subarray(fullBlocks * 64));
  tail[n - fullBlocks * 64] = 0x80;
  const tv = new DataView(tail.buffer);
  tv.setUint32(tailLen - 8, Math.floor(n / 2 ** 29), false);
  tv.setUint32(tailLen - 4, (n * 8) >>> 0, false);

  const block = (src: Uint8Array, at: number) => {
    for (let t = 0; t < 16; t++) {
      const j = at + t * 4;
      w[t] = (src[j]! << 24) | (src[j + 1]! << 16) | (src[j + 2]! << 8) | src[j + 3]!;
    }
    for (let t = 16; t < 64; t++) {
      const x = w[t - 15]!;
      const y = w[t - 2]!;
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[t] = (w[t - 16]! + s0 + w[t - 7]! + s1) | 0;
    }
    let a = h[0]!;
    let b = h[1]!;
    let c = h[2]!;
    let d = h[3]!;
    let e = h[4]!;
    let f = h[5]!;
    let g = h[6]!;
    let hh = h[7]!;
    for (let t = 0; t < 64; t++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const ch = (e & f) ^ (~e & g);
      const t1 = (hh + S1 + ch + K[t]! + w[t]!) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = (S0 + maj) | 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h[0] = h[0]! + a;
    h[1] = h[1]! + b;
    h[2] = h[2]! + c;
    h[3] = h[3]! + d;
    h[4] = h[4]! + e;
    h[5] = h[5]! + f;
    h[6] = h[6]! + g;
    h[7] = h[7]! + hh;
  };
  for (let i = 0; i < fullBlocks; i++) block(bytes, i * 64);
  for (let at = 0; at < tailLen; at += 64) block(tail, at);
  let hex = '';
  for (const x of h) hex += x.toString(16).padStart(8, '0');
  return hex;
}
