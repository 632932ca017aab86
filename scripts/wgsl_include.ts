/**
 * WGSL includes, resolved at build time: a line `#include "lib/reduce.wgsl"` in a shader is replaced by that file's
 * text (the path is relative to the including file). WGSL itself has no `#`, so an include left unresolved fails
 * shader creation loudly instead of compiling without the snippet.
 *
 * Rules: the directive stands alone on its line (leading spaces allowed, nothing after the closing quote but
 * spaces); a file is included at most once per shader (a second include of it is dropped, so snippets may include
 * what they need); a cycle or a missing file is an error that names the chain of files.
 *
 * `resolveWgslIncludes` is the pure step (tests/gpu/wgsl_include.test.ts); `wgslInclude()` is the Vite plugin that
 * applies it to every `*.wgsl?raw` import. It is listed in vite.config.ts (app and worker bundles),
 * vite.node.config.ts (the Node bundle: bench, headless runner) and vitest.config.ts (the tests).
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Plugin } from 'vite';

const INCLUDE_RE = /^[ \t]*#include[ \t]+"([^"]+)"[ \t]*$/;
const DIRECTIVE_RE = /^[ \t]*#include\b/;

export interface ResolvedWgsl {
  /** The shader text with every include replaced by the included file's text. */
  code: string;
  /** Absolute paths of the files included, directly or not, in first-include order. */
  dependencies: string[];
}

/**
 * Expands the `#include "path"` lines of `source` (the text of the file at absolute path `file`); `read` returns a
 * file's text by absolute path and throws when it is missing.
 */
export function resolveWgslIncludes(source: string, file: string, read: (path: string) => string): ResolvedWgsl {
  const included = new Set<string>();
  const expand = (text: string, path: string, chain: string[]): string => {
    const lines = text.split('\n');
    return lines
      .map((line, i) => {
        if (!DIRECTIVE_RE.test(line)) return line;
        const match = INCLUDE_RE.exec(line);
        if (!match) throw new Error(`${path}:${i + 1}: malformed include, expected #include "relative/path.wgsl"`);
        const target = resolve(dirname(path), match[1] as string);
        if (chain.includes(target)) throw new Error(`WGSL include cycle: ${[...chain, target].join(' → ')}`);
        if (included.has(target)) return `// (${match[1]} already included)`;
        let body: string;
        try {
          body = read(target);
        } catch (e) {
          throw new Error(`${path}:${i + 1}: cannot include ${match[1]} (${target}): ${(e as Error).message}`);
        }
        included.add(target);
        return expand(body.replace(/\n$/, ''), target, [...chain, target]);
      })
      .join('\n');
  };
  const code = expand(source, file, [file]);
  return { code, dependencies: [...included] };
}

/** Vite plugin: `import src from './x.wgsl?raw'` yields the shader with its includes resolved. */
export function wgslInclude(): Plugin {
  return {
    name: 'stoptime:wgsl-include',
    enforce: 'pre',
    load(id) {
      const [path, query] = id.split('?', 2);
      if (!path?.endsWith('.wgsl') || query !== 'raw') return null;
      const { code, dependencies } = resolveWgslIncludes(readFileSync(path, 'utf8'), path, (p) =>
        readFileSync(p, 'utf8'),
      );
      for (const dep of dependencies) this.addWatchFile(dep);
      return `export default ${JSON.stringify(code)};`;
    },
  };
}
