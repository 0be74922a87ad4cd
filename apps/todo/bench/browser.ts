// Browser figure for issue 6: put on page A -> subscribe callback on page B, two headless Chromium contexts
// (two devices, IndexedDB) on one share link of the todo page, through this app's `partykit dev`.
// Run: node --import tsx bench/browser.ts   (after `turbo run build`; needs /usr/bin/chromium)
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { launchChromium } from '@proj/test-utils'
import type { Page } from 'playwright-core'
import { appDir, startDevServer } from '../test/dev-server.js'

const WRITES = Number(process.env.WRITES ?? 200)
const WARMUP = 10

execFileSync(process.execPath, [join(appDir, 'scripts/build.mjs')], { cwd: appDir, stdio: 'pipe' })
const server = await startDevServer()
const browser = await launchChromium()
type AppWindow = { todoApp: { db: import('@proj/core').Database; sync: import('@proj/core').Sync } }
const synced = (page: Page) => page.waitForFunction(() => document.getElementById('status')?.dataset.status === 'synced')

try {
  const a = await (await browser.newContext()).newPage()
  await a.goto(`${server.url}/`)
  await synced(a)
  const link = await a.inputValue('#share-link')
  const b = await (await browser.newContext()).newPage()
  await b.goto(link)
  await synced(b)
  // Both pages stamp with performance.timeOrigin + performance.now(): one machine, one clock.
  await b.evaluate(() => {
    const w = window as unknown as AppWindow & { seen: Map<string, number> }
    w.seen = new Map()
    w.todoApp.db.subscribe((changed) => {
      const at = performance.timeOrigin + performance.now()
      for (const row of changed) if (!w.seen.has(row.key)) w.seen.set(row.key, at)
    })
  })
  const samples: number[] = []
  for (let i = 0; i < WARMUP + WRITES; i++) {
    const id = `bench-${i}`
    const start = await a.evaluate(async (id) => {
      const w = window as unknown as AppWindow
      const start = performance.timeOrigin + performance.now()
      await w.todoApp.db.put({ _id: id, title: `bench ${id}`, done: false, created: Date.now() })
      return start
    }, id)
    // No named functions inside evaluate: tsx would wrap them in a __name helper the page does not have.
    const at = await b.evaluate(async (id) => {
      const w = window as unknown as { seen: Map<string, number> }
      while (!w.seen.has(id)) await new Promise((resolve) => setTimeout(resolve, 1))
      return w.seen.get(id)!
    }, id)
    if (i >= WARMUP) samples.push(at - start)
  }
  samples.sort((x, y) => x - y)
  const pct = (p: number) => samples[Math.min(samples.length - 1, Math.ceil((p / 100) * samples.length) - 1)]!.toFixed(1)
  console.log(`browser: put on page A -> subscribe on page B, ${WRITES} sequential writes (after ${WARMUP} warm-up):`)
  console.log(`  median ${pct(50)} ms, p90 ${pct(90)} ms, p99 ${pct(99)} ms, max ${samples.at(-1)!.toFixed(1)} ms`)
} finally {
  await browser.close()
  await server.stop()
}
