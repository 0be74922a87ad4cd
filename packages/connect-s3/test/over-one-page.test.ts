import { metaEntry } from '@proj/connector-tests'
import type { Connector, MetaEntry } from '@proj/core/connector'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { s3Connector, s3PresignedConnector } from '../src/index.js'
import { mapLimit } from '../src/keys.js'
import { createBucket, radosgw, randomName, signingServer, type Backend, type SigningServer } from './backends.js'

// S3 lists at most 1000 keys a page, and DeleteObjects and the signing handler take at most 1000 names a
// request. A branch with more entries than that (many devices saving without merging each other, until one
// device merges them all) must load whole, and the merging save must remove them all.
let backend: Backend
let bucket: string
let signer: SigningServer
beforeAll(async () => {
  backend = radosgw()
  bucket = await createBucket(backend.config)
  signer = await signingServer(backend.config, bucket, 'pages', 'allow-all')
})
afterAll(() => signer?.close())

const ENTRIES = 1_010

async function fillBranch(connector: Connector, db: string, branch: string): Promise<MetaEntry[]> {
  const entries = await Promise.all(Array.from({ length: ENTRIES }, (_, i) => metaEntry(new TextEncoder().encode(`writer ${i}`))))
  await mapLimit(entries, 16, (entry) => connector.save(db, branch, entry, []))
  return entries
}

const cids = (entries: MetaEntry[]) => entries.map((entry) => entry.cid).sort()

describe.each<[string, () => Connector]>([
  ['direct', () => s3Connector({ bucket, prefix: 'pages', s3: backend.config })],
  ['presigned', () => s3PresignedConnector({ signer: signer.url })],
])('%s mode, a branch of more than 1000 entries (radosgw)', (_mode, make) => {
  it('loads every entry, and one save replacing them all leaves only itself', async () => {
    const connector = make()
    const db = randomName('pages')
    try {
      const entries = await fillBranch(connector, db, 'main')
      expect(cids(await connector.load(db, 'main'))).toEqual(cids(entries))
      const merged = await metaEntry(new TextEncoder().encode('merged them all'))
      await connector.save(db, 'main', merged, entries.map((entry) => entry.cid))
      expect(cids(await connector.load(db, 'main'))).toEqual([merged.cid])
    } finally {
      await connector.close?.()
    }
  })
})
