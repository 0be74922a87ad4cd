import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest'
import { fileCid, metaEntry } from '@proj/connector-tests'
import { base32upper } from 'multiformats/bases/base32'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import { partykitConnector, PartykitError, type PartykitConnector } from '../src/index.js'
import { MAX_NAME_LENGTH, roomToken } from '../src/server.js'
import { LOCKED_MAX_FILE_BYTES, LOCKED_TOKEN } from './global-setup.js'
import { startPartykit, type PartykitDev } from './partykit-dev.js'

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
    expect(error.message).toBe(
      `partykit: upload of ${cid} failed (400): Integrity check failed for ${cid}: the bytes at this upload hash to ${await fileCid(text('other bytes'))}`,
    )
    expect(await connector.download(db, cid)).toBeUndefined()
  })

  it('refuses a name that is not a CIDv1 raw sha2-256 with 400', async () => {
    const connector = client(host)
    const response = await fetch(`${host}/parties/main/${dbName()}/data/not-a-cid`, { method: 'PUT', body: 'x' })
    expect(response.status).toBe(400)
    expect(await response.json()).toEqual({ error: 'Invalid CID: "not-a-cid"' })
    // A dag-cbor CID (codec 0x71) names the same hash but not a raw file.
    const rawCid = await fileCid(text('x'))
    const { CID } = await import('multiformats/cid')
    const cbor = CID.create(1, 0x71, CID.parse(rawCid).multihash).toString()
    const error = await rejection(connector.upload(dbName(), cbor, text('x')))
    expect(error.status).toBe(400)
    expect(error.message).toContain(`Invalid CID: "${cbor}" (expected CIDv1, raw codec, sha2-256)`)
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
      // Refused credentials are core's AuthError (permanent), naming the room, never the token.
      const error = await connector.upload(db, cid, bytes).catch((e: unknown) => e)
      expect(error).toMatchObject({ name: 'AuthError', permanent: true, status: 401 })
      expect((error as Error).message).toContain(`upload of ${cid} in room "${db}" of party "main"`)
      expect((error as Error).message).toContain('failed (401): this room needs a token for writes')
      const saveError = await connector.save(db, 'main', await metaEntry(text('meta')), []).catch((e: unknown) => e)
      expect(saveError).toMatchObject({ name: 'AuthError', permanent: true, status: 401 })
      expect((saveError as Error).message).toContain(`save in room "${db}" of party "main"`)
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
    expect(error.message).toBe(
      `partykit: save failed (400): Integrity check failed for ${good.cid}: the bytes at this upload hash to ${await fileCid(text('tampered'))}`,
    )
    expect(await connector.load(db, 'main')).toEqual([])
  })

  it('refuses a meta entry over 64 KiB (PROJ_MAX_META_BYTES) with 413', async () => {
    const connector = client(host)
    const entry = await metaEntry(randomBytes(64 * 1024 + 1))
    const error = await rejection(connector.save(dbName(), 'main', entry, []))
    expect(error.status).toBe(413)
    expect(error.message).toBe(`partykit: save failed (413): meta entry of ${64 * 1024 + 1} bytes exceeds the limit of ${64 * 1024} bytes`)
  })

  it('keeps branches apart, including names that extend another (and refuses names outside core\'s rule)', async () => {
    const connector = client(host)
    const db = dbName()
    const a = await metaEntry(text('on main'))
    const b = await metaEntry(text('on main.x_y-z'))
    await connector.save(db, 'main', a, [])
    await connector.save(db, 'main.x_y-z', b, [])
    expect((await connector.load(db, 'main')).map((e) => e.cid)).toEqual([a.cid])
    expect((await connector.load(db, 'main.x_y-z')).map((e) => e.cid)).toEqual([b.cid])
    expect((await rejection(connector.save(db, 'main:x y%z', b, []))).status).toBe(400)
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

  // A URL path keeps ':', '|', '@', '&' as they are, and ends at '?' or '#'; the file and meta requests
  // escape them. One room name must be one room for the socket (saves) and for HTTP (loads, files).
  for (const mark of [':', '?', '#', '|', '@', '&', '%']) {
    it(`a fixed \`room\` with ${JSON.stringify(mark)} in its name is one room for saves, loads and files`, async () => {
      const prefix = dbName()
      const room = `${prefix}${mark}shared`
      const writer = client(host, { room, timeout: 10_000 })
      const entry = await metaEntry(text(`saved in ${room}`))
      await writer.save('any-db', 'main', entry, [])
      const bytes = text(`a file in ${room}`)
      const cid = await fileCid(bytes)
      await writer.upload('any-db', cid, bytes)
      const reader = client(host, { room, timeout: 10_000 })
      expect((await reader.load('any-db', 'main')).map((e) => e.cid)).toEqual([entry.cid])
      expect(await reader.download('any-db', cid)).toEqual(bytes)
      // Nothing landed in the room named by the part before the mark.
      expect(await client(host).load(prefix, 'main')).toEqual([])
    })
  }
})

