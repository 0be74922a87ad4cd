import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, expect, inject, it } from 'vitest'
import { database, type Database, type Sync } from '@proj/core'
import type { Connector, MetaEntry } from '@proj/core/connector'
import { fileCid } from '@proj/core/kit'
import { partykitConnector } from '../src/index.js'

// Live sync through the real `partykit dev`: what A writes reaches B through the server's push alone (polling
// is set to a minute, past every wait here), and B, which only follows A, never saves an entry or uploads a
// file back: each would make A open, download and merge what it already has.

const host = inject('partykitHost')
const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function device(name: string, key?: string): Promise<Database> {
  const dir = await mkdtemp(join(tmpdir(), 'proj-partykit-live-'))
  const db = database(name, key === undefined ? { dir } : { dir, key })
  cleanups.push(async () => {
    await db.close()
    await rm(dir, { recursive: true, force: true })
  })
  return db
}

/** A partykit connector that counts the saves and uploads going through it, and its file GETs over HTTP. */
function counted(room: string): { connector: Connector; saves: number[]; uploads: number[]; fileGets: string[]; filePuts: string[]; status(): string } {
  const fileGets: string[] = []
  const filePuts: string[] = []
  const fetcher: typeof fetch = (input, init) => {
    const url = String(input instanceof Request ? input.url : input)
    const method = init?.method ?? 'GET'
    if (method === 'GET' && url.includes('/data/')) fileGets.push(url)
    if (method === 'PUT' && url.includes('/data/')) filePuts.push(url)
    return fetch(input, init)
  }
  const inner = partykitConnector(host, { room, fetch: fetcher })
  const saves: number[] = []
  const uploads: number[] = []
  const connector: Connector = {
    name: inner.name,
    id: inner.id,
    upload: (db, cid, bytes) => (uploads.push(bytes.length), inner.upload(db, cid, bytes)),
    download: (db, cid) => inner.download(db, cid),
    has: (db, cid) => inner.has!(db, cid),
    save: (db, branch, entry, replaces) => (saves.push(entry.bytes.length), inner.save(db, branch, entry, replaces)),
    load: (db, branch) => inner.load(db, branch),
    subscribe: (db, branch, onEntries) => inner.subscribe(db, branch, onEntries),
    onStatus: (listener) => inner.onStatus(listener),
    close: () => inner.close(),
  }
  return { connector, saves, uploads, fileGets, filePuts, status: () => inner.status }
}

function connect(db: Database, connector: Connector): Sync {
  const sync = db.connect(connector, { pollInterval: 60_000 })
  cleanups.push(() => sync.close())
  return sync
}

it('a device following another through the push saves and uploads nothing back', async () => {
  const name = `live-${crypto.randomUUID()}`
  const a = await device(name)
  const b = await device(name, await a.exportKey())
  const toA = counted(name)
  const toB = counted(name)
  const syncA = connect(a, toA.connector)
  const syncB = connect(b, toB.connector)
  await Promise.all([syncA.ready, syncB.ready])
  const seen = new Set<string>()
  b.subscribe((rows) => rows.forEach((row) => seen.add(row.key)))
  const writes = 12
  for (let i = 0; i < writes; i++) await a.put({ _id: `doc-${i}`, i })
  await expect.poll(() => seen.size, { timeout: 20_000 }).toBe(writes)
  await syncA.flush()
  await syncB.flush()
  expect(await b.clock()).toEqual(await a.clock())
  expect(toB.saves).toEqual([])
  expect(toB.uploads).toEqual([])
  expect((await b.allDocs()).rows).toHaveLength(writes)
})

it('small files go up as socket messages and come down with the push: no file request over HTTP', async () => {
  const name = `pushed-files-${crypto.randomUUID()}`
  const a = await device(name)
  const b = await device(name, await a.exportKey())
  const toA = counted(name)
  const toB = counted(name)
  const syncA = connect(a, toA.connector)
  const syncB = connect(b, toB.connector)
  await Promise.all([syncA.ready, syncB.ready])
  await expect.poll(() => toA.status(), { timeout: 20_000 }).toBe('open')
  const seen = new Set<string>()
  b.subscribe((rows) => rows.forEach((row) => seen.add(row.key)))
  const writes = 6
  for (let i = 0; i < writes; i++) {
    await a.put({ _id: `doc-${i}`, i })
    await syncA.flush()
    await expect.poll(() => seen.has(`doc-${i}`), { timeout: 20_000 }).toBe(true)
  }
  expect(await b.clock()).toEqual(await a.clock())
  expect(toB.fileGets).toEqual([])
  expect(toA.uploads.length).toBeGreaterThanOrEqual(writes)
  expect(toA.filePuts).toEqual([])
  // The pushed bytes are the stored files: B reads every document back, and a fresh device downloads them.
  expect((await b.allDocs()).rows).toHaveLength(writes)
  const c = await device(name, await a.exportKey())
  const toC = counted(name)
  await connect(c, toC.connector).ready
  expect((await c.allDocs()).rows).toHaveLength(writes)
  expect(toC.fileGets.length).toBeGreaterThan(0)
})

async function entry(text: string): Promise<MetaEntry> {
  const bytes = new TextEncoder().encode(text)
  return { cid: (await fileCid(bytes)).toString(), bytes }
}

it('a pushed save names the entries it replaced, so a subscriber still behind can skip them', async () => {
  const room = `replaced-${crypto.randomUUID()}`
  const writer = partykitConnector(host, { room })
  const reader = partykitConnector(host, { room })
  cleanups.push(() => writer.close(), () => reader.close())
  const deliveries: { cids: string[]; replaced: readonly string[] | undefined }[] = []
  reader.subscribe(room, 'main', (entries, replaced) => deliveries.push({ cids: entries.map((e) => e.cid), replaced }))
  await expect.poll(() => reader.status, { timeout: 20_000 }).toBe('open')
  const first = await entry('first')
  const second = await entry('second')
  await writer.save(room, 'main', first, [])
  await writer.save(room, 'main', second, [first.cid])
  await expect.poll(() => deliveries.length, { timeout: 20_000 }).toBe(2)
  expect(deliveries).toEqual([
    { cids: [first.cid], replaced: [] },
    { cids: [second.cid], replaced: [first.cid] },
  ])
})
