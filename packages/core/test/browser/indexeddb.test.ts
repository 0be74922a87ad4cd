import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHarness, type Harness } from './harness.js'

type Core = typeof import('../../src/browser.js')
type StorageModule = typeof import('../../src/storage/indexeddb.js')
type TestWindow = { core: Core; storage: StorageModule; loaded?: boolean }

let harness: Harness
const pageErrors: string[] = []

beforeAll(async () => {
  harness = await startHarness()
})

afterAll(async () => {
  await harness?.close()
})

async function openTab(): Promise<Page> {
  const page = await harness.context.newPage()
  page.on('pageerror', (error) => pageErrors.push(error.message))
  await page.goto(harness.url)
  await page.waitForFunction(() => (window as unknown as TestWindow).loaded === true)
  return page
}

const unique = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 10)}`

describe('browser build in headless Chromium (IndexedDB)', () => {
  it('puts, gets, queries and keeps the data across a page reload', async () => {
    const page = await openTab()
    const name = unique('todos')
    const first = await page.evaluate(async (name) => {
      const { database } = (window as unknown as TestWindow).core
      const db = database(name)
      await db.put({ _id: 'a', title: 'milk', done: false })
      await db.bulk([
        { _id: 'b', title: 'bread', done: true },
        { _id: 'c', title: 'eggs', done: false },
      ])
      await db.del('b')
      const doc = await db.get('a')
      const missing = await db.get('zz').then(
        () => 'found',
        (error: Error) => error.name,
      )
      const open = await db.query('done', { key: false })
      const all = await db.allDocs()
      const idb = (await indexedDB.databases()).map((info) => info.name)
      await db.close()
      return { doc, missing, open: open.rows.map((row) => row.id), all: all.rows.map((row) => row.key), idb }
    }, name)
    expect(first.doc).toEqual({ _id: 'a', title: 'milk', done: false })
    expect(first.missing).toBe('NotFoundError')
    expect(first.open).toEqual(['a', 'c'])
    expect(first.all).toEqual(['a', 'c'])
    expect(first.idb).toContain(`proj:${name}`)

    await page.reload()
    await page.waitForFunction(() => (window as unknown as TestWindow).loaded === true)
    const second = await page.evaluate(async (name) => {
      const { database } = (window as unknown as TestWindow).core
      const db = database(name)
      const doc = await db.get('c')
      const open = await db.query('done', { key: false })
      const changes = await db.changes()
      await db.put({ _id: 'd', title: 'tea', done: false })
      const after = await db.query('done', { key: false, includeDocs: true })
      await db.close()
      return {
        doc,
        open: open.rows.map((row) => row.id),
        changed: changes.rows.map((row) => [row.key, row.deleted ?? false]),
        after: after.rows.map((row) => row.doc?.title),
      }
    }, name)
    expect(second.doc).toEqual({ _id: 'c', title: 'eggs', done: false })
    expect(second.open).toEqual(['a', 'c'])
    expect(second.changed).toEqual([
      ['a', false],
      ['b', true],
      ['c', false],
    ])
    expect(second.after).toEqual(['milk', 'eggs', 'tea'])
    await page.close()
    expect(pageErrors).toEqual([])
  })

  it('memory storage works in the page too', async () => {
    const page = await openTab()
    const doc = await page.evaluate(async () => {
      const { database } = (window as unknown as TestWindow).core
      const db = database('scratch', { storage: 'memory' })
      await db.put({ _id: 'x', n: 1 })
      const found = await db.get('x')
      await db.close()
      return found
    })
    expect(doc).toEqual({ _id: 'x', n: 1 })
    await page.close()
  })

  it("refuses the Node 'file' storage with a TypeError naming it", async () => {
    const page = await openTab()
    const error = await page.evaluate(async () => {
      const { database } = (window as unknown as TestWindow).core
      const db = database('nofile', { storage: 'file' })
      return db.get('x').then(
        () => undefined,
        (e: Error) => ({ name: e.name, message: e.message }),
      )
    })
    expect(error).toEqual({
      name: 'TypeError',
      message: `database("nofile"): storage "file" is not available in the browser (use 'indexeddb' or 'memory')`,
    })
    await page.close()
  })

  it('two tabs of one origin see each other’s writes', async () => {
    const name = unique('shared')
    const tabA = await openTab()
    const tabB = await openTab()
    // Tab A creates the database (and its key) and writes.
    const clockA = await tabA.evaluate(async (name) => {
      const { database } = (window as unknown as TestWindow).core
      const db = database(name)
      ;(window as unknown as { db: unknown }).db = db
      return (await db.put({ _id: 'from-a', n: 1 })).clock
    }, name)

    // Tab B opens the same database and sees A's write; it then waits for A's next head change.
    const seenByB = await tabB.evaluate(async (name) => {
      const { core, storage } = window as unknown as TestWindow
      const db = core.database(name)
      ;(window as unknown as { db: unknown }).db = db
      const watcher = storage.indexedDBStorage(name)
      ;(window as unknown as { headChanged: Promise<string> }).headChanged = new Promise((resolve) => {
        const stop = watcher.watch((record) => {
          stop()
          resolve(record)
        })
      })
      return { doc: await db.get('from-a'), clock: await db.clock() }
    }, name)
    expect(seenByB.doc).toEqual({ _id: 'from-a', n: 1 })
    expect(seenByB.clock).toEqual(clockA)

    // A writes again: B hears "head changed" over the BroadcastChannel and re-reads the database. (An open
    // Database does not reload its head on that notice yet: B re-opens instead, and writes through the
    // fresh instance, since a stale one would overwrite A's head.)
    await tabA.evaluate(async () => {
      const db = (window as unknown as { db: ReturnType<Core['database']> }).db
      await db.put({ _id: 'from-a-2', n: 2 })
    })
    const afterNotice = await tabB.evaluate(async (name) => {
      const { core } = window as unknown as TestWindow
      const record = await (window as unknown as { headChanged: Promise<string> }).headChanged
      await (window as unknown as { db: ReturnType<Core['database']> }).db.close()
      const fresh = core.database(name)
      const doc = await fresh.get('from-a-2')
      await fresh.put({ _id: 'from-b', n: 3 })
      await fresh.close()
      return { record, doc }
    }, name)
    expect(afterNotice).toEqual({ record: 'head.main', doc: { _id: 'from-a-2', n: 2 } })

    // And the other way round: A (re-opening) sees B's write.
    const seenByA = await tabA.evaluate(async (name) => {
      const { core } = window as unknown as TestWindow
      await (window as unknown as { db: ReturnType<Core['database']> }).db.close()
      const db = core.database(name)
      const { rows } = await db.allDocs()
      await db.close()
      return rows.map((row) => row.key)
    }, name)
    expect(seenByA).toEqual(['from-a', 'from-a-2', 'from-b'])
    await tabA.close()
    await tabB.close()
    expect(pageErrors).toEqual([])
  })
})
