import { fileURLToPath } from 'node:url'
import { build, defineConfig, type Options } from 'tsup'

type EsbuildPlugin = NonNullable<Options['esbuildPlugins']>[number]

const browserOpenStorage = fileURLToPath(new URL('./src/database/open-storage.browser.ts', import.meta.url))
const browserAesGcm = fileURLToPath(new URL('./src/crypto/aes-gcm.browser.ts', import.meta.url))

/**
 * Swaps the Node storage opener (files, node:fs) for the browser one (IndexedDB), and node:crypto's
 * AES-GCM for WebCrypto's.
 */
const browserStorage: EsbuildPlugin = {
  name: 'proj-browser-storage',
  setup(esbuild) {
    esbuild.onResolve({ filter: /[\\/]open-storage\.js$/ }, () => ({ path: browserOpenStorage }))
    esbuild.onResolve({ filter: /[\\/]aes-gcm\.js$/ }, () => ({ path: browserAesGcm }))
  },
}

/**
 * The browser bundle: one self-contained ESM file (dependencies included, WebCrypto only), loadable by a
 * page as it is. Exported so the browser test can build it from the current sources.
 */
export const browserBuild: Options = {
  entry: { browser: 'src/browser.ts' },
  format: ['esm'],
  platform: 'browser',
  target: 'es2022',
  noExternal: [/.*/],
  splitting: false,
  sourcemap: true,
  dts: false,
  clean: false,
  esbuildPlugins: [browserStorage],
}

export default defineConfig({
  entry: ['src/index.ts', 'src/connector/api.ts', 'src/kit.ts'],
  format: ['esm'],
  dts: { entry: ['src/index.ts', 'src/browser.ts', 'src/connector/api.ts', 'src/kit.ts'] },
  sourcemap: true,
  clean: true,
  target: 'es2022',
  // Built after the Node entries so that `clean` cannot race it.
  onSuccess: async () => {
    await build({ ...browserBuild, config: false })
  },
})
