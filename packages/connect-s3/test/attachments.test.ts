// Attachments end to end through connect.s3 against radosgw: a 5 MB file put on device A is read on a fresh
// device B (file() and stream()); a byte flipped in a stored chunk object is an IntegrityError on B.
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { database, IntegrityError, isPermanentError, type Attachment, type Database, type Sync } from '@proj/core'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { expectAttachmentReadsBack, seededBytes } from '@proj/test-utils'
import { connect } from '../src/index.js'
import { createBucket, listKeys, radosgw, randomName, type Backend } from './backends.js'

const MiB = 1 << 20
const prefix = 'attachments'
let backend: Backend
let bucket: string
let dir: string
const cleanups: (() => Promise<unknown>)[] = []
beforeAll(async () => {
  backend = radosgw()
  bucket = await createBucket(backend.config)
  dir = await mkdtemp(join(tmpdir(), 'connect-s3-attachments-'))
})
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})
afterAll(() => rm(dir, { recursive: true, force: true }))


/** A database in a folder of its own, synced through connect.s3; closed after the test. */
async function device(name: string, folder: string, key?: string): Promise<{ db: Database; sync: Sync }> {
  const db = database(name, { dir: join(dir, folder), ...(key ? { key } : {}) })
  const sync = connect.s3(db, { bucket, prefix, s3: backend.config }, { pollInterval: 0, flushTimeout: 30_000 })
  cleanups.push(() => db.close(), () => sync.close())
  await sync.ready
  return { db, sync }
}

const attachment = async (db: Database, id: string, name: string) =>
  ((await db.get(id))._files as Record<string, Attachment>)[name]!

/** The data objects of database `name` larger than half a chunk: the attachment's chunk files. */
async function chunkObjects(name: string): Promise<string[]> {
  const client = new S3Client(backend.config)
  try {
    const keys = (await listKeys(backend.config, bucket, `${prefix}/${name}/data/`))
    const big: string[] = []
    for (const key of keys) {
      const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
      if ((out.ContentLength ?? 0) > MiB / 2) big.push(key)
      await out.Body?.transformToByteArray()
    }
    return big
  } finally {
    client.destroy()
  }
}

describe('attachments through connect.s3 (radosgw)', () => {
  it('a 5 MB file put on A is read whole and streamed on a fresh device B', async () => {
    const name = randomName('photos')
    const a = await device(name, `${name}-a`)
    const data = seededBytes(5 * MiB + 77, 1)
    await a.db.put({ _id: 'clip', _files: { 'clip.mp4': new File([data as BlobPart], 'x', { type: 'video/mp4' }) } })
    await a.sync.flush()
    // One chunk object per whole MiB went up with the document (the 77 bytes left make a small one).
    expect(await chunkObjects(name)).toHaveLength(5)

    const b = await device(name, `${name}-b`, await a.db.exportKey())
    await b.sync.refresh()
    const clip = await attachment(b.db, 'clip', 'clip.mp4')
    await expectAttachmentReadsBack(clip, data, 'video/mp4', [MiB, MiB, MiB, MiB, MiB, 77])
  })

  it('a byte flipped in a chunk object in the bucket is refused on B with an IntegrityError', async () => {
    const name = randomName('flip')
    const a = await device(name, `${name}-a`)
    await a.db.put({ _id: 'p', _files: { 'a.bin': { data: seededBytes(2 * MiB, 2), type: 'application/x' } } })
    await a.sync.flush()
    const [chunk] = await chunkObjects(name)
    const client = new S3Client(backend.config)
    try {
      const stored = await (await client.send(new GetObjectCommand({ Bucket: bucket, Key: chunk! }))).Body!.transformToByteArray()
      stored[stored.length >> 1]! ^= 0x01
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: chunk!, Body: stored }))
    } finally {
      client.destroy()
    }

    const b = await device(name, `${name}-b`, await a.db.exportKey())
    await b.sync.refresh()
    const failure = await (await attachment(b.db, 'p', 'a.bin')).file().catch((e: unknown) => e)
    // The connector refuses the bytes before core sees them; file() rejects with that IntegrityError, as it
    // does when core catches the bad bytes itself (PartyKit), and the sync reports it (permanent).
    expect(failure).toBeInstanceOf(IntegrityError)
    expect(isPermanentError(failure)).toBe(true)
    expect((failure as Error).message).toContain(chunk!.split("/").pop())
  })
})
