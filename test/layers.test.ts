/**
 * The house rules of src/, checked on the source: outside src/cli/ no `node:` import and no
 * `Buffer`; imports point down the layers (cli → adapters → server → protocol → crypto,
 * with errors.ts, response-codes.ts and the vectors' data beside crypto at the bottom); index.ts only re-exports.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** Rank of a source file's layer: higher may import lower, never the reverse. */
function rank(file: string): number {
  const rel = relative(SRC, file).replace(/\\/g, '/');
  if (rel.startsWith('cli/')) return 5;
  if (rel.startsWith('adapters/')) return 4;
  if (rel.startsWith('server/')) return 3;
  if (rel.startsWith('protocol/')) return 2;
  if (rel === 'index.ts') return 6;
  return 1; // crypto/, errors.ts, response-codes.ts, vectors.ts (data)
}

/** The import specifiers of a file (static imports and re-exports), comments stripped. */
function imports(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  return [...code.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+'([^']+)'/gms)].map((m) => m[1] as string);
}

const sources = files(SRC).map((file) => ({ file, rel: relative(SRC, file), text: readFileSync(file, 'utf8') }));

describe('src/ layering', () => {
  it('finds the source files', () => {
    expect(sources.length).toBeGreaterThan(30);
  });
  it.each(sources.filter((s) => !s.rel.startsWith('cli')).map((s) => [s.rel, s] as const))('%s: no node: import, no Buffer', (_rel, s) => {
    expect(imports(s.text).filter((spec) => spec.startsWith('node:'))).toEqual([]);
    const code = s.text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
    expect(code).not.toMatch(/\bBuffer\b/);
  });
  it.each(sources.map((s) => [s.rel, s] as const))('%s: imports point down the layers', (_rel, s) => {
    const own = rank(s.file);
    const upward = imports(s.text)
      .filter((spec) => spec.startsWith('.'))
      .map((spec) => resolve(dirname(s.file), spec.replace(/\.js$/, '.ts')))
      .filter((target) => target.startsWith(SRC) && rank(target) > own && !(own === 6 && rank(target) === 6));
    expect(upward.map((t) => relative(SRC, t))).toEqual([]);
  });
  it('the runtime\'s own crypto is reached in one file only (crypto/native.ts, through process.getBuiltinModule)', () => {
    const users = sources.filter((s) => /getBuiltinModule/.test(s.text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, ''))).map((s) => s.rel.replace(/\\/g, '/'));
    expect(users).toEqual(['crypto/native.ts']);
  });
  it('index.ts only re-exports', () => {
    const index = sources.find((s) => s.rel === 'index.ts')!.text.replace(/\/\*[\s\S]*?\*\//g, '');
    const statements = index.split(';').map((x) => x.trim()).filter(Boolean);
    for (const statement of statements) expect(statement).toMatch(/^export (type )?\{[\s\S]*\} from '\.\/[^']+'$/);
  });
});
