import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConnectorError, database, type Database, type Sync, type SyncOptions } from '@proj/core'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { closeServer, expectPermanentFailure, expectRetriedWhileOffline, listenOnLoopback } from '@proj/test-utils'
import { connect, type HttpOptions } from '../src/index.js'
import { createStoreServer, type StoreServerOptions } from '../src/server.js'

// proj-serve refusing a client: what retrying cannot fix reaches the application once, typed and named, and
// the local writes stay; a server that is away is retried until it is back.
const token = 'the-right-token-0123'
let dir: string

async function serve(options: Omit<StoreServerOptions, 'dir'>, port = 0): Promise<{ url: string; stop(): Promise<void> }> {
  const server = createStoreServer({ dir, ...options })
  return { url: await listenOnLoopback(server, port), stop: () => closeServer(server) }
}

let store: Awaited<ReturnType<typeof serve>>
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'proj-serve-errors-'))
  store = await serve({ token })
})
afterAll(async () => {
  await store.stop()
  await rm(dir, { recursive: true, force: true })
})

const opened: Array<{ db: Database; sync: Sync }> = []
afterEach(async () => {
  for (const { db, sync } of opened.splice(0)) {
    await sync.close()
    await db.close()
  }
})

let counter = 0
const name = () => `todos-${process.pid}-${counter++}`

/** A database with one local write, connected to `url`; records every error the sync reports. */
async function device(db: string, url: string, options: HttpOptions & SyncOptions = {}, key?: string) {
  const local = database(db, { storage: 'memory', ...(key ? { key } : {}) })
  await local.put({ _id: 'milk', title: 'milk' })
  const sync = connect.http(local, url, { pollInterval: 100, maxBackoff: 200, flushTimeout: 20_000, ...options })
  const errors: ConnectorError[] = []
  sync.on('error', (error) => errors.push(error))
  opened.push({ db: local, sync })
  return { db: local, sync, errors }
}

/** A fresh device with the key reads the write from the store alone. */
async function readsMilk(db: string, url: string, key: string) {
  const reader = database(db, { storage: 'memory', key })
  const sync = connect.http(reader, url)
  opened.push({ db: reader, sync })
  await sync.ready
  expect(await reader.get('milk')).toMatchObject({ title: 'milk' })
}

describe('permanent proj-serve failures', () => {
  for (const [label, given] of [
    ['no token', undefined],
    ['a wrong token', 'not-the-token-9876'],
  ] as const) {
    it(`${label}: flush rejects at once with AuthError naming the URL, never the token; the write is kept`, async () => {
      const db = name()
      const d = await device(db, store.url, given ? { token: given } : {})
      await d.sync.ready // reads are open: the store is readable without a token
      const error = await expectPermanentFailure(d)
      expect(error.cause).toMatchObject({ name: 'AuthError', permanent: true, status: 401 })
      expect(error.message).toMatch(
        new RegExp(`^Connector http failed to upload: http refused the credentials: upload ${store.url}/${db}/data/bafkrei\\w+ answered HTTP 401 \\(Missing or wrong token\\); check the token$`),
      )
      expect(error.message).not.toContain(token)
      if (given) expect(error.message).not.toContain(given)
      expect(d.sync.status).toBe('error')
      expect(d.errors[0]).toBe(error)
      expect(await d.db.get('milk')).toMatchObject({ title: 'milk' })

      // With the right token the same database pushes what it kept.
      await d.sync.close()
      const again = connect.http(d.db, store.url, { token })
      opened.push({ db: d.db, sync: again })
      await again.flush()
      await readsMilk(db, store.url, await d.db.exportKey())
    })
  }

  it('a file over the server limit: flush rejects with BackendConfigError (file too large)', async () => {
    const small = await serve({ token, maxBytes: 64 })
    try {
      const d = await device(name(), small.url, { token })
      const error = await expectPermanentFailure(d)
      expect(error.cause).toMatchObject({ name: 'BackendConfigError', status: 413 })
      expect(error.message).toContain('http: the file is larger than the store accepts: upload')
      expect(d.sync.status).toBe('error')
    } finally {
      await small.stop()
    }
  })

  it('a URL where no store answers writes: an empty read is a new database, the write is BackendConfigError', async () => {
    const d = await device(name(), `${store.url}/not/a-store`, { token })
    await d.sync.ready
    const error = await expectPermanentFailure(d, { once: false })
    expect(error.message).toContain(`http: no store at this URL: upload ${store.url}/not/a-store/`)
    expect(d.sync.status).toBe('error')
  })
})

describe('a URL that serves something else', () => {
  it('a web page where the listing should be: ready rejects at once with BackendConfigError naming the URL', async () => {
    // A site that answers every path with its index page (a single-page app's fallback), as if it were a store.
    const site = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' })
      res.end('<!doctype html><title>Not a store</title>')
    })
    const url = await listenOnLoopback(site)
    try {
      const db = name()
      const d = await device(db, url)
      const error = await expectPermanentFailure(d, { settle: 'ready' })
      expect(error.cause).toMatchObject({ name: 'BackendConfigError', permanent: true })
      // Then the JSON parser's own words, which vary with the Node version.
      expect(error.message).toContain(
        `Connector http failed to load: http: no store at this URL: load meta ${url}/${db}/meta/main.json answered HTTP 200 with text/html that is not a meta listing (`,
      )
    } finally {
      await closeServer(site)
    }
  })
})

describe('a name this store cannot hold', () => {
  it("a branch with '.' (core allows it, a listing <branch>.json could not be told apart): ready rejects at once", async () => {
    const d = await device(name(), store.url, { token, branch: 'release.1' })
    const error = await expectPermanentFailure(d, { settle: 'ready' })
    expect(error.message).toBe(`Connector http failed to load: branch name "release.1" must not contain '.' in this store (its listing would be <branch>.json)`)
    expect(error.cause).toBeInstanceOf(TypeError)
  })
})

describe('transient proj-serve failures', () => {
  it('a stopped server is offline and retried; ready resolves and flush succeeds once it is back', async () => {
    const away = await serve({ token })
    const { url } = away
    await away.stop()
    const db = name()
    const d = await device(db, url, { token })
    await expectRetriedWhileOffline(d)
    expect(d.errors[0]!.message).toContain(`failed to load: load meta ${url}/${db}/meta/main.json failed: fetch failed (ECONNREFUSED)`)

    const back = await serve({ token }, Number(new URL(url).port))
    try {
      await d.sync.ready
      await d.sync.flush()
      expect(d.sync.status).toBe('synced')
      await readsMilk(db, url, await d.db.exportKey())
    } finally {
      await back.stop()
    }
  })
})
