import { fileCid, runConnectorTests } from '@proj/connector-tests'
import { IntegrityError } from '@proj/core'
import { beforeAll, describe, expect, it } from 'vitest'
import { s3Connector } from '../src/index.js'
import { createBucket, listKeys, radosgw, type Backend } from './backends.js'

const CID_KEY = /^apps\/todo\/[^/]+\/(data|meta\/[^/]+)\/bafkrei[a-z2-7]{52}$/

let backend: Backend
let bucket: string
beforeAll(async () => {
  backend = radosgw()
  bucket = await createBucket(backend.config)
})

runConnectorTests('s3 (radosgw)', async () => {
  const make = () => s3Connector({ bucket, prefix: 'apps/todo/', s3: backend.config })
  return { connector: make(), peer: async () => make() }
}, { subscribe: false })

describe('s3 (radosgw) storage', () => {
  it('radosgw refuses bytes that do not hash to the CID they are uploaded under', async () => {
    const connector = s3Connector({ bucket, prefix: 'apps/todo', s3: backend.config })
    try {
      const bytes = new TextEncoder().encode('the real bytes')
      const claimed = await fileCid(new TextEncoder().encode('other bytes'))
      await expect(connector.upload('wrong-cid-db', claimed, bytes)).rejects.toThrow(
        /^s3 put apps\/todo\/wrong-cid-db\/data\/bafkrei\w+ failed: XAmzContentSHA256Mismatch 400/,
      )
      expect(await connector.download('wrong-cid-db', claimed)).toBeUndefined()
    } finally {
      await connector.close()
    }
  })

  it('never hands back stored bytes that do not hash to their CID', async () => {
    // Without the checksum the server stores anything; download still refuses it.
    const connector = s3Connector({ bucket, prefix: 'apps/todo', s3: backend.config, checksum: false })
    try {
      const claimed = await fileCid(new TextEncoder().encode('claimed'))
      await connector.upload('wrong-cid-db', claimed, new TextEncoder().encode('stored'))
      const error = await connector.download('wrong-cid-db', claimed).catch((e: unknown) => e)
      // Core's class, so sync treats it as permanent (never retried) like its own integrity failures.
      expect(error).toBeInstanceOf(IntegrityError)
      expect((error as Error).message).toBe(
        `Integrity check failed for ${claimed}: the bytes at s3://${bucket}/apps/todo/wrong-cid-db/data/${claimed} hash to ${await fileCid(new TextEncoder().encode('stored'))}`,
      )
    } finally {
      await connector.close()
    }
  })

  it('rejects invalid names with a TypeError naming the value', async () => {
    const connector = s3Connector({ bucket, prefix: 'apps/todo', s3: backend.config })
    await expect(connector.upload('db', 'not-a-cid', new Uint8Array(1))).rejects.toThrow(new TypeError('Invalid CID: "not-a-cid"'))
    await expect(connector.download('', await fileCid(new Uint8Array(1)))).rejects.toThrow(TypeError)
    await expect(connector.load('db', '..')).rejects.toThrow(`s3: branch name must be 1-128 letters, digits, '.', '_' or '-' (not starting with a symbol), got the string ".."`)
    expect(() => s3Connector({ bucket: '' })).toThrow('Invalid S3 bucket: ""')
    await connector.close()
  })

  // Last in this file: everything the tests above stored.
  it('leaves only CID-named objects under the prefix', async () => {
    const keys = await listKeys(backend.config, bucket)
    expect(keys.length).toBeGreaterThan(0)
    expect(keys.filter((key) => !CID_KEY.test(key))).toEqual([])
  })
})
