import { defineConfig } from 'tsup'

export default defineConfig({
  entry: ['src/index.ts', 'src/dir.ts', 'src/server.ts', 'src/export.ts', 'src/cli.ts', 'src/export-cli.ts'],
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  external: ['@proj/core'],
})
