import { rm } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { database, type Clock, type Database, type Sync } from '@proj/core'
import { serveFromTempDir, type LoopbackServer } from '@proj/test-utils'
import { connect, type RawParams } from '../src/index.js'
import { createStoreServer } from '../src/server.js'

/**
 * The store is emptied and the device's next contact with it is a push (a write, with no pull in between:
 * polling off, or the wipe falls between two polls). The push must not save an entry naming files the store
 * lost, and flush() must not resolve with a clock no other device can read.
 */
let server: LoopbackServer & { dir: string }

beforeAll(async () => {
  server = await serveFromTempDir('proj-serve-push-wiped', (dir) => createStoreServer({ dir }))
})
afterAll(() => server.stop())

/**
 * How many documents a fresh device (the key and the store only) reads at `clock`. A file missing at the store
 * is retried for good (the writer may still upload it): the first error it reports is the answer here.
 */
async function readableAt(fresh: Database, clock: Clock): Promise<number> {
  const sync: Sync = connect.http(fresh, server.url, { pollInterval: 0 })
  const failed = new Promise<never>((_, reject) => sync.on('error', reject))
  try {
    await Promise.race([sync.ready, failed])
    return (await (await fresh.at(clock)).allDocs()).rows.length
  } finally {
    await sync.close()
  }
}

it('a write pushed to an emptied store (no pull in between): flush resolves with a clock a fresh device reads', async () => {
  const name = 'push-wiped'
  const db = database(name, { storage: 'memory', dir: `/push-wiped/a/${Math.random()}` })
  const sync = connect.http(db, server.url, { pollInterval: 0 })
  const fresh = database(name, { storage: 'memory', dir: `/push-wiped/b/${Math.random()}`, key: await db.exportKey() })
  try {
    await sync.ready
    await db.bulk(Array.from({ length: 20 }, (_, i) => ({ _id: `before-${i}`, text: 'x'.repeat(500) })))
    await sync.flush()
    await rm(join(server.dir, name), { recursive: true, force: true })
    await db.put({ _id: 'after', text: 'written after the wipe' })
    // The automatic push of that write reaches the store before anything else does.
    await expect.poll(() => existsSync(join(server.dir, name, 'meta', 'main.json'))).toBe(true)
    await expect.poll(() => sync.status).toBe('synced')
    const clock = await sync.flush()
    expect(await readableAt(fresh, clock)).toBe(21)
  } finally {
    await sync.close()
    await db.close()
    await fresh.close()
  }
})

it('connect.raw (no has() to ask): a write pushed to an emptied store gets everything uploaded again first', async () => {
  const objects = new Map<string, Uint8Array>()
  const objectName = ({ type, car, branch }: RawParams) => `${type}/${car ?? branch}`
  const fns = {
    upload: (bytes: Uint8Array, params: RawParams) => void objects.set(objectName(params), bytes.slice()),
    download: (params: RawParams) => objects.get(objectName(params))?.slice(),
  }
  const db = database('push-wiped-raw', { storage: 'memory', dir: `/push-wiped/raw/${Math.random()}` })
  const sync = connect.raw(db, fns, { pollInterval: 0 })
  const fresh = database('push-wiped-raw', { storage: 'memory', dir: `/push-wiped/raw-fresh/${Math.random()}`, key: await db.exportKey() })
  let freshSync: Sync | undefined
  try {
    await sync.ready
    for (let i = 0; i < 10; i++) await db.put({ _id: `before-${i}` })
    await sync.flush()
    objects.clear()
    await db.put({ _id: 'after' })
    await expect.poll(() => objects.has('meta/main')).toBe(true)
    await expect.poll(() => sync.status).toBe('synced')
    const clock = await sync.flush()
    freshSync = connect.raw(fresh, fns, { pollInterval: 0 })
    const failed = new Promise<never>((_, reject) => freshSync!.on('error', reject))
    await Promise.race([freshSync.ready, failed])
    expect((await (await fresh.at(clock)).allDocs()).rows.length).toBe(11)
  } finally {
    await freshSync?.close()
    await sync.close()
    await db.close()
    await fresh.close()
  }
})
