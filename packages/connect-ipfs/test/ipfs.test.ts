import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fileCid, MemoryConnector, metaEntry } from '@proj/connector-tests'
import { database } from '@proj/core'
import { CarBufferReader } from '@ipld/car/buffer-reader'
import { CID } from 'multiformats/cid'
import {
  connect,
  createSnapshot,
  ipfsConnector,
  ipfsFiles,
  parseShareLink,
  shareLink,
  snapshotConnector,
  type W3upClient,
} from '../src/index.js'
import { startW3up, type W3upBackend } from './w3up.js'

let backend: W3upBackend
let client: W3upClient
beforeAll(async () => {
  backend = await startW3up()
  client = await backend.client()
})
afterAll(async () => {
  await backend?.stop()
})

const text = (s: string) => new TextEncoder().encode(s)
const unique = (label: string) => text(`${label} ${crypto.randomUUID()}`)

describe('files through w3up and a trustless gateway', () => {
  it('stores the file as a raw block that the gateway serves by the file CID', async () => {
    const bytes = unique('raw block')
    const cid = await fileCid(bytes)
    await ipfsFiles({ client, gateway: backend.gateway }).upload('db', cid, bytes)
    const raw = await fetch(`${backend.gateway}/ipfs/${cid}?format=raw`)
    expect(raw.headers.get('content-type')).toBe('application/vnd.ipld.raw')
    expect(new Uint8Array(await raw.arrayBuffer())).toEqual(bytes)
    const car = CarBufferReader.fromBytes(new Uint8Array(await (await fetch(`${backend.gateway}/ipfs/${cid}?format=car`)).arrayBuffer()))
    expect(car.getRoots().map(String)).toEqual([cid])
    expect(car.blocks().map((b) => [b.cid.toString(), b.bytes])).toEqual([[cid, bytes]])
  })

  it('a missing cid downloads as undefined', async () => {
    const files = ipfsFiles({ client, gateway: backend.gateway })
    expect(await files.download('db', await fileCid(unique('never uploaded')))).toBeUndefined()
  })

  it('tries the gateways in order: one without the file, then one with it', async () => {
    const bytes = unique('second gateway')
    const cid = await fileCid(bytes)
    await ipfsFiles({ client, gateway: backend.gateway }).upload('db', cid, bytes)
    const empty = await backend.listen((_req, res) => res.writeHead(404).end())
    try {
      const files = ipfsFiles({ client, gateway: [empty.url, backend.gateway] })
      expect(await files.download('db', cid)).toEqual(bytes)
    } finally {
      await empty.close()
    }
  })

  it('a gateway that answers other bytes gives IntegrityError naming the cid', async () => {
    const cid = await fileCid(unique('the real file'))
    const liar = await backend.listen((_req, res) => res.writeHead(200).end('not the file'))
    try {
      const files = ipfsFiles({ client, gateway: liar.url })
      const error = await files.download('db', cid).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(Error)
      expect((error as Error).name).toBe('IntegrityError')
      expect((error as Error).message).toContain(cid)
    } finally {
      await liar.close()
    }
  })

  it('a lying gateway does not hide an honest one', async () => {
    const bytes = unique('honest')
    const cid = await fileCid(bytes)
    await ipfsFiles({ client, gateway: backend.gateway }).upload('db', cid, bytes)
    const liar = await backend.listen((_req, res) => res.writeHead(200).end('lies'))
    try {
      expect(await ipfsFiles({ client, gateway: [liar.url, backend.gateway] }).download('db', cid)).toEqual(bytes)
    } finally {
      await liar.close()
    }
  })

  it('a gateway that fails (500, or no server) throws instead of answering undefined', async () => {
    const cid = await fileCid(unique('failing gateway'))
    const broken = await backend.listen((_req, res) => res.writeHead(500).end())
    await expect(ipfsFiles({ client, gateway: broken.url }).download('db', cid)).rejects.toThrow(/500/)
    await broken.close()
    await expect(ipfsFiles({ client, gateway: broken.url }).download('db', cid)).rejects.toThrow(cid)
  })

  it('refuses to upload bytes that do not hash to the cid', async () => {
    const cid = await fileCid(unique('a'))
    const error = await ipfsFiles({ client, gateway: backend.gateway })
      .upload('db', cid, unique('b'))
      .catch((e: unknown) => e)
    expect((error as Error).name).toBe('IntegrityError')
    expect(await ipfsFiles({ client, gateway: backend.gateway }).download('db', cid)).toBeUndefined()
  })

  it('bad input is a TypeError naming the value', async () => {
    expect(() => ipfsFiles({ client, gateway: 'not a url' })).toThrow(new TypeError('Invalid gateway URL: "not a url"'))
    expect(() => ipfsFiles({ client, gateway: [] })).toThrow(TypeError)
    expect(() => ipfsFiles({ client: {} as W3upClient, gateway: backend.gateway })).toThrow(/Invalid client/)
    const files = ipfsFiles({ client, gateway: backend.gateway })
    await expect(files.download('db', 'bafy-nope')).rejects.toThrow(new TypeError('Invalid CID: "bafy-nope"'))
    const dagCborCid = CID.parse('bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy').toString()
    await expect(files.download('db', dagCborCid)).rejects.toThrow(/expected CIDv1, raw codec, sha2-256/)
  })
})

