import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutputPathError, resolveOutputPath } from '../../src/headless/paths';

/** The OutputPathError of resolving `requested` under `base`, failing the test when it resolves. */
function refusal(requested: string, base: string): string {
  try {
    resolveOutputPath(requested, base);
  } catch (e) {
    expect(e).toBeInstanceOf(OutputPathError);
    const message = (e as Error).message;
    expect(message.length).toBeLessThanOrEqual(300);
    return message;
  }
  throw new Error(`resolveOutputPath accepted ${requested}`);
}

describe('experiment outputs stay under the output directory', () => {
  // A real directory tree: base/ (the working directory), outside/ beside it, and links from one to the other.
  let root: string;
  let base: string;
  let outside: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'stoptime-paths-'));
    base = join(root, 'base');
    outside = join(root, 'outside');
    mkdirSync(join(base, 'experiments', 'out'), { recursive: true });
    mkdirSync(outside);
    writeFileSync(join(outside, 'victim.json'), '{}');
    symlinkSync(outside, join(base, 'escape'));
    symlinkSync(join(outside, 'victim.json'), join(base, 'experiments', 'out', 'link.json'));
    symlinkSync(join(root, 'nowhere'), join(base, 'dangling.json'));
    symlinkSync(join(base, 'experiments'), join(base, 'inner'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('a relative path inside is resolved under the base, whether it exists yet or not', () => {
    expect(resolveOutputPath('experiments/out/a.stoptime.json', base)).toBe(
      join(base, 'experiments', 'out', 'a.stoptime.json'),
    );
    expect(resolveOutputPath('./new/dir/matrix', base)).toBe(join(base, 'new', 'dir', 'matrix'));
    expect(resolveOutputPath('experiments/../x.json', base)).toBe(join(base, 'x.json'));
    // Out and back in again ends inside.
    expect(resolveOutputPath('../base/x.json', base)).toBe(join(base, 'x.json'));
    // A link that stays inside is fine.
    expect(resolveOutputPath('inner/out/b.json', base)).toBe(join(base, 'inner', 'out', 'b.json'));
    // A base directory that does not exist yet has no links under it.
    expect(resolveOutputPath('a/b.json', join(root, 'not-yet'))).toBe(join(root, 'not-yet', 'a', 'b.json'));
  });

  it('absolute paths are refused', () => {
    expect(refusal('/tmp/x.json', base)).toMatch(/^output path "\/tmp\/x\.json" is absolute/);
    expect(refusal(join(base, 'experiments', 'x.json'), base)).toMatch(/is absolute/);
    expect(refusal('C:\\Users\\x.json', base)).toMatch(/is absolute/);
  });

  it('".." that leaves the directory is refused, however it is spelled', () => {
    for (const p of [
      '../../../../tmp/x.json',
      '..',
      'experiments/../../x.json',
      'a/b/../../../x',
      '../outside/x.json',
    ]) {
      const message = refusal(p, base);
      expect(message).toMatch(/leaves the output directory through "\.\."/);
      expect(message).toContain(`outputs are written under "${base}"`.slice(0, 60));
    }
  });

  it('symbolic links that lead out are refused: a directory on the way, the file itself, a dangling link', () => {
    expect(refusal('escape/x.json', base)).toMatch(/leaves the output directory through a symbolic link \("escape"\)/);
    expect(refusal('escape/victim.json', base)).toMatch(/through a symbolic link \("escape\/victim\.json"\)/);
    expect(refusal('experiments/out/link.json', base)).toMatch(/through a symbolic link/);
    expect(refusal('dangling.json', base)).toMatch(/a symbolic link that points nowhere \("dangling\.json"\)/);
  });

  it('empty paths, the directory itself, NUL characters and huge paths are refused with short messages', () => {
    expect(refusal('', base)).toMatch(/is empty/);
    expect(refusal('.', base)).toMatch(/is the output directory itself/);
    expect(refusal('experiments/..', base)).toMatch(/is the output directory itself/);
    expect(refusal('a\0b.json', base)).toMatch(/NUL/);
    expect(refusal(`${'../'.repeat(10_000)}x`, base)).toMatch(/^output path "\.\.\/\.\.\/.*…" leaves/);
  });
});
