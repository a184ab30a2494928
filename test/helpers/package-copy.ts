/**
 * A built copy of the package, as a merchant's project gets it (package.json + dist/), for
 * tests that run examples in their own project: `npx tsup --out-dir` into
 * `.tmp/<name>/package/dist` (never the repository's dist/), and a project directory
 * `.tmp/<name>/app` whose `node_modules/nicepay-nico` links to it. Everything else the
 * project imports (fastify, next, react, the package's own dependencies) resolves from the
 * repository's node_modules, which Node's lookup reaches by climbing up from `.tmp/`.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface PackageCopy {
  /** `.tmp/<name>`: delete it to clean up. */
  readonly dir: string;
  /** The package: package.json and dist/. */
  readonly packageDir: string;
  /** The project: package.json (`"type": "module"`) and node_modules/nicepay-nico. */
  readonly appDir: string;
}

/**
 * Build the package into `.tmp/<name>/package` and make the project directory. Takes about
 * 10 s (the type declarations); bounded by `timeoutMs`.
 * @throws {Error} with tsup's output when the build fails or times out.
 */
export function buildPackageCopy(name: string, timeoutMs = 180_000): PackageCopy {
  const dir = join(ROOT, '.tmp', name);
  const packageDir = join(dir, 'package');
  const appDir = join(dir, 'app');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(appDir, 'node_modules'), { recursive: true });
  mkdirSync(packageDir, { recursive: true });
  try {
    execFileSync('npx', ['tsup', '--out-dir', join(packageDir, 'dist'), '--silent'], { cwd: ROOT, stdio: 'pipe', timeout: timeoutMs });
  } catch (error) {
    const e = error as { stdout?: Buffer; stderr?: Buffer; message: string };
    throw new Error(`tsup --out-dir ${packageDir}/dist failed: ${e.message}\n${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`);
  }
  copyFileSync(join(ROOT, 'package.json'), join(packageDir, 'package.json'));
  symlinkSync(packageDir, join(appDir, 'node_modules', 'nicepay-nico'), 'dir');
  writeFileSync(join(appDir, 'package.json'), `${JSON.stringify({ name: `${name}-app`, version: '0.0.0', private: true, type: 'module' }, null, 2)}\n`);
  return { dir, packageDir, appDir };
}
