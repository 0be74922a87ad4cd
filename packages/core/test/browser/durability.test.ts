import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHarness, type Harness } from './harness.js'

type Core = typeof import('../../src/browser.js')
type TestWindow = { core: Core; loaded?: boolean; hints?: (string | undefined)[] }

let harness: Harness

beforeAll(async () => {
  harness = await startHarness()
})

afterAll(async () => {
  await harness?.close()
})

async function openTab(): Promise<Page> {
  const page = await harness.context.newPage()
  await page.goto(harness.url)
  await page.waitForFunction(() => (window as unknown as TestWindow).loaded === true)
  // Records the durability hint of every readwrite transaction the page opens (the real transaction still runs).
  await page.evaluate(() => {
    const w = window as unknown as TestWindow
    w.hints = []
    const original = IDBDatabase.prototype.transaction
    IDBDatabase.prototype.transaction = function (this: IDBDatabase, stores, mode, options) {
      if (mode === 'readwrite') w.hints!.push(options?.durability)
      return original.call(this, stores, mode, options)
    } as typeof original
  })
  return page
}

const unique = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 10)}`

describe('the durability option over IndexedDB (headless Chromium)', () => {
  for (const [level, hint] of [
    ['process', 'relaxed'],
    ['power', 'strict'],
    [undefined, 'strict'],
  ] as const) {
    it(`durability ${level ?? '(default)'} writes with ${hint} transactions, and the data reads back after a reopen`, async () => {
      const page = await openTab()
      const result = await page.evaluate(
        async ({ name, level }) => {
          const w = window as unknown as TestWindow
          const db = w.core.database(name, level ? { durability: level } : {})
          for (let i = 0; i < 3; i++) await db.put({ _id: `d${i}`, i })
          await db.close()
          const hints = [...new Set(w.hints)]
          const again = w.core.database(name)
          const ids = (await again.allDocs()).rows.map((row) => row.key)
          await again.close()
          return { hints, ids }
        },
        { name: unique('durability'), level },
      )
      expect(result.hints).toEqual([hint])
      expect(result.ids).toEqual(['d0', 'd1', 'd2'])
      await page.close()
    })
  }

  it('rejects another value with a TypeError naming it, and creates nothing', async () => {
    const page = await openTab()
    const name = unique('bad-durability')
    const result = await page.evaluate(async (name) => {
      const w = window as unknown as TestWindow
      const db = w.core.database(name, { durability: 'relaxed' as 'process' })
      const error = await db.put({ _id: 'a' }).then(
        () => undefined,
        (e: Error) => ({ name: e.name, message: e.message, type: e instanceof TypeError }),
      )
      await db.close().catch(() => {})
      const idb = (await indexedDB.databases()).map((info) => info.name)
      return { error, idb }
    }, name)
    expect(result.error?.type).toBe(true)
    expect(result.error?.message).toContain(`durability must be 'process' or 'power', got "relaxed"`)
    expect(result.idb).not.toContain(`proj:${name}`)
    await page.close()
  })
})
