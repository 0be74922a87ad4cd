import type { Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { startHarness, type Harness } from './harness.js'

type Core = typeof import('../../src/browser.js')
type Db = ReturnType<Core['database']>
type StorageModule = typeof import('../../src/storage/indexeddb.js')
type TestWindow = { core: Core; storage: StorageModule; loaded?: boolean; db: Db }

const TABS = 4
const TRIALS = 4
const ROUNDS = 4
const WRITES_PER_ROUND = 5
/** Small, so that tabs try to compact while others are open (compaction deletes files). */
const COMPACT_EVERY = 4

let harness: Harness
beforeAll(async () => {
  harness = await startHarness()
})
afterAll(async () => {
  await harness?.close()
})

async function loadedTab(): Promise<Page> {
  const page = await harness.context.newPage()
  await page.goto(harness.url)
  await page.waitForFunction(() => (window as unknown as TestWindow).loaded === true)
  return page
}

/** Opens the database in the tab and returns the key it got. */
function openIn(page: Page, name: string): Promise<string> {
  return page.evaluate(async ({ name, compactEvery }) => {
    const w = window as unknown as TestWindow
    w.db = w.core.database(name, { compactEvery })
    return w.db.exportKey()
  }, { name, compactEvery: COMPACT_EVERY })
}

interface TrialResult {
  keys: string[]
  acknowledged: string[]
  present: Set<string>
  problems: string[]
  /** Stored files before and after the lone tab's compaction. */
  files: { before: number; after: number }
}

/**
 * TABS tabs create the same new database at the same moment, then each writes in rounds (concurrent puts plus
 * a bulk) and reloads every other round, reopening the database: acknowledged writes of a tab that reloads
 * right after its put must survive the other tabs' head updates and compactions.
 */
async function trial(trialNumber: number): Promise<TrialResult> {
  const name = `race-${trialNumber}-${Math.random().toString(36).slice(2, 10)}`
  const tabs = await Promise.all(Array.from({ length: TABS }, () => loadedTab()))
  const problems: string[] = []
  const keys = await Promise.all(tabs.map((tab) => openIn(tab, name).catch((error: Error) => (problems.push(`open: ${error.message}`), ''))))
  const acknowledged: string[] = []
  await Promise.all(
    tabs.map(async (tab, t) => {
      for (let round = 0; round < ROUNDS; round++) {
        try {
          const ids = await tab.evaluate(
            async ({ t, round, writes }) => {
              const { db } = window as unknown as TestWindow
              const puts = Array.from({ length: writes }, (_, i) => db.put({ _id: `t${t}-r${round}-p${i}`, t, round }))
              const bulk = db.bulk([{ _id: `t${t}-r${round}-b0` }, { _id: `t${t}-r${round}-b1` }])
              const done = await Promise.all(puts)
              return [...done.map((result) => result.id), ...(await bulk).ids]
            },
            { t, round, writes: WRITES_PER_ROUND },
          )
          acknowledged.push(...ids)
        } catch (error) {
          problems.push(`tab ${t} round ${round} write: ${(error as Error).message}`)
        }
        if ((round + t) % 2 === 1) {
          await tab.reload()
          await tab.waitForFunction(() => (window as unknown as TestWindow).loaded === true)
          await openIn(tab, name).catch((error: Error) => problems.push(`tab ${t} reopen: ${error.message}`))
        }
      }
    }),
  )
  await Promise.all(tabs.map((tab) => tab.close()))
  // A tab alone compacts (deleting older files), then another fresh tab reads everything.
  let present: string[] = []
  let files = { before: 0, after: 0 }
  for (const compact of [true, false]) {
    const fresh = await loadedTab()
    const seen = await fresh
      .evaluate(
        async ({ name, compact }) => {
          const w = window as unknown as TestWindow
          const countFiles = async () => {
            const storage = w.storage.indexedDBStorage(name)
            const count = (await storage.listFiles()).length
            await storage.close()
            return count
          }
          const before = await countFiles()
          const db = w.core.database(name)
          if (compact) await db.compact()
          const { rows } = await db.allDocs()
          await db.close()
          return { keys: rows.map((row) => row.key), files: { before, after: await countFiles() } }
        },
        { name, compact },
      )
      .catch((error: Error) => (problems.push(`fresh tab: ${error.message}`), { keys: [] as string[], files }))
    present = seen.keys
    if (compact) files = seen.files
    await fresh.close()
  }
  return { keys, acknowledged, present: new Set(present), problems, files }
}

it(`${TABS} tabs creating one new database at once, writing and reloading, agree on one key and lose no acknowledged write`, async () => {
  const failures: string[] = []
  let acknowledgedTotal = 0
  for (let n = 0; n < TRIALS; n++) {
    const { keys, acknowledged, present, problems, files } = await trial(n)
    acknowledgedTotal += acknowledged.length
    const lost = acknowledged.filter((id) => !present.has(id))
    const distinctKeys = new Set(keys.filter(Boolean)).size
    const trouble = [
      ...(distinctKeys > 1 ? [`${distinctKeys} different keys`] : []),
      ...(lost.length ? [`lost ${lost.length} of ${acknowledged.length} acknowledged writes (${lost.slice(0, 3).join(', ')}…)`] : []),
      ...problems.slice(0, 3),
      ...(files.after < files.before ? [] : [`the lone tab's compaction deleted no file (${files.before} → ${files.after})`]),
    ]
    if (trouble.length) failures.push(`trial ${n}: ${trouble.join('; ')}`)
  }
  expect(failures, `${failures.length} of ${TRIALS} trials failed`).toEqual([])
  expect(acknowledgedTotal).toBeGreaterThan(0)
}, 300_000)