/** One HTTP request; its status and the server's `error` text (JSON bodies). */
async function call(url: string, init: RequestInit = {}): Promise<{ status: number; error?: string }> {
  const response = await fetch(url, init)
  const text = await response.text()
  let error: string | undefined
  try {
    error = (JSON.parse(text) as { error?: string }).error
  } catch {
    error = undefined
  }
  return { status: response.status, ...(error !== undefined ? { error } : {}) }
}

/** Opens a websocket to `room` (a path segment, encoded as the caller likes), sends one save, returns the answer. */
async function wsSave(
  base: string,
  room: string,
  save: { branch: unknown; cid: string; bytes: Uint8Array; replaces?: unknown[] },
  token?: string,
): Promise<Record<string, unknown>> {
  const { default: WebSocket } = await import('ws')
  const query = token === undefined ? '' : `?token=${encodeURIComponent(token)}`
  const socket = new WebSocket(`${base.replace(/^http/, 'ws')}/parties/main/${room}${query}`)
  try {
    return await new Promise<Record<string, unknown>>((resolve, reject) => {
      socket.on('error', reject)
      socket.on('open', () =>
        socket.send(
          JSON.stringify({
            type: 'save',
            id: 'the-save',
            branch: save.branch,
            entry: { cid: save.cid, bytes: Buffer.from(save.bytes).toString('base64') },
            replaces: save.replaces ?? [],
          }),
        ),
      )
      socket.on('message', (data) => {
        const message = JSON.parse(String(data)) as Record<string, unknown>
        if (message.id === 'the-save') resolve(message)
      })
    })
  } finally {
    socket.close()
  }
}

/** Opens a websocket to `room`, sends `message` with id 'the-message', and returns the server's answer to it. */
async function wsMessage(base: string, room: string, message: Record<string, unknown>, token?: string): Promise<Record<string, unknown>> {
  const { default: WebSocket } = await import('ws')
  const query = token === undefined ? '' : `?token=${encodeURIComponent(token)}`
  const socket = new WebSocket(`${base.replace(/^http/, 'ws')}/parties/main/${room}${query}`)
  try {
    return await new Promise<Record<string, unknown>>((resolve, reject) => {
      socket.on('error', reject)
      socket.on('open', () => socket.send(JSON.stringify({ ...message, id: 'the-message' })))
      socket.on('message', (data) => {
        const answer = JSON.parse(String(data)) as Record<string, unknown>
        if (answer.id === 'the-message') resolve(answer)
      })
    })
  } finally {
    socket.close()
  }
}

describe('party server: small files as socket messages', () => {
  const fileMessage = (cid: string, bytes: Uint8Array) => ({ type: 'file', cid, bytes: Buffer.from(bytes).toString('base64') })

  it('stores a file sent as a message, as a PUT stores it', async () => {
    const room = dbName()
    const bytes = randomBytes(900)
    const cid = await fileCid(bytes)
    expect(await wsMessage(host, room, fileMessage(cid, bytes))).toEqual({ type: 'ack', id: 'the-message' })
    expect(await client(host).download(room, cid)).toEqual(bytes)
  })

  it('refuses bytes that do not hash to the CID (400), a file over 16 KiB (413), a write without the token (401); stores nothing', async () => {
    const room = dbName()
    const bytes = randomBytes(900)
    const cid = await fileCid(bytes)
    const wrong = await wsMessage(host, room, fileMessage(cid, randomBytes(900)))
    expect(wrong).toMatchObject({ type: 'error', status: 400 })
    const big = randomBytes(16 * 1024 + 1)
    const bigCid = await fileCid(big)
    expect(await wsMessage(host, room, fileMessage(bigCid, big))).toMatchObject({ type: 'error', status: 413 })
    expect(await wsMessage(lockedHost, room, fileMessage(cid, bytes))).toMatchObject({ type: 'error', status: 401 })
    expect(await client(host).download(room, cid)).toBeUndefined()
    expect(await client(host).download(room, bigCid)).toBeUndefined()
    expect(await client(lockedHost).download(room, cid)).toBeUndefined()
  })
})

