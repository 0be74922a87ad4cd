import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { database, type Database, type Sync, type SyncWarning } from '@proj/core'
import { fileCid } from '@proj/connector-tests'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { connect } from '../src/index.js'
import { createBucket, listKeys, radosgw, randomName, type Backend } from './backends.js'

// End to end through core: two devices replicate through connect.s3 (radosgw); a third, fresh device
// restores the whole database from the bucket and the key alone.
let backend: Backend
let bucket: string
let dir: string
beforeAll(async () => {
  backend = radosgw()
  bucket = await createBucket(backend.config)
  dir = await mkdtemp(join(tmpdir(), 'connect-s3-sync-'))
})
afterAll(() => rm(dir, { recursive: true, force: true }))

describe('connect.s3 end to end (radosgw)', () => {
  it('syncs two databases and restores a fresh device from the bucket', async () => {
    const name = randomName('todos')
    const target = { bucket, prefix: 'e2e', s3: backend.config }
    const opened: Array<{ db: Database; sync: Sync }> = []
    const open = async (device: string, key?: string) => {
      const db = database(name, { dir: join(dir, device), ...(key ? { key } : {}) })
      const sync = connect.s3(db, target, { pollInterval: 100 })
      opened.push({ db, sync })
      await sync.ready
      return { db, sync }
    }
    try {
      const a = await open('a')
      const key = await a.db.exportKey()
      const b = await open('b', key)

      // Sync polls every 100 ms; the message carries the sync's last error when the documents never arrive.
      const sees = (device: { db: Database; sync: Sync }, keys: string[]) =>
        vi.waitFor(
          async () => {
            const { status, lastError } = device.sync
            const why = `sync ${status}${lastError ? `: ${lastError.message}` : ''}`
            expect((await device.db.allDocs()).rows.map((r) => r.key), why).toEqual(keys)
          },
          { timeout: 15_000, interval: 100 },
        )
      await a.db.put({ _id: 'milk', title: 'milk', done: false })
      await a.sync.flush()
      await sees(b, ['milk'])
      await b.db.bulk([
        { _id: 'eggs', title: 'eggs', done: true },
        { _id: 'bread', title: 'bread', done: false },
      ])
      await b.sync.flush()
      await sees(a, ['bread', 'eggs', 'milk'])
      // Concurrent writes on both devices merge through the bucket's meta entries.
      await Promise.all([a.db.put({ _id: 'jam', title: 'jam', done: false }), b.db.del('eggs')])
      await Promise.all([a.sync.flush(), b.sync.flush()])
      await sees(a, ['bread', 'jam', 'milk'])
      await sees(b, ['bread', 'jam', 'milk'])
      await Promise.all([a.sync.flush(), b.sync.flush()])

      // A fresh device: empty local storage, only the bucket and the key.
      const c = await open('c', key)
      await sees(c, ['bread', 'jam', 'milk'])
      expect((await c.db.allDocs()).rows.map((r) => r.value)).toEqual([
        { _id: 'bread', title: 'bread', done: false },
        { _id: 'jam', title: 'jam', done: false },
        { _id: 'milk', title: 'milk', done: false },
      ])
      await expect(c.db.get('eggs')).rejects.toThrow(expect.objectContaining({ name: 'NotFoundError' }))

      // The bucket holds only CID-named files and meta entries of this database.
      const keys = await listKeys(backend.config, bucket, 'e2e/')
      expect(keys.some((k) => k.startsWith(`e2e/${name}/data/`))).toBe(true)
      expect(keys.some((k) => k.startsWith(`e2e/${name}/meta/`))).toBe(true)
      expect(keys.filter((k) => !new RegExp(`^e2e/${name}/(data|meta/[^/]+)/bafkrei[a-z2-7]{52}$`).test(k))).toEqual([])
    } finally {
      for (const { db, sync } of opened.reverse()) {
        await sync.close()
        await db.close()
      }
    }
  })
})

describe('a stranger writing to the bucket (radosgw)', () => {
  it('a meta object whose bytes do not hash to its name is skipped with a warning; the devices sync on', async () => {
    const name = randomName('todos')
    const target = { bucket, prefix: 'strangers', s3: backend.config }
    const a = database(name, { dir: join(dir, `${name}-a`) })
    const syncA = connect.s3(a, target, { pollInterval: 0 })
    const b = database(name, { dir: join(dir, `${name}-b`), key: await a.exportKey() })
    let syncB: Sync | undefined
    try {
      await a.put({ _id: 'milk', title: 'milk' })
      await syncA.flush()
      // Anyone with write access to the bucket can put any bytes under an entry's name (no checksum sent).
      const forged = await fileCid(new TextEncoder().encode('what the name promises'))
      const client = new S3Client(backend.config)
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: `strangers/${name}/meta/main/${forged}`, Body: new TextEncoder().encode('other bytes') }))
      client.destroy()

      syncB = connect.s3(b, target, { pollInterval: 0 })
      const warnings: SyncWarning[] = []
      syncB.on('warning', (warning) => warnings.push(warning))
      await syncB.ready
      expect(await b.get('milk')).toEqual({ _id: 'milk', title: 'milk' })
      expect(warnings.map(({ kind, cid }) => ({ kind, cid }))).toEqual([{ kind: 'unreadable-entry', cid: forged }])
      await b.put({ _id: 'eggs', title: 'eggs' })
      await syncB.flush()
      await syncA.refresh()
      expect(await a.get('eggs')).toEqual({ _id: 'eggs', title: 'eggs' })
    } finally {
      await syncB?.close()
      await syncA.close()
      await Promise.all([a.close(), b.close()])
    }
  })
})

