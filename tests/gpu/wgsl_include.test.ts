/**
 * The build-time WGSL include step (scripts/wgsl_include.ts): the pure resolver on made-up files, then the real
 * shaders as the test pipeline (vitest.config.ts) loads them. No GPU needed; the kernels' tests compile the result.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveWgslIncludes } from '../../scripts/wgsl_include';

const files: Record<string, string> = {
  '/s/main.wgsl': 'const WG: u32 = 64u;\n#include "lib/a.wgsl"\n  #include "lib/b.wgsl"  \nfn main() {}\n',
  '/s/lib/a.wgsl': 'fn a() {}\n',
  '/s/lib/b.wgsl': '#include "a.wgsl"\nfn b() { a(); }\n',
  '/s/cycle.wgsl': '#include "lib/loop.wgsl"\n',
  '/s/lib/loop.wgsl': '#include "../cycle.wgsl"\n',
};
const read = (path: string): string => {
  const text = files[path];
  if (text === undefined) throw new Error('no such file');
  return text;
};
const resolveFile = (path: string) => resolveWgslIncludes(read(path), path, read);

describe('resolveWgslIncludes', () => {
  it('replaces each include line by the file, relative to the including file, once per shader', () => {
    const { code, dependencies } = resolveFile('/s/main.wgsl');
    expect(code).toBe('const WG: u32 = 64u;\nfn a() {}\n// (a.wgsl already included)\nfn b() { a(); }\nfn main() {}\n');
    expect(dependencies).toEqual(['/s/lib/a.wgsl', '/s/lib/b.wgsl']);
  });

  it('leaves a shader without includes as it is', () => {
    expect(resolveWgslIncludes('fn f() {}\n// #include in a comment\n', '/s/x.wgsl', read).code).toBe(
      'fn f() {}\n// #include in a comment\n',
    );
  });

  it('refuses a cycle, a missing file and a malformed directive, naming the place', () => {
    expect(() => resolveFile('/s/cycle.wgsl')).toThrow(
      /include cycle: \/s\/cycle\.wgsl → \/s\/lib\/loop\.wgsl → \/s\/cycle\.wgsl/,
    );
    expect(() => resolveWgslIncludes('\n#include "nope.wgsl"\n', '/s/x.wgsl', read)).toThrow(
      /\/s\/x\.wgsl:2: cannot include nope\.wgsl/,
    );
    expect(() => resolveWgslIncludes('#include lib/a.wgsl\n', '/s/x.wgsl', read)).toThrow(/x\.wgsl:1: malformed/);
    expect(() => resolveWgslIncludes('#include "lib/a.wgsl" // why\n', '/s/x.wgsl', read)).toThrow(/malformed/);
  });
});

describe('the shaders', () => {
  const dir = resolve(__dirname, '../../shaders');
  const readReal = (p: string) => readFileSync(p, 'utf8');
  const shaders = readdirSync(dir).filter((f) => f.endsWith('.wgsl'));
  // What the kernels import, through the test pipeline's plugin (vitest.config.ts), as vite.config.ts and
  // vite.node.config.ts do for the app, the worker and the Node bundle.
  const imported = import.meta.glob<string>('../../shaders/*.wgsl', { query: '?raw', import: 'default', eager: true });

  it('the reductions are written once, in lib/: no shader defines its own', () => {
    const copies: string[] = [];
    for (const name of shaders) {
      const raw = readReal(join(dir, name));
      for (const m of raw.matchAll(/^fn (reduce(?:Max|Sum)\w*)\(/gm)) copies.push(`${name}: ${m[1]}`);
    }
    expect(copies).toEqual([]);
    expect(readReal(join(dir, 'crossentropy_forward_backward.wgsl'))).toMatch(/^#include "lib\/reduce\.wgsl"$/m);
  });

  it('every `?raw` import arrives with its includes resolved, exactly as the resolver writes it', () => {
    expect(Object.keys(imported).sort()).toEqual(shaders.map((f) => `../../shaders/${f}`).sort());
    for (const name of shaders) {
      const path = join(dir, name);
      const source = imported[`../../shaders/${name}`];
      expect(source, name).toBe(resolveWgslIncludes(readReal(path), path, readReal).code);
      expect(source, name).not.toMatch(/^\s*#/m);
    }
    const crossEntropy = imported['../../shaders/crossentropy_forward_backward.wgsl'];
    expect(crossEntropy?.match(/^fn reduceSum\(/gm)).toHaveLength(1);
  });
});
