import { defineConfig } from 'tsup';

// Two builds from one source:
// - ESM keeps @noble/* and @scure/base as ordinary imports, so applications share and
//   update them.
// - CJS inlines them: their 2.x releases are ESM-only, and `require()` of ESM is not
//   available on every supported Node (see `node --no-experimental-require-module`).
//   lossless-json (the body parser) is inlined there too, so the CommonJS build is one
//   self-contained copy, as the package checks require.
// Both split shared code into chunks, so `nicepay-nico`, `nicepay-nico/fetch` and
// `nicepay-nico/node` share one copy of the core (one SnapError class, one key cache).
const common = {
  entry: { index: 'src/index.ts', fetch: 'src/adapters/fetch.ts', node: 'src/adapters/node.ts', vectors: 'src/vectors.ts', fastify: 'src/adapters/fastify.ts', next: 'src/adapters/next.ts' },
  target: 'es2022',
  platform: 'neutral',
  // No source maps: they would point at src/, which the package does not ship.
  sourcemap: false,
  dts: true,
  treeshake: true,
  splitting: true,
} as const;

export default defineConfig([
  { ...common, format: ['esm'], clean: true },
  { ...common, format: ['cjs'], noExternal: [/^@noble\//, /^@scure\//, /^lossless-json$/] },
  // The `nicepay-nico` command (bin): one ESM file for Node, the core bundled in from src/.
  {
    entry: { cli: 'src/cli/bin.ts' },
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    sourcemap: false,
    dts: false,
    treeshake: true,
    splitting: false,
    banner: { js: '#!/usr/bin/env node' },
  },
]);