describe('party server: names', () => {
  const tooLong = 'x'.repeat(MAX_NAME_LENGTH + 1)
  const huge = 'b'.repeat(100_000)
  const badNames = ['../../x', '..', 'a/b', 'a\\b', 'tab\there', 'nul\u0000', 'c1\u0085', tooLong, huge]
  // Branch names follow core's one rule (checkName in @proj/core/kit); room names are the server's own.
  const branchProblem = /^branch name must be 1-128 letters, digits, '\.', '_' or '-' \(not starting with a symbol\), got the string ".*"$/
  const problem = /^(room|branch) name (".*"|"[^"]*…") (must not contain \/ or \\ nor be \. or \.\.|contains a control character or a lone surrogate|is \d+ characters long; the limit is 128)$/

  it('refuses a bad branch name with 400 and a message naming it (GET meta and websocket save)', async () => {
    const room = dbName()
    const entry = await metaEntry(text('never stored'))
    for (const branch of [...badNames, 'lone\ud800']) {
      const shown = JSON.stringify(branch.slice(0, 20))
      // fetch cannot send a lone surrogate, nor '..' as a segment (URLs resolve it): those go by websocket only.
      if (branch !== 'lone\ud800' && branch !== '..') {
        const loaded = await call(`${host}/parties/main/${room}/meta/${encodeURIComponent(branch)}`)
        expect(loaded.status, shown).toBe(400)
        expect(loaded.error, shown).toMatch(branchProblem)
      }
      const saved = await wsSave(host, room, { branch, ...entry })
      expect(saved.status, shown).toBe(400)
      expect(saved.message, shown).toMatch(branchProblem)
    }
    expect((await call(`${host}/parties/main/${room}/meta/${huge}`)).error).toBe(
      `branch name must be 1-128 letters, digits, '.', '_' or '-' (not starting with a symbol), got the string "${'b'.repeat(40)}…"`,
    )
    expect(await wsSave(host, room, { branch: '', ...entry })).toMatchObject({ status: 400, message: `branch name must be 1-128 letters, digits, '.', '_' or '-' (not starting with a symbol), got the string ""` })
    // The longest accepted name works.
    const longest = 'y'.repeat(MAX_NAME_LENGTH)
    expect(await wsSave(host, room, { branch: longest, ...entry })).toEqual({ type: 'ack', id: 'the-save' })
    expect((await client(host).load(room, longest)).map((e) => e.cid)).toEqual([entry.cid])
  })

  it('refuses a bad room name with 400 for files, loads and saves', async () => {
    const bytes = text('nowhere')
    const cid = await fileCid(bytes)
    const entry = await metaEntry(text('nowhere either'))
    for (const name of badNames.filter((n) => n !== '..')) {
      const room = encodeURIComponent(name)
      const shown = JSON.stringify(name.slice(0, 20))
      for (const [method, path, body] of [
        ['PUT', `data/${cid}`, bytes],
        ['GET', `data/${cid}`, undefined],
        ['GET', 'meta/main', undefined],
      ] as const) {
        const answer = await call(`${host}/parties/main/${room}/${path}`, { method, ...(body ? { body } : {}) })
        expect(answer.status, `${method} ${path} in ${shown}`).toBe(400)
        expect(answer.error, shown).toMatch(problem)
      }
      if (name.length < 1000) {
        const saved = await wsSave(host, room, { branch: 'main', ...entry })
        expect(saved.status, shown).toBe(400)
        expect(saved.message, shown).toMatch(problem)
      }
    }
    const malformed = await call(`${host}/parties/main/bad%E0%A4%A/meta/main`)
    expect(malformed).toEqual({ status: 400, error: 'room name "bad%E0%A4%A" has an invalid percent-encoding' })
  })
})