describe('ipfsConnector without a meta store', () => {
  it('moves files, loads no meta and rejects meta writes', async () => {
    const connector = ipfsConnector({ client, gateway: backend.gateway })
    expect(connector.name).toBe('ipfs')
    expect(await connector.load('db', 'main')).toEqual([])
    const entry = await metaEntry(unique('meta'))
    const error = await connector.save('db', 'main', entry, []).catch((e: unknown) => e)
    expect((error as Error).name).toBe('ReadOnlyError')
    expect((error as Error).message).toContain(entry.cid)
  })
})

describe('snapshots', () => {
  it('createSnapshot then snapshotConnector.load returns the same entries; writes are rejected', async () => {
    const entries = [await metaEntry(unique('head one')), await metaEntry(unique('head two'))]
    const file = unique('a data file')
    const fileName = await fileCid(file)
    const files = ipfsFiles({ client, gateway: backend.gateway })
    await files.upload('todos', fileName, file)
    const snapshot = await createSnapshot(files, entries)
    expect(snapshot).toMatch(/^bafkrei/)

    const reader = snapshotConnector({ gateway: backend.gateway, snapshot })
    expect(reader.name).toBe('ipfs-snapshot')
    const loaded = await reader.load('todos', 'main')
    expect(loaded.map((e) => [e.cid, e.bytes])).toEqual(entries.map((e) => [e.cid, e.bytes]))
    expect(await reader.download('todos', fileName)).toEqual(file)

    const entry = await metaEntry(unique('new head'))
    await expect(reader.save('todos', 'main', entry, [])).rejects.toMatchObject({ name: 'ReadOnlyError' })
    await expect(reader.upload('todos', entry.cid, entry.bytes)).rejects.toThrow(/read-only: cannot upload/)
  })

  it('a snapshot that is not on the gateway makes load throw, naming it', async () => {
    const snapshot = await fileCid(unique('no such snapshot'))
    await expect(snapshotConnector({ gateway: backend.gateway, snapshot }).load('db', 'main')).rejects.toThrow(
      `Snapshot ${snapshot} not found`,
    )
  })

  it('a file that is not a snapshot is refused', async () => {
    const bytes = unique('plain text')
    const cid = await fileCid(bytes)
    const files = ipfsFiles({ client, gateway: backend.gateway })
    await files.upload('db', cid, bytes)
    await expect(snapshotConnector({ gateway: backend.gateway, snapshot: cid }).load('db', 'main')).rejects.toThrow(
      `Invalid snapshot ${cid}`,
    )
  })
})

