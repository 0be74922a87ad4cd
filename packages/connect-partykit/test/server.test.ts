import { afterEach, describe, expect, inject, it } from 'vitest'
import { fileCid, metaEntry } from '@proj/connector-tests'
import { partykitConnector, PartykitError, type PartykitConnector } from '../src/index.js'
import { LOCKED_MAX_FILE_BYTES, LOCKED_TOKEN } from './global-setup.js'

const host = inject('partykitHost')
const lockedHost = inject('lockedHost')

const opened: PartykitConnector[] = []
const client = (...args: Parameters<typeof partykitConnector>) => {
  const connector = partykitConnector(...args)
  opened.push(connector)
  return connector
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((connector) => connector.close()))
})

const dbName = () => `db-${crypto.randomUUID()}`
const text = (s: string) => new TextEncoder().encode(s)

function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length)
  for (let offset = 0; offset < length; offset += 65_536) {
    crypto.getRandomValues(bytes.subarray(offset, Math.min(length, offset + 65_536)))
  }
  return bytes
}

async function rejection(promise: Promise<unknown>): Promise<PartykitError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(PartykitError)
  return error as PartykitError
}

describe('party server: files', () => {
  // 100 KiB chunks: an empty file, one exactly two chunks long, one with a partial last chunk, and 5 MB.
  for (const size of [0, 200 * 1024, 300 * 1024, 5 * 1024 * 1024]) {
    it(`round-trips a file of ${size} bytes through chunked room storage`, async () => {
      const connector = client(host)
      const db = dbName()
      const bytes = randomBytes(size)
      const cid = await fileCid(bytes)
      await connector.upload(db, cid, bytes)
      const back = await connector.download(db, cid)
      expect(back?.length).toBe(size)
      expect(Buffer.from(back!).equals(Buffer.from(bytes))).toBe(true)
    })
  }

  it('refuses bytes that do not hash to their CID with 400, and stores nothing', async () => {
    const connector = client(host)
    const db = dbName()
    const cid = await fileCid(text('the real bytes'))
    const error = await rejection(connector.upload(db, cid, text('other bytes')))
    expect(error.status).toBe(400)
    expect(error.message).toBe(`partykit: upload of ${cid} failed (400): CID ${cid} does not match the uploaded bytes`)
    expect(await connector.download(db, cid)).toBeUndefined()
  })

  it('refuses a name that is not a CIDv1 raw sha2-256 with 400', async () => {
    const connector = client(host)
    const response = await fetch(`${host}/parties/main/${dbName()}/data/not-a-cid`, { method: 'PUT', body: 'x' })
    expect(response.status).toBe(400)
    expect(await response.json()).toEqual({ error: 'invalid CID: not-a-cid' })
    // A dag-cbor CID (codec 0x71) names the same hash but not a raw file.
    const rawCid = await fileCid(text('x'))
    const { CID } = await import('multiformats/cid')
    const cbor = CID.create(1, 0x71, CID.parse(rawCid).multihash).toString()
    const error = await rejection(connector.upload(dbName(), cbor, text('x')))
    expect(error.status).toBe(400)
    expect(error.message).toContain('is not a CIDv1 with the raw codec and sha2-256')
  })

  it('answers a file over the limit with 413 (PROJ_MAX_FILE_BYTES)', async () => {
    const connector = client(lockedHost, { token: LOCKED_TOKEN })
    const bytes = randomBytes(LOCKED_MAX_FILE_BYTES + 1)
    const error = await rejection(connector.upload(dbName(), await fileCid(bytes), bytes))
    expect(error.status).toBe(413)
    expect(error.message).toContain(`exceeds the limit of ${LOCKED_MAX_FILE_BYTES} bytes`)
    const fits = randomBytes(LOCKED_MAX_FILE_BYTES)
    await connector.upload(dbName(), await fileCid(fits), fits)
  })

  it('answers unknown paths with 404 and unknown methods with 405', async () => {
    const room = `${host}/parties/main/${dbName()}`
    expect((await fetch(`${room}/elsewhere`)).status).toBe(404)
    expect((await fetch(`${room}/data/${await fileCid(text('a'))}`, { method: 'DELETE' })).status).toBe(405)
  })

  it('answers CORS preflights, so browser pages on other origins can upload', async () => {
    const response = await fetch(`${host}/parties/main/${dbName()}/data/${await fileCid(text('a'))}`, {
      method: 'OPTIONS',
      headers: { origin: 'http://example.test', 'access-control-request-method': 'PUT' },
    })
    expect(response.status).toBe(204)
    expect(response.headers.get('access-control-allow-origin')).toBe('*')
    expect(response.headers.get('access-control-allow-methods')).toContain('PUT')
    expect(response.headers.get('access-control-allow-headers')).toContain('authorization')
  })
})

