/**
 * Where the headless runner may write. An experiment file names its outputs (`out`, a matrix's `outDir`), and an
 * experiment file is something one downloads and runs: it must not be able to write outside the directory the user
 * runs it in (the working directory, or the one named on the command line). `resolveOutputPath` turns a requested
 * path into an absolute one under that base directory, or refuses it with an OutputPathError saying why:
 *
 *   - an absolute path ("/etc/x", "C:\x");
 *   - a path that leaves the base directory through ".." ("../../tmp/x.json", "a/../../x");
 *   - a path that leaves it through a symbolic link already on disk (a link inside the base directory pointing out
 *     of it, as a directory on the way or as the file itself, dangling or not);
 *   - the base directory itself, an empty path, or one with a NUL character.
 *
 * It writes nothing. The only file-system access is reading links (`realpath` and `lstat`, both injectable), so the
 * answer holds for the disk as it is when called: resolve every output before the experiment starts, then write
 * to the returned paths.
 */
import { lstatSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep, win32 } from 'node:path';
import { quoteValue } from '../util/text';

export class OutputPathError extends Error {
  override name = 'OutputPathError';
}

/** The file-system reads resolveOutputPath makes; tests may pass their own. */
export interface PathFs {
  /** Canonical path with every symbolic link resolved; throws when the path does not exist (or a link dangles). */
  realpath(path: string): string;
  /** Whether something (a file, a directory, a link, even a dangling one) is at `path`, and whether it is a link. */
  lstat(path: string): { isSymbolicLink(): boolean } | null;
}

const NODE_FS: PathFs = {
  realpath: (p) => realpathSync.native(p),
  lstat: (p) => lstatSync(p, { throwIfNoEntry: false }) ?? null,
};

/** Whether `path` is `dir` or inside it (both absolute and normalised). */
function isInside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/**
 * `requested` (relative, from an experiment file) as an absolute path under `baseDir` (the working directory, or a
 * directory named on the command line: trusted, may itself be absolute or reached through links). Throws an
 * OutputPathError naming the path when it would write elsewhere (see the file comment).
 */
export function resolveOutputPath(requested: string, baseDir: string, fs: PathFs = NODE_FS): string {
  const shown = quoteValue(requested, 80);
  const refuse = (why: string) =>
    new OutputPathError(`output path ${shown} ${why}; outputs are written under ${quoteValue(baseDir, 80)}`);
  if (typeof requested !== 'string' || requested.trim() === '') throw refuse('is empty');
  if (requested.includes('\0')) throw refuse('contains a NUL character');
  if (isAbsolute(requested) || win32.isAbsolute(requested)) {
    throw refuse('is absolute: name a path relative to the output directory (or choose that directory with --out-dir)');
  }
  const base = resolve(baseDir);
  const target = resolve(base, requested);
  if (!isInside(target, base)) throw refuse('leaves the output directory through ".."');
  if (target === base) throw refuse('is the output directory itself, not a file or folder in it');

  // Links: the deepest part of the path that exists (a dangling link counts) must resolve inside the real base.
  let realBase: string;
  try {
    realBase = fs.realpath(base);
  } catch {
    // The base does not exist yet: nothing under it can be a link.
    return target;
  }
  let existing = target;
  while (existing !== base && fs.lstat(existing) === null) existing = dirname(existing);
  if (existing === base) return target;
  let real: string;
  try {
    real = fs.realpath(existing);
  } catch {
    throw refuse(`goes through a symbolic link that points nowhere (${quoteValue(relative(base, existing), 80)})`);
  }
  if (!isInside(real, realBase)) {
    throw refuse(`leaves the output directory through a symbolic link (${quoteValue(relative(base, existing), 80)})`);
  }
  return target;
}
