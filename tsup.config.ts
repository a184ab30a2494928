import { defineConfig } from 'tsup';

// Two builds from one source:
// - ESM keeps @noble/* and @scure/base as ordinary imports, so applications share and
//   update them.
// - CJS inlines them: their 2.x releases are ESM-only, and `require()` of ESM is not
//   available on every supported Node (see `node --no-experimental-require-module`).
const common = {
  entry: { index: 'src/index.ts' },
  target: 'es2022',
  platform: 'neutral',
  sourcemap: true,
  dts: true,
  treeshake: true,
} as const;

export default defineConfig([
  { ...common, format: ['esm'], clean: true },
  { ...common, format: ['cjs'], noExternal: [/^@noble\//, /^@scure\//] },
]);