describe('party server: token', () => {
  it('refuses writes without the token with 401 and keeps reads open', async () => {
    const db = dbName()
    const writer = client(lockedHost, { token: LOCKED_TOKEN })
    const anonymous = client(lockedHost)
    const wrong = client(lockedHost, { token: 'not-the-token' })
    const bytes = text('a file')
    const cid = await fileCid(bytes)

    for (const connector of [anonymous, wrong]) {
      const error = await rejection(connector.upload(db, cid, bytes))
      expect(error.status).toBe(401)
      expect(error.message).toBe(`partykit: upload of ${cid} failed (401): this room needs a token for writes`)
      const saveError = await rejection(connector.save(db, 'main', await metaEntry(text('meta')), []))
      expect(saveError.status).toBe(401)
      expect(saveError.message).toBe('partykit: save failed (401): this room needs a token for writes')
    }
    expect(await anonymous.download(db, cid)).toBeUndefined()
    expect(await anonymous.load(db, 'main')).toEqual([])

    await writer.upload(db, cid, bytes)
    const entry = await metaEntry(text('meta by the writer'))
    await writer.save(db, 'main', entry, [])
    expect(await anonymous.download(db, cid)).toEqual(bytes)
    expect((await anonymous.load(db, 'main')).map((e) => e.cid)).toEqual([entry.cid])
  })
})

describe('party server: meta', () => {
  it('refuses an entry whose bytes do not hash to its cid with 400', async () => {
    const connector = client(host)
    const db = dbName()
    const good = await metaEntry(text('meta'))
    const error = await rejection(connector.save(db, 'main', { cid: good.cid, bytes: text('tampered') }, []))
    expect(error.status).toBe(400)
    expect(error.message).toBe(`partykit: save failed (400): CID ${good.cid} does not match the uploaded bytes`)
    expect(await connector.load(db, 'main')).toEqual([])
  })

  it('refuses a meta entry over 64 KiB (PROJ_MAX_META_BYTES) with 413', async () => {
    const connector = client(host)
    const entry = await metaEntry(randomBytes(64 * 1024 + 1))
    const error = await rejection(connector.save(dbName(), 'main', entry, []))
    expect(error.status).toBe(413)
    expect(error.message).toBe(`partykit: save failed (413): meta entry of ${64 * 1024 + 1} bytes exceeds the limit of ${64 * 1024} bytes`)
  })

  it('keeps branches apart, including names with separators', async () => {
    const connector = client(host)
    const db = dbName()
    const a = await metaEntry(text('on main'))
    const b = await metaEntry(text('on main:x/y'))
    await connector.save(db, 'main', a, [])
    await connector.save(db, 'main:x/y', b, [])
    expect((await connector.load(db, 'main')).map((e) => e.cid)).toEqual([a.cid])
    expect((await connector.load(db, 'main:x/y')).map((e) => e.cid)).toEqual([b.cid])
  })

  it('pushes an entry save to other clients with the entries it replaced gone from a new subscription', async () => {
    const db = dbName()
    const writer = client(host)
    const reader = client(host)
    const e1 = await metaEntry(text('first'))
    const e2 = await metaEntry(text('second'))
    await writer.save(db, 'main', e1, [])
    const pushed: string[][] = []
    reader.subscribe(db, 'main', (entries) => pushed.push(entries.map((e) => e.cid)))
    await expect.poll(() => pushed.flat()).toContain(e1.cid)
    await writer.save(db, 'main', e2, [e1.cid])
    await expect.poll(() => pushed.at(-1)).toEqual([e2.cid])
    // A later subscription on the same client gets the current set from what was pushed: only e2.
    const late: string[][] = []
    reader.subscribe(db, 'main', (entries) => late.push(entries.map((e) => e.cid)))
    await expect.poll(() => late).toEqual([[e2.cid]])
    expect((await reader.load(db, 'main')).map((e) => e.cid)).toEqual([e2.cid])
  })

  it('uses one fixed room for every database when `room` is given', async () => {
    const room = dbName()
    const connector = client(host, { room })
    const bytes = text('in the shared room')
    const cid = await fileCid(bytes)
    await connector.upload('any-db', cid, bytes)
    expect(await client(host, { room }).download('another-db', cid)).toEqual(bytes)
    expect(await client(host).download(room, cid)).toEqual(bytes)
  })
})

describe('partykitConnector arguments', () => {
  it('throws TypeError naming a bad value', async () => {
    expect(() => partykitConnector('')).toThrow(new TypeError('partykit host must be a non-empty string: '))
    expect(() => partykitConnector(host, { room: '' })).toThrow(new TypeError('partykit option room must be a non-empty string: '))
    const connector = client(host)
    await expect(connector.upload('db', 'cid', 'text' as unknown as Uint8Array)).rejects.toThrow(
      new TypeError('upload bytes must be a Uint8Array: text'),
    )
    await expect(connector.load('', 'main')).rejects.toThrow(new TypeError('partykit db must be a non-empty string: '))
  })
})

describe('partykitConnector without a server', () => {
  it('reports offline while it retries, and close() ends a waiting save at once', async () => {
    // Port 9 (discard) on loopback: nothing listens, every attempt is refused.
    const connector = client('http://127.0.0.1:9', { timeout: 50_000, maxReconnectionDelay: 200 })
    const statuses: string[] = []
    connector.onStatus((status) => statuses.push(status))
    const saving = connector.save('db', 'main', await metaEntry(text('never stored')), [])
    await expect.poll(() => connector.status).toBe('offline')
    const failed = await rejection(connector.download('db', await fileCid(text('x'))))
    expect(failed.status).toBe(0)
    expect(failed.message).toMatch(/^partykit: download of \S+ failed: /)
    await connector.close()
    const error = await rejection(saving)
    expect(error.message).toBe('partykit: the connector was closed')
    expect(statuses).toEqual(['connecting', 'offline', 'closed'])
    await expect(connector.load('db', 'main')).rejects.toThrow('partykit: load of db/main: the connector is closed')
  })
})
