import { defineConfig } from 'tsup'

export default defineConfig({
  // `./memory` alone: the in-memory connector without the suite's test runner (vitest), e.g. for the bench.
  entry: ['src/index.ts', 'src/memory.ts'],
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  external: ['vitest', '@proj/core'],
})
