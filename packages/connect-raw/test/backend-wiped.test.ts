import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { database, type Clock, type Database, type Sync } from '@proj/core'
import { serveFromTempDir, type LoopbackServer } from '@proj/test-utils'
import { connect, type RawParams } from '../src/index.js'
import { createStoreServer } from '../src/server.js'

/**
 * The backend loses everything while a device syncs (an operator empties the store, a bucket is recreated,
 * a backup from before the database is restored). The device still holds every file locally; what it
 * believed the backend held is now wrong, and a flush must not name files the backend lacks.
 */
let server: LoopbackServer & { dir: string }

/** How many documents a fresh device (only the key and the store) reads at `clock`. */
async function countAt(fresh: Database, connectFresh: (db: Database) => Sync, clock: Clock): Promise<number> {
  const sync = connectFresh(fresh)
  try {
    await sync.ready
    return (await (await fresh.at(clock)).allDocs()).rows.length
  } finally {
    await sync.close()
  }
}
beforeAll(async () => {
  server = await serveFromTempDir('proj-serve-wiped', (dir) => createStoreServer({ dir }))
})
afterAll(() => server.stop())

it('a store emptied under a running sync: the next flush uploads again what the clock needs, and a fresh device reads it', async () => {
  const db = database('wiped', { storage: 'memory', dir: `/wiped/a/${Math.random()}` })
  const sync = connect.http(db, server.url, { pollInterval: 0 })
  const fresh = database('wiped', { storage: 'memory', dir: `/wiped/b/${Math.random()}`, key: await db.exportKey() })
  try {
    await sync.ready
    await db.bulk(Array.from({ length: 20 }, (_, i) => ({ _id: `before-${i}`, text: 'x'.repeat(500) })))
    await sync.flush()
    await rm(join(server.dir, 'wiped'), { recursive: true, force: true })
    // A pull sees the emptied store (a poll would too; pollInterval 0 keeps this test's order fixed).
    await sync.refresh()
    await db.put({ _id: 'after', text: 'written after the wipe' })
    const clock = await sync.flush()
    expect(await countAt(fresh, (d) => connect.http(d, server.url, { pollInterval: 0 }), clock)).toBe(21)
  } finally {
    await sync.close()
    await db.close()
    await fresh.close()
  }
})

it('a store emptied between sessions: the first push after the restart waits for the check of what the store holds', async () => {
  const deviceDir = await mkdtemp(join(tmpdir(), 'wiped-device-'))
  let fresh: ReturnType<typeof database> | undefined
  try {
    let db = database('wiped-restart', { dir: deviceDir })
    let sync = connect.http(db, server.url, { pollInterval: 0 })
    await sync.ready
    // Many files, so that checking them all takes longer than a push of one more.
    for (let i = 0; i < 120; i++) await db.put({ _id: `before-${i}`, text: 'y'.repeat(300) })
    await sync.flush()
    const key = await db.exportKey()
    await sync.close()
    await db.close()
    await rm(join(server.dir, 'wiped-restart'), { recursive: true, force: true })
    fresh = database('wiped-restart', { storage: 'memory', dir: `/wiped/fresh/${Math.random()}`, key })

    db = database('wiped-restart', { dir: deviceDir })
    sync = connect.http(db, server.url, { pollInterval: 0 })
    await sync.ready
    await db.put({ _id: 'after' })
    const clock = await sync.flush()
    // Nothing the device does afterwards may complete the promise: what flush() resolved with is there now.
    await sync.close()
    await db.close()
    expect(await countAt(fresh, (d) => connect.http(d, server.url, { pollInterval: 0 }), clock)).toBe(121)
  } finally {
    await fresh?.close()
    await rm(deviceDir, { recursive: true, force: true })
  }
})

it('connect.raw (no has() to ask): a store emptied under a running sync gets everything uploaded again', async () => {
  const objects = new Map<string, Uint8Array>()
  const name = ({ type, car, branch }: RawParams) => `${type}/${car ?? branch}`
  const fns = {
    upload: (bytes: Uint8Array, params: RawParams) => void objects.set(name(params), bytes.slice()),
    download: (params: RawParams) => objects.get(name(params))?.slice(),
  }
  const db = database('wiped-raw', { storage: 'memory', dir: `/wiped/raw/${Math.random()}` })
  const sync = connect.raw(db, fns, { pollInterval: 0 })
  const fresh = database('wiped-raw', { storage: 'memory', dir: `/wiped/raw-fresh/${Math.random()}`, key: await db.exportKey() })
  try {
    await sync.ready
    for (let i = 0; i < 10; i++) await db.put({ _id: `before-${i}` })
    await sync.flush()
    objects.clear()
    await sync.refresh()
    await db.put({ _id: 'after' })
    const clock = await sync.flush()
    expect(await countAt(fresh, (d) => connect.raw(d, fns, { pollInterval: 0 }), clock)).toBe(11)
  } finally {
    await sync.close()
    await db.close()
    await fresh.close()
  }
})
