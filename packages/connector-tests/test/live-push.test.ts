import { afterEach, describe, expect, it } from 'vitest'
import { database, type Database, type Sync } from '@proj/core'
import { MemoryBackend, MemoryConnector } from '../src/index.js'
import { MeteredConnector, uniqueDir, until } from './sync-helpers.js'

// Live sync through a pushing backend: a new head reaches the other device through the push alone (polling
// is set to a minute, far past every wait here), and a device that only follows another's writes never
// saves an entry back: each save would make every other device open and merge an entry it already has.

const open: { close(): Promise<void> }[] = []
afterEach(async () => {
  for (const item of open.splice(0).reverse()) await item.close().catch(() => {})
})

const POLL_NEVER = 60_000

function device(key?: string): Database {
  const db = database('live', { storage: 'memory', dir: uniqueDir('live'), key })
  open.push(db)
  return db
}

function connect(db: Database, connector: MeteredConnector): Sync {
  const sync = db.connect(connector, { pollInterval: POLL_NEVER, maxBackoff: 50, flushTimeout: 5_000 })
  open.push(sync)
  return sync
}

async function pair(): Promise<{ a: Database; b: Database; toA: MeteredConnector; toB: MeteredConnector; syncA: Sync; syncB: Sync }> {
  const backend = new MemoryBackend()
  const a = device()
  const toA = new MeteredConnector(new MemoryConnector(backend))
  const syncA = connect(a, toA)
  await syncA.ready
  const b = device(await a.exportKey())
  const toB = new MeteredConnector(new MemoryConnector(backend))
  const syncB = connect(b, toB)
  await syncB.ready
  return { a, b, toA, toB, syncA, syncB }
}

describe('live sync through a pushing backend', () => {
  it('a device that adopts a pushed head saves nothing back', async () => {
    const { a, b, toB, syncA, syncB } = await pair()
    const seen = new Set<string>()
    b.subscribe((rows) => rows.forEach((row) => seen.add(row.key)))
    for (let i = 0; i < 3; i++) {
      await a.put({ _id: `doc-${i}`, i })
      await until(() => seen.has(`doc-${i}`))
    }
    await syncA.flush()
    await syncB.flush()
    expect(await b.clock()).toEqual(await a.clock())
    expect(toB.saved).toHaveLength(0)
    expect(toB.uploaded).toHaveLength(0)
  })

  it('entries that arrive while the reader is busy merging fast-forward it: no merge event, nothing saved back', async () => {
    const { a, b, toA, toB, syncA, syncB } = await pair()
    const seen = new Set<string>()
    b.subscribe((rows) => rows.forEach((row) => seen.add(row.key)))
    const writes = 20
    for (let i = 0; i < writes; i++) await a.put({ _id: `doc-${i}`, i })
    await until(() => seen.size === writes)
    await syncA.flush()
    await syncB.flush()
    // A merge event would give B a clock of its own, which it must push and A must merge back.
    expect(await b.clock()).toEqual(await a.clock())
    expect(toB.saved).toHaveLength(0)
    // A downloaded nothing: B uploaded no file of its own.
    expect(toA.downloads).toBe(0)
    expect((await b.allDocs()).rows.map((row) => row.key)).toHaveLength(writes)
  })
})
