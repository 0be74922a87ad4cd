import { copyFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { database, type Database, type Sync } from '@proj/core'
import { serveFromTempDir, type LoopbackServer } from '@proj/test-utils'
import { connect } from '../src/index.js'
import { createStoreServer } from '../src/server.js'

/**
 * The backend serves an older meta listing again (a restored backup, a stale replica behind a load balancer,
 * a hostile server replaying what it once held). A device that has seen newer state never moves back to the
 * old one, and sync brings the backend forward again instead of settling on the replayed entry.
 */
let server: LoopbackServer & { dir: string }

beforeAll(async () => {
  server = await serveFromTempDir('proj-serve-replay', (dir) => createStoreServer({ dir }))
})
afterAll(() => server.stop())

function device(name: string, key?: string): { db: Database; sync: Sync } {
  const db = database(name, { storage: 'memory', dir: `/replay/${name}/${Math.random()}`, ...(key ? { key } : {}) })
  return { db, sync: connect.http(db, server.url, { pollInterval: 0 }) }
}

it('a replayed older listing: devices that saw the newer state keep it, and flush brings the backend forward', async () => {
  const name = 'replay'
  const listing = join(server.dir, name, 'meta', 'main.json')
  const a = device(name)
  const b = device(name, await a.db.exportKey())
  const devices = [a, b]
  try {
    await a.sync.ready
    await a.db.put({ _id: 'doc', version: 1 })
    await a.sync.flush()
    await copyFile(listing, `${listing}.old`)
    await a.db.put({ _id: 'doc', version: 2 })
    await a.db.put({ _id: 'only-in-2' })
    await a.sync.flush()
    await b.sync.ready
    await b.sync.refresh()
    expect((await b.db.get('doc')).version).toBe(2)

    await copyFile(`${listing}.old`, listing)
    for (const { db, sync } of devices) {
      await sync.refresh()
      expect((await db.get('doc')).version).toBe(2)
      expect((await db.allDocs()).rows.map((row) => row.key)).toEqual(['doc', 'only-in-2'])
    }
    const clock = await b.sync.flush()
    expect(clock).toEqual(await b.db.clock())
    const fresh = device(name, await a.db.exportKey())
    devices.push(fresh)
    await fresh.sync.ready
    expect((await fresh.db.get('doc')).version).toBe(2)
    expect((await (await fresh.db.at(clock)).get('only-in-2'))._id).toBe('only-in-2')
  } finally {
    for (const { db, sync } of devices) {
      await sync.close()
      await db.close()
    }
  }
})
