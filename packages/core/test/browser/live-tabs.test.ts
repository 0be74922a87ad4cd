import type { Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { startHarness, type Harness } from './harness.js'

type Core = typeof import('../../src/browser.js')
type Db = ReturnType<Core['database']>
type TestWindow = { core: Core; loaded?: boolean; db: Db; changed: string[] }

let harness: Harness
beforeAll(async () => {
  harness = await startHarness()
})
afterAll(async () => {
  await harness?.close()
})

async function openTab(name: string): Promise<Page> {
  const page = await harness.context.newPage()
  await page.goto(harness.url)
  await page.waitForFunction(() => (window as unknown as TestWindow).loaded === true)
  await page.evaluate(async (name) => {
    const w = window as unknown as TestWindow
    w.db = w.core.database(name)
    w.changed = []
    w.db.subscribe((rows) => w.changed.push(...rows.map((row) => row.key)))
    await w.db.clock()
  }, name)
  return page
}

it('an open database in one tab sees the other tab’s writes live, and concurrent writes converge', async () => {
  const name = `live-${Math.random().toString(36).slice(2, 10)}`
  const tabA = await openTab(name)
  await tabA.evaluate(() => (window as unknown as TestWindow).db.put({ _id: 'a0' }))
  const tabB = await openTab(name)
  await tabA.evaluate(() => (window as unknown as TestWindow).db.put({ _id: 'a1' }))
  await tabB.waitForFunction(() => (window as unknown as TestWindow).changed.includes('a1'))
  expect(await tabB.evaluate(() => (window as unknown as TestWindow).db.get('a1'))).toEqual({ _id: 'a1' })
  // Both write at once, several times: nothing is lost, both end on the same clock.
  await Promise.all([
    tabA.evaluate(async () => { for (let i = 0; i < 5; i++) await (window as unknown as TestWindow).db.put({ _id: `A${i}` }) }),
    tabB.evaluate(async () => { for (let i = 0; i < 5; i++) await (window as unknown as TestWindow).db.put({ _id: `B${i}` }) }),
  ])
  const expected = ['A0','A1','A2','A3','A4','B0','B1','B2','B3','B4','a0','a1']
  const clock = (page: Page) => page.evaluate(() => (window as unknown as TestWindow).db.clock())
  const keys = (page: Page) => page.evaluate(async () => (await (window as unknown as TestWindow).db.allDocs()).rows.map((r) => r.key))
  await expect.poll(() => keys(tabA), { timeout: 10_000 }).toEqual(expected)
  await expect.poll(() => keys(tabB), { timeout: 10_000 }).toEqual(expected)
  await expect.poll(async () => JSON.stringify(await clock(tabA)) === JSON.stringify(await clock(tabB)), { timeout: 30_000 }).toBe(true)
})
