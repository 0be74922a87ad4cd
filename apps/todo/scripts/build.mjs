// Builds the page into public/: src/main.ts bundled by esbuild for the browser (the "browser" condition picks
// @proj/core's browser build, which keeps databases in IndexedDB), plus the static files.
import { copyFile, mkdir, rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const appDir = join(dirname(fileURLToPath(import.meta.url)), '..')
const out = join(appDir, 'public')

await rm(out, { recursive: true, force: true })
await mkdir(out, { recursive: true })
await build({
  entryPoints: { app: join(appDir, 'src/main.ts') },
  outdir: out,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  conditions: ['browser', 'import'],
  target: 'es2022',
  minify: true,
  sourcemap: true,
  logLevel: 'warning',
})
for (const file of ['index.html', 'style.css', 'icon.svg', 'sw.js']) await copyFile(join(appDir, 'src', file), join(out, file))
console.log(`built ${out}`)
