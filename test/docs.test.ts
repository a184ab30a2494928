/** `npm run docs`: the README is the landing page, entry points are named by import path, symbols are grouped by category. */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/cli.js';

const out = join(ROOT, '.tmp', 'docs-test');
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('API docs', () => {
  it('builds with the README as landing page, modules named by import path, and categories', () => {
    rmSync(out, { recursive: true, force: true });
    execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--out', out], { cwd: ROOT, stdio: 'pipe', timeout: 120_000 });
    const index = readFileSync(join(out, 'index.html'), 'utf8');
    expect(index).toContain('What NICEPAY gives you, and what to ask for');
    const modules = readdirSync(join(out, 'modules')).map((f) => decodeURIComponent(f));
    for (const name of ['nicepay-nico', 'nicepay-nico_node', 'nicepay-nico_fetch', 'nicepay-nico_fastify', 'nicepay-nico_next', 'nicepay-nico_vectors']) {
      expect(modules.some((f) => f.startsWith(`${name}.html`) || f === `${name}.html`), name).toBe(true);
    }
    const core = readFileSync(join(out, 'modules', 'nicepay-nico.html'), 'utf8');
    for (const category of ['Token', 'Inquiry &amp; payment', 'Crypto', 'Stores', 'Adapters', 'Errors']) expect(core).toContain(`>${category}<`);
    expect(existsSync(join(out, 'functions'))).toBe(true);
  }, 180_000);
});
