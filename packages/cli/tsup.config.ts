import { defineConfig } from 'tsup'

export default defineConfig({
  entry: ['src/index.ts', 'src/proj.ts'],
  format: ['esm'],
  dts: { entry: ['src/index.ts'] },
  sourcemap: true,
  clean: true,
  target: 'es2022',
  external: ['@proj/core', '@proj/connect-raw'],
})