describe('connect.ipfs with a core database', () => {
  it('replicates through w3up + a meta half, then a second device opens a published snapshot', async () => {
    const name = `todos-${crypto.randomUUID()}`
    const meta = new MemoryConnector()
    // Memory databases with the same name and dir share storage: each device gets its own dir.
    const db = database(name, { storage: 'memory', dir: '/device-a' })
    const sync = connect.ipfs(db, { client, gateway: backend.gateway, meta }, { pollInterval: 0 })
    await sync.ready
    await db.put({ _id: 'a', title: 'milk' })
    await sync.flush()

    const snapshot = await createSnapshot(ipfsFiles({ client, gateway: backend.gateway }), await meta.load(name, 'main'))
    const link = parseShareLink(shareLink('https://app.example/open', { db: name, snapshot, key: await db.exportKey() }))
    await sync.close()
    await db.close()

    const copy = database(link.db!, { storage: 'memory', dir: '/device-b', key: link.key })
    const reader = connect.ipfs(copy, { gateway: backend.gateway, snapshot: link.snapshot! }, { pollInterval: 0 })
    await reader.ready
    expect(await copy.get('a')).toEqual({ _id: 'a', title: 'milk' })
    await reader.close()
    await copy.close()
  })

  it('sync.snapshot() publishes the state with no meta store; a reader with the key opens it read-only', async () => {
    const name = `notes-${crypto.randomUUID()}`
    const db = database(name, { storage: 'memory', dir: '/writer' })
    const sync = connect.ipfs(db, { client, gateway: backend.gateway }, { pollInterval: 0 })
    await sync.ready
    await db.bulk([{ _id: 'one', n: 1 }, { _id: 'two', n: 2 }])
    await db.put({ _id: 'one', n: 'uno' })
    const snapshot = await sync.snapshot()
    expect(snapshot).toMatch(/^bafkrei[a-z2-7]+$/)
    expect(sync.status).toBe('synced')

    const reader = database(name, { storage: 'memory', dir: '/reader', key: await db.exportKey() })
    const readSync = connect.ipfs(reader, { gateway: backend.gateway, snapshot }, { pollInterval: 0 })
    await readSync.ready
    expect((await reader.allDocs()).rows.map((row) => row.value)).toEqual([
      { _id: 'one', n: 'uno' },
      { _id: 'two', n: 2 },
    ])
    await readSync.close()
    await reader.close()
    await sync.close()
    await db.close()
  })
})

describe('shareLink', () => {
  it('puts the key in the fragment only', async () => {
    const key = await database('share', { storage: 'memory' }).exportKey()
    const link = shareLink('https://app.example/open', { db: 'todos', snapshot: 'bafkreiabc', key })
    const url = new URL(link)
    expect(url.search).toBe('?db=todos&snapshot=bafkreiabc')
    expect(url.hash).toBe(`#key=${key}`)
    expect(parseShareLink(link)).toEqual({ db: 'todos', snapshot: 'bafkreiabc', key })
  })

  it('rejects bad input with a TypeError naming the value', () => {
    expect(() => shareLink('nope', { db: 'a', snapshot: 'b', key: 'c' })).toThrow(new TypeError('shareLink(): Invalid base URL: "nope"'))
    expect(() => shareLink('https://x.example', { db: '', snapshot: 'b', key: 'c' })).toThrow(/Invalid db: ""/)
    expect(() => shareLink('https://x.example', { db: 'a', snapshot: 'b', key: '' })).toThrow(/Invalid key: an empty string/)
    // A link without a key parses (any page address does); the caller sees what is missing.
    expect(parseShareLink('https://x.example/?db=a&snapshot=b')).toEqual({ db: 'a', snapshot: 'b', key: undefined })
    expect(() => parseShareLink('https://x.example/?db=a#key=zcut')).toThrow(/the key in the link is mistyped or cut off/)
  })
})
