import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHarness, type Harness } from './harness.js'

type Core = typeof import('../../src/browser.js')
type TestWindow = { core: Core; loaded?: boolean; readwrite?: string[][] }

let harness: Harness

beforeAll(async () => {
  harness = await startHarness()
})

afterAll(async () => {
  await harness?.close()
})

describe('a bulk cut into files over IndexedDB (headless Chromium)', () => {
  it('stores its files in one readwrite transaction, and a reopened database reads every document', async () => {
    const page = await harness.context.newPage()
    await page.goto(harness.url)
    await page.waitForFunction(() => (window as unknown as TestWindow).loaded === true)
    const result = await page.evaluate(async (name) => {
      const w = window as unknown as TestWindow
      const original = IDBDatabase.prototype.transaction
      IDBDatabase.prototype.transaction = function (this: IDBDatabase, stores, mode, options) {
        if (mode === 'readwrite') w.readwrite?.push(typeof stores === 'string' ? [stores] : [...stores])
        return original.call(this, stores, mode, options)
      } as typeof original
      const doc = (i: number) => ({ _id: `doc-${String(i).padStart(5, '0')}`, n: i, body: 'b'.repeat(160) + i })
      const db = w.core.database(name)
      await db.put({ _id: 'first' })
      w.readwrite = []
      // ~1.3 MB of blocks: cut into files of ~32 KiB (BlockStore.commit).
      await db.bulk(Array.from({ length: 6000 }, (_, i) => doc(i)))
      const writes = w.readwrite
      w.readwrite = undefined
      await db.close()
      const again = w.core.database(name)
      const got = await again.get(doc(3701)._id)
      const rows = (await again.allDocs()).rows
      await again.close()
      return { writes, got, count: rows.length, last: rows[rows.length - 1]!.value, expected: doc(3701) }
    }, `cold-bulk-${Math.random().toString(36).slice(2, 10)}`)
    // One transaction stores the bulk's files (before, one per file: ~40); the others write records.
    expect(result.writes.filter((stores) => stores.includes('files'))).toHaveLength(1)
    expect(result.got).toEqual(result.expected)
    expect(result.count).toBe(6001)
    expect(result.last).toEqual({ _id: 'first' })
  })
})