describe('party server: one name per file', () => {
  it('refuses another spelling of a CID with 400, so no second copy is stored', async () => {
    const room = `${host}/parties/main/${dbName()}`
    const bytes = text('stored once')
    const canonical = await fileCid(bytes)
    const parsed = CID.parse(canonical)
    for (const spelling of [parsed.toString(base32upper), parsed.toString(base58btc)]) {
      const put = await call(`${room}/data/${spelling}`, { method: 'PUT', body: bytes })
      expect(put, spelling).toEqual({ status: 400, error: `Invalid CID: "${spelling}" (not in its canonical form ${canonical})` })
      expect((await call(`${room}/data/${spelling}`)).status).toBe(400)
      const saved = await wsSave(host, room.split('/').at(-1)!, { branch: 'main', cid: spelling, bytes })
      expect(saved).toMatchObject({ status: 400, message: `Invalid CID: "${spelling}" (not in its canonical form ${canonical})` })
    }
    const v0 = CID.createV0(parsed.multihash as Parameters<typeof CID.createV0>[0]).toString()
    expect(await call(`${room}/data/${v0}`, { method: 'PUT', body: bytes })).toEqual({
      status: 400,
      error: `Invalid CID: "${v0}" (expected CIDv1, raw codec, sha2-256)`,
    })
    expect((await call(`${room}/data/${canonical}`)).status).toBe(404)
    expect((await call(`${room}/meta/main`)).status).toBe(200)
    expect(await (await fetch(`${room}/meta/main`)).json()).toEqual({ entries: [] })
    expect((await call(`${room}/data/${canonical}`, { method: 'PUT', body: bytes })).status).toBe(204)
    expect(new Uint8Array(await (await fetch(`${room}/data/${canonical}`)).arrayBuffer())).toEqual(bytes)
  })

  it('refuses replaces that are not canonical CIDs with 400', async () => {
    const entry = await metaEntry(text('replacing'))
    const answer = await wsSave(host, dbName(), { branch: 'main', ...entry, replaces: ['../../file:x'] })
    expect(answer).toMatchObject({ status: 400, message: 'Invalid CID: "../../file:x"' })
  })
})

describe('party server: a token per room (PROJ_TOKEN_SECRET)', () => {
  const secret = 'per-room-secret-for-the-test'
  let server: PartykitDev
  beforeAll(async () => {
    server = await startPartykit({ PROJ_TOKEN_SECRET: secret })
  })
  afterAll(async () => {
    await server?.stop()
  })

  it("accepts a room's token in that room and refuses it (401) in every other room", async () => {
    const roomA = dbName()
    const roomB = dbName()
    const tokenA = await roomToken(secret, roomA)
    const bytes = text('written to room A')
    const cid = await fileCid(bytes)
    const entry = await metaEntry(text('meta of room A'))
    const put = (room: string, token?: string) =>
      call(`${server.url}/parties/main/${room}/data/${cid}`, {
        method: 'PUT',
        body: bytes,
        ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
      })

    expect(await put(roomA, tokenA)).toEqual({ status: 204 })
    expect(await wsSave(server.url, roomA, { branch: 'main', ...entry }, tokenA)).toEqual({ type: 'ack', id: 'the-save' })
    for (const token of [tokenA, undefined, secret, await roomToken('another secret', roomB)]) {
      expect(await put(roomB, token)).toEqual({ status: 401, error: 'this room needs a token for writes' })
      expect(await wsSave(server.url, roomB, { branch: 'main', ...entry }, token)).toMatchObject({ status: 401 })
    }
    expect((await call(`${server.url}/parties/main/${roomB}/data/${cid}`)).status).toBe(404)
    // Room B's own token opens room B; the connector with room A's token writes to A only.
    expect(await put(roomB, await roomToken(secret, roomB))).toEqual({ status: 204 })
    const inA = client(server.url, { token: tokenA })
    await inA.save(roomA, 'main', await metaEntry(text('through the connector')), [entry.cid])
    await expect(inA.save(roomB, 'main', entry, [])).rejects.toThrow(/\(401\)/)
  })

  it('derives the token from the room name as the connector names it (a fixed `room` with spaces)', async () => {
    const room = `shared room ${crypto.randomUUID()}`
    const connector = client(server.url, { room, token: await roomToken(secret, room) })
    const entry = await metaEntry(text('in a named room'))
    await connector.save('any-db', 'main', entry, [])
    await connector.upload('any-db', await fileCid(text('a file')), text('a file'))
    expect((await client(server.url, { room }).load('any-db', 'main')).map((e) => e.cid)).toEqual([entry.cid])
  })

  it('roomToken refuses an empty secret or room', async () => {
    await expect(roomToken('', 'a')).rejects.toThrow(new TypeError('roomToken needs a non-empty secret string'))
    await expect(roomToken('s', '')).rejects.toThrow(new TypeError('roomToken needs a non-empty room name, got ""'))
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
