import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { closeServer, launchChromiumProfile, listenOnLoopback } from '@proj/test-utils'
import type { BrowserContext } from 'playwright-core'
import { build } from 'tsup'
import { browserBuild } from '../../tsup.config.js'

const packageDir = fileURLToPath(new URL('../..', import.meta.url))

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>proj browser test</title></head>
<body><script type="module">
  import * as core from '/browser.js'
  import * as storage from '/storage.js'
  window.core = core
  window.storage = storage
  window.loaded = true
</script></body></html>`

export interface Harness {
  /** http://127.0.0.1:<port>/ : a page that loads the browser bundle as `window.core`. */
  url: string
  context: BrowserContext
  close(): Promise<void>
}

/**
 * Builds the browser bundle from the current sources with the package's own tsup options (plus the
 * IndexedDB storage module on its own, for storage-level checks), serves both with a test page from
 * 127.0.0.1, and starts headless Chromium with a fresh profile.
 */
export async function startHarness(): Promise<Harness> {
  const work = mkdtempSync(join(tmpdir(), 'proj-browser-'))
  const outDir = join(work, 'dist')
  await build({
    ...browserBuild,
    entry: { browser: join(packageDir, 'src/browser.ts') },
    tsconfig: join(packageDir, 'tsconfig.json'),
    outDir,
    sourcemap: false,
    silent: true,
    config: false,
  })
  await build({
    ...browserBuild,
    entry: { storage: join(packageDir, 'src/storage/indexeddb.ts') },
    tsconfig: join(packageDir, 'tsconfig.json'),
    outDir,
    sourcemap: false,
    silent: true,
    config: false,
  })
  const assets: Record<string, { type: string; body: string | Buffer }> = {
    '/': { type: 'text/html; charset=utf-8', body: PAGE },
    '/browser.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(join(outDir, 'browser.js')) },
    '/storage.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(join(outDir, 'storage.js')) },
  }
  const server = createServer((request, response) => {
    const asset = assets[new URL(request.url ?? '/', 'http://127.0.0.1').pathname]
    if (!asset) {
      response.writeHead(404).end()
      return
    }
    response.writeHead(200, { 'content-type': asset.type, 'cache-control': 'no-store' }).end(asset.body)
  })
  const origin = await listenOnLoopback(server)
  const context = await launchChromiumProfile(join(work, 'profile'))
  return {
    url: `${origin}/`,
    context,
    async close() {
      await context.close().catch(() => {})
      await closeServer(server)
      rmSync(work, { recursive: true, force: true })
    },
  }
}

