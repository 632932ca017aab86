import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Base64Error, base64ToBytes, bytesToBase64, sha256Hex } from '../../src/runs/encoding';
import { createRng } from '../../src/util/rng';

function randomBytes(n: number, seed: number): Uint8Array {
  const rng = createRng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.int(256);
  return out;
}

describe('base64', () => {
  it("matches Node's encoder and round-trips every tail length", () => {
    for (let n = 0; n < 200; n++) {
      const bytes = randomBytes(n, n);
      const encoded = bytesToBase64(bytes);
      expect(encoded).toBe(Buffer.from(bytes).toString('base64'));
      expect(base64ToBytes(encoded)).toEqual(bytes);
    }
  });

  it('handles tens of MB in linear time', () => {
    // 24 MB ≈ two 'medium' checkpoints. A quadratic string build would take minutes; linear code takes well under a
    // second here, so 10 s only catches the quadratic case.
    const bytes = randomBytes(24 * 2 ** 20, 99);
    const t0 = performance.now();
    const encoded = bytesToBase64(bytes);
    const decoded = base64ToBytes(encoded);
    const elapsedMs = performance.now() - t0;
    expect(encoded.length).toBe(32 * 2 ** 20);
    expect(Buffer.from(decoded).equals(Buffer.from(bytes))).toBe(true);
    expect(encoded.slice(-64)).toBe(Buffer.from(bytes.subarray(bytes.length - 48)).toString('base64'));
    expect(elapsedMs).toBeLessThan(10_000);
  });

  it('rejects anything but canonical padded base64, naming the position', () => {
    const good = bytesToBase64(randomBytes(30, 1)); // 40 characters, no padding
    expect(() => base64ToBytes(`${good.slice(0, 13)}!${good.slice(14)}`)).toThrow(
      /invalid base64 character '!' at position 13/,
    );
    expect(() => base64ToBytes(`${good.slice(0, 5)}é${good.slice(6)}`)).toThrow(/U\+00E9 at position 5/);
    expect(() => base64ToBytes(`${good.slice(0, 7)}€${good.slice(8)}`)).toThrow(/U\+20AC at position 7/);
    expect(() => base64ToBytes(`${good.slice(0, 8)} ${good.slice(9)}`)).toThrow(/U\+0020 at position 8/);
    expect(() => base64ToBytes(good.slice(0, 39))).toThrow(/not a multiple of 4/);
    // '=' only at the end: inside the data, or three of them, is an invalid character.
    expect(() => base64ToBytes(`AB==${good}`)).toThrow(/'=' at position 2/);
    expect(() => base64ToBytes('A===')).toThrow(/'=' at position 1/);
    expect(() => base64ToBytes('====')).toThrow(/'=' at position 0/);
    // "QR==": 'R' leaves the bits 0001 unused; only "QQ==" encodes the byte 0x41.
    expect(() => base64ToBytes('QR==')).toThrow(/non-canonical/);
    expect(() => base64ToBytes('QUJ=')).toThrow(/non-canonical/);
    expect(base64ToBytes('QQ==')).toEqual(new Uint8Array([0x41]));
    expect(base64ToBytes('QUI=')).toEqual(new Uint8Array([0x41, 0x42]));
    expect(() => base64ToBytes('-_AA')).toThrow(Base64Error); // base64url alphabet is not accepted
  });
});

describe('sha256', () => {
  it('gives the FIPS 180-4 test vectors', () => {
    const utf8 = (s: string) => new TextEncoder().encode(s);
    expect(sha256Hex(utf8('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex(utf8(''))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex(utf8('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
  });

  it("matches Node's hash at every padding boundary and on a large input", () => {
    for (const n of [1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 3 * 2 ** 20 + 7]) {
      const bytes = randomBytes(n, n + 7);
      expect(sha256Hex(bytes), `length ${n}`).toBe(createHash('sha256').update(bytes).digest('hex'));
    }
  });
});
