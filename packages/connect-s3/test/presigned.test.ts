import { S3Client } from '@aws-sdk/client-s3'
import { isPermanentError } from '@proj/core'
import { fileCid, metaEntry, runConnectorTests } from '@proj/connector-tests'
import { base58btc } from 'multiformats/bases/base58'
import { base32upper } from 'multiformats/bases/base32'
import { CID } from 'multiformats/cid'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { s3PresignedConnector } from '../src/index.js'
import { createSigningHandler, type SigningHandlerOptions } from '../src/server.js'
import { createBucket, listKeys, radosgw, signingServer, type Backend, type SigningServer } from './backends.js'

// Presigned-URL mode against radosgw: the connector holds no credentials; a real http server mounts
// createSigningHandler and answers with presigned URLs that the connector uses with fetch.
let backend: Backend
let bucket: string
let signer: SigningServer
let guarded: SigningServer
beforeAll(async () => {
  backend = radosgw()
  bucket = await createBucket(backend.config)
  signer = await signingServer(backend.config, bucket, 'browser', 'allow-all')
  guarded = await signingServer(backend.config, bucket, 'browser', (req, request) =>
    req.headers.authorization === 'Bearer ok' && request.db.startsWith('mine-'),
  )
})
afterAll(async () => {
  await signer?.close()
  await guarded?.close()
})

runConnectorTests('s3 presigned (radosgw)', async () => {
  const make = () => s3PresignedConnector({ signer: signer.url })
  return { connector: make(), peer: async () => make() }
}, { subscribe: false })

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })

describe('createSigningHandler', () => {
  it('answers 400 for names that are not CIDs or not path segments', async () => {
    const cid = await fileCid(new Uint8Array([1]))
    const bad = [
      { op: 'upload', db: 'db', cid: 'not-a-cid' },
      { op: 'download', db: 'db', cid: '../../other/key' },
      { op: 'download', db: '..', cid },
      { op: 'save', db: 'db', branch: 'main', cid, replaces: ['x'] },
      { op: 'load', db: 'db', branch: '' },
      { op: 'list', db: 'db' },
    ]
    for (const body of bad) {
      const res = await post(signer.url, body)
      expect(res.status, JSON.stringify(body)).toBe(400)
      expect((await res.json()).error).toMatch(/^(Invalid (CID|op): |s3: (database|branch) name must be 1-128 letters)/)
    }
    const notJson = await fetch(signer.url, { method: 'POST', body: '{' })
    expect(notJson.status).toBe(400)
    expect((await fetch(signer.url)).status).toBe(405)
  })

  it('answers 403 when authorize rejects, and signs when it allows', async () => {
    const cid = await fileCid(new Uint8Array([2]))
    expect((await post(guarded.url, { op: 'download', db: 'mine-a', cid })).status).toBe(403)
    expect((await post(guarded.url, { op: 'download', db: 'theirs', cid }, { authorization: 'Bearer ok' })).status).toBe(403)
    const ok = await post(guarded.url, { op: 'download', db: 'mine-a', cid }, { authorization: 'Bearer ok' })
    expect(ok.status).toBe(200)
    expect((await ok.json()).url).toMatch(/X-Amz-Signature=/)

    const refused = s3PresignedConnector({ signer: guarded.url })
    await expect(refused.download('mine-a', cid)).rejects.toThrow(/^s3 sign download failed: 403/)
    const allowed = s3PresignedConnector({ signer: guarded.url, headers: { authorization: 'Bearer ok' } })
    const bytes = new TextEncoder().encode('signed with a session')
    const named = await fileCid(bytes)
    await allowed.upload('mine-a', named, bytes)
    expect(await allowed.download('mine-a', named)).toEqual(bytes)
  })

  it('binds a presigned PUT to the CID: payload hash and checksum are signed headers', async () => {
    const bytes = new TextEncoder().encode('bound to its name')
    const cid = await fileCid(bytes)
    const res = await post(signer.url, { op: 'upload', db: 'db', cid })
    expect(res.status).toBe(200)
    const { url, headers } = (await res.json()) as { url: string; headers: Record<string, string> }
    const digest = CID.parse(cid).multihash.digest
    expect(headers).toEqual({
      'x-amz-checksum-sha256': Buffer.from(digest).toString('base64'),
      'x-amz-content-sha256': Buffer.from(digest).toString('hex'),
    })
    const signed = new URL(url).searchParams.get('X-Amz-SignedHeaders')?.split(';')
    expect(signed).toEqual(expect.arrayContaining(['host', 'x-amz-checksum-sha256', 'x-amz-content-sha256']))
    expect(new URL(url).pathname).toBe(`/${bucket}/browser/db/data/${cid}`)
  })

  it('signs URLs only for keys under the prefix, named by CIDs', async () => {
    const keys = await listKeys(backend.config, bucket)
    expect(keys.length).toBeGreaterThan(0)
    expect(keys.filter((k) => !/^browser\/[^/]+\/(data|meta\/[^/]+)\/bafkrei[a-z2-7]{52}$/.test(k))).toEqual([])
  })
})

