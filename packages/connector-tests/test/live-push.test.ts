import { afterEach, describe, expect, it } from 'vitest'
import { database, type Database, type Sync, type SyncWarning } from '@proj/core'
import type { Connector, MetaEntry } from '@proj/core/connector'
import { MemoryBackend, MemoryConnector, metaEntry } from '../src/index.js'
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

/** Holds the backend's pushes while `holding`, then hands them over all at once (a device busy elsewhere). */
class HeldPushes implements Connector {
  readonly name: string
  readonly id: string | undefined
  holding = false
  readonly held: (() => void)[] = []

  constructor(readonly inner: MemoryConnector) {
    this.name = inner.name
    this.id = inner.id
  }

  upload = (db: string, cid: string, bytes: Uint8Array) => this.inner.upload(db, cid, bytes)
  download = (db: string, cid: string) => this.inner.download(db, cid)
  save = (db: string, branch: string, entry: MetaEntry, replaces: readonly string[]) => this.inner.save(db, branch, entry, replaces)
  load = (db: string, branch: string) => this.inner.load(db, branch)
  close = () => this.inner.close()

  subscribe(db: string, branch: string, onEntries: (entries: MetaEntry[], replaced?: readonly string[]) => void): () => void {
    return this.inner.subscribe(db, branch, (entries, replaced) => {
      if (this.holding) this.held.push(() => onEntries(entries, replaced))
      else onEntries(entries, replaced)
    })
  }

  release(): void {
    this.holding = false
    for (const deliver of this.held.splice(0)) deliver()
  }
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

  it('a burst that reaches the reader at once, across a checkpoint event, fast-forwards it: nothing saved back', async () => {
    const backend = new MemoryBackend()
    const a = device()
    const syncA = connect(a, new MeteredConnector(new MemoryConnector(backend)))
    await syncA.ready
    await a.put({ _id: 'first' })
    await syncA.flush()
    const b = device(await a.exportKey())
    const held = new HeldPushes(new MemoryConnector(backend))
    const toB = new MeteredConnector(held)
    const syncB = connect(b, toB)
    await syncB.ready
    expect(await b.clock()).toEqual(await a.clock())
    // More writes than the 32 events from one checkpoint to the next, each pushed on its own (each save
    // replaces the one before): the reader gets them in one batch and merges only the newest, whose tree
    // derives from the checkpoint after the reader's head, not through the events in between.
    held.holding = true
    const writes = 40
    for (let i = 0; i < writes; i++) {
      await a.put({ _id: `doc-${i}`, i })
      await syncA.flush()
    }
    await until(() => held.held.length >= writes)
    held.release()
    await until(async () => (await b.allDocs()).rows.length === writes + 1)
    await syncB.flush()
    // Telling that the newest contains the reader's head takes the events in between: without them the reader
    // writes a merge event, saves it, and the writer (writing on) must merge it back, over and over.
    expect(toB.saved).toHaveLength(0)
    expect(toB.uploaded).toHaveLength(0)
    expect(await b.clock()).toEqual(await a.clock())
  })

  it('the memory backend tells subscribers which entries a save replaced', async () => {
    const backend = new MemoryBackend()
    const writer = new MemoryConnector(backend)
    const reader = new MemoryConnector(backend)
    open.push(writer, reader)
    const deliveries: { cids: string[]; replaced: readonly string[] | undefined }[] = []
    reader.subscribe('db', 'main', (entries, replaced) => {
      // The current set first (empty here), then one delivery per save.
      if (entries.length) deliveries.push({ cids: entries.map((e) => e.cid), replaced })
    })
    const first = await metaEntry(new TextEncoder().encode('first'))
    const second = await metaEntry(new TextEncoder().encode('second'))
    await writer.save('db', 'main', first, [])
    await writer.save('db', 'main', second, [first.cid])
    await until(() => deliveries.length === 2)
    expect(deliveries).toEqual([
      { cids: [first.cid], replaced: [] },
      { cids: [second.cid], replaced: [first.cid] },
    ])
  })

  it('an entry pushed together with the save that replaced it is not merged: only the replacer is reported', async () => {
    const backend = new MemoryBackend()
    const b = device()
    const held = new HeldPushes(new MemoryConnector(backend))
    const syncB = b.connect(held, { pollInterval: POLL_NEVER, maxBackoff: 50, flushTimeout: 5_000 })
    open.push(syncB)
    await syncB.ready
    const warnings: SyncWarning[] = []
    syncB.on('warning', (warning) => warnings.push(warning))
    // A stranger's two entries (unreadable here, so each one opened is reported): the second replaces the first.
    const stranger = new MemoryConnector(backend)
    open.push(stranger)
    const older = await metaEntry(new TextEncoder().encode('older garbage'))
    const newer = await metaEntry(new TextEncoder().encode('newer garbage'))
    held.holding = true
    await stranger.save('live', 'main', older, [])
    await stranger.save('live', 'main', newer, [older.cid])
    await until(() => held.held.length === 2)
    held.release()
    await syncB.refresh()
    expect(warnings.map((warning) => warning.cid)).toEqual([newer.cid])
  })

  it('a pushed entry whose merge fails on a transient download failure is pulled again, not dropped', async () => {
    const { a, b, toB, syncA, syncB } = await pair()
    let errors = 0
    syncB.on('error', () => errors++)
    toB.down = true
    await a.put({ _id: 'pushed', text: 'x'.repeat(2_000) })
    await syncA.flush()
    // B's in-place retries of the head file's download all failed twice: when it preloaded the entry's head
    // files, then in the merge itself, which failed.
    await until(() => errors >= 2)
    toB.down = false
    // No poll comes (POLL_NEVER) and A writes nothing more: only B's own retry can bring the write in.
    await expect.poll(() => b.get('pushed').then(() => true, () => false)).toBe(true)
    await expect.poll(() => syncB.status).toBe('synced')
  })
})