describe('createSigningHandler: who may sign', () => {
  it('has no open default: without authorize it refuses to start, naming the option', () => {
    const client = new S3Client(backend.config)
    try {
      for (const authorize of [undefined, true, 'allow', 'yes']) {
        const options = { client, bucket, authorize } as unknown as SigningHandlerOptions
        expect(() => createSigningHandler(options), String(authorize)).toThrow(TypeError)
        expect(() => createSigningHandler(options)).toThrow(/^createSigningHandler needs authorize: .*'allow-all'/)
      }
    } finally {
      client.destroy()
    }
  })

  it('a caller the signer does not authorize cannot delete or replace the meta entries', async () => {
    const db = 'mine-meta'
    const owner = s3PresignedConnector({ signer: guarded.url, headers: { authorization: 'Bearer ok' } })
    const entry = await metaEntry(new TextEncoder().encode('the owner entry'))
    await owner.save(db, 'main', entry, [])
    const stranger = s3PresignedConnector({ signer: guarded.url })
    const forged = await metaEntry(new TextEncoder().encode('a stranger entry'))
    const refused = await stranger.save(db, 'main', forged, [entry.cid]).then(
      () => undefined,
      (error: unknown) => error,
    )
    expect((refused as Error).message).toMatch(/^s3 sign save failed: 403 /)
    // A refusal is permanent: sync reports it once instead of retrying it forever.
    expect(isPermanentError(refused)).toBe(true)
    expect((await owner.load(db, 'main')).map((e) => e.cid)).toEqual([entry.cid])
  })

  it('signs file uploads only for the canonical CIDv1 (raw, sha2-256) name of the bytes', async () => {
    const cid = CID.parse(await fileCid(new TextEncoder().encode('one name only')))
    const spellings = [
      cid.toString(base32upper), // same CID, upper-case base32
      cid.toString(base58btc), // same CID, base58btc
      CID.createV0(cid.multihash as Parameters<typeof CID.createV0>[0]).toString(), // CIDv0 of the same hash
      CID.create(1, 0x71, cid.multihash).toString(), // dag-cbor codec, same hash
    ]
    for (const name of spellings) {
      const res = await post(signer.url, { op: 'upload', db: 'db', cid: name })
      expect(res.status, name).toBe(400)
      expect((await res.json()).error).toContain(`Invalid CID: ${JSON.stringify(name)}`)
    }
  })

  it("keeps every signed key inside the prefix and the request's own database", async () => {
    const cid = await fileCid(new Uint8Array([7]))
    const replaces = [cid, await fileCid(new Uint8Array([8]))]
    // Names outside core's name rule (see checkName in @proj/core/kit) never become a key.
    for (const db of ['../other', 'a/b', '%2e%2e', 'x?y#z']) {
      const res = await post(signer.url, { op: 'save', db, branch: 'main', cid, replaces })
      expect(res.status, db).toBe(400)
      expect((await res.json()).error, db).toContain(`s3: database name must be 1-128 letters`)
    }
    const outside = await post(signer.url, { op: 'save', db: 'mine', branch: '../main', cid, replaces })
    expect(outside.status).toBe(400)
    const res = await post(signer.url, { op: 'save', db: 'mine', branch: 'main', cid, replaces })
    expect(res.status).toBe(200)
    const { put, delete: deletes } = (await res.json()) as { put: { url: string }; delete: Array<{ url: string }> }
    for (const url of [put.url, ...deletes.map((d) => d.url)]) {
      expect(new URL(url).pathname.startsWith(`/${bucket}/browser/mine/meta/main/bafkrei`), url).toBe(true)
    }
  })
})

describe('presigned uploads', () => {
  it('radosgw refuses bytes that do not hash to the CID the PUT was signed for', async () => {
    const claimed = await fileCid(new TextEncoder().encode('claimed bytes'))
    const connector = s3PresignedConnector({ signer: signer.url })
    await expect(connector.upload('db', claimed, new TextEncoder().encode('other bytes'))).rejects.toThrow(
      /^s3 put bafkrei\w+ failed: 400 .*XAmzContentSHA256Mismatch/,
    )
    expect(await connector.download('db', claimed)).toBeUndefined()
  })
})
