import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ConnectorError, database, type Database } from '@proj/core'
import { metaEntry } from '@proj/connector-tests'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { expectPermanentFailure } from '@proj/test-utils'
import { connect, partykitConnector } from '../src/index.js'
import { LOCKED_TOKEN } from './global-setup.js'

// A room that refuses this client's credentials: the refusal reaches the application once, as core's
// AuthError naming the room, and the local writes stay.
const lockedHost = inject('lockedHost')
const hostName = lockedHost.replace(/^https?:\/\//, '')
const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function device(name: string, key?: string): Database {
  const db = database(name, { storage: 'memory', ...(key ? { key } : {}) })
  cleanups.push(() => db.close())
  return db
}

function syncOf(db: Database, host: string, token?: string) {
  const sync = connect.partykit(db, host, { token, maxBackoff: 200, flushTimeout: 20_000 })
  cleanups.push(() => sync.close())
  const errors: ConnectorError[] = []
  sync.on('error', (error) => errors.push(error))
  return { sync, errors }
}

describe('partykit dev refusing the token', () => {
  it('a wrong token: flush rejects at once with AuthError naming the room, never the token; the write is kept', async () => {
    const room = `errors-${crypto.randomUUID()}`
    const wrong = 'not-the-room-token-42'
    const db = device(room)
    await db.put({ _id: 'milk', title: 'milk' })
    const d = syncOf(db, lockedHost, wrong)
    await d.sync.ready // reads are open: everything stored is encrypted
    const error = await expectPermanentFailure(d)
    expect(error.cause).toMatchObject({ name: 'AuthError', permanent: true, status: 401 })
    expect(error.message).toMatch(
      new RegExp(
        `^Connector partykit failed to upload: partykit refused the credentials: upload of bafkrei\\w+ in room "${room}" of party "main" at ${hostName} failed \\(401\\): `,
      ),
    )
    expect(error.message).not.toContain(wrong)
    expect(error.message).not.toContain(LOCKED_TOKEN)
    expect(d.sync.status).toBe('error')
    expect(d.errors[0]).toBe(error)
    expect(await db.get('milk')).toMatchObject({ title: 'milk' })

    // With the right token the same database pushes what it kept; a fresh device reads it from the room.
    await d.sync.close()
    await syncOf(db, lockedHost, LOCKED_TOKEN).sync.flush()
    const reader = device(room, await db.exportKey())
    await syncOf(reader, lockedHost).sync.ready
    expect(await reader.get('milk')).toMatchObject({ title: 'milk' })
  })

  it('a save on the websocket with a wrong token is AuthError too', async () => {
    const room = `errors-${crypto.randomUUID()}`
    const connector = partykitConnector(lockedHost, { token: 'wrong-token-7' })
    cleanups.push(() => connector.close())
    const error = await connector.save(room, 'main', await metaEntry(new TextEncoder().encode('x')), []).catch((e: unknown) => e)
    expect(error).toMatchObject({ name: 'AuthError', permanent: true, status: 401 })
    expect((error as Error).message).toBe(
      `partykit refused the credentials: save in room "${room}" of party "main" at ${hostName} failed (401): this room needs a token for writes`,
    )
  })
})

/**
 * An auth proxy in front of the real party server (as a gateway would be) that refuses every websocket
 * upgrade with `status` and forwards plain HTTP: the client must not retry a refused socket forever.
 */
async function refusingProxy(target: string, status: number): Promise<{ host: string; upgrades(): number; close(): Promise<void> }> {
  const upstream = new URL(target)
  let upgrades = 0
  const server: Server = createServer((req, res) => {
    const forwarded = request(
      { hostname: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      },
    )
    forwarded.on('error', () => res.writeHead(502).end())
    req.pipe(forwarded)
  })
  server.on('upgrade', (_req, socket) => {
    upgrades++
    socket.end(`HTTP/1.1 ${status} Refused\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    host: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    upgrades: () => upgrades,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

describe('a websocket refused before it opens', () => {
  it('401 on the upgrade: the save rejects with AuthError after one attempt, and flush rejects', async () => {
    const proxy = await refusingProxy(lockedHost, 401)
    cleanups.push(() => proxy.close())
    const room = `errors-${crypto.randomUUID()}`
    const db = device(room)
    await db.put({ _id: 'milk', title: 'milk' })
    const d = syncOf(db, proxy.host, LOCKED_TOKEN)
    await d.sync.ready
    const error = await expectPermanentFailure(d, { once: false })
    expect(error.message).toContain(`partykit refused the credentials: websocket to room "${room}" of party "main" at ${proxy.host.slice(7)} refused (401)`)
    expect(proxy.upgrades()).toBe(1)
    expect(d.sync.status).toBe('error')
    expect(await db.get('milk')).toMatchObject({ title: 'milk' })
  })

  it('a 503 on the upgrade stays transient: the socket keeps retrying', async () => {
    const proxy = await refusingProxy(lockedHost, 503)
    cleanups.push(() => proxy.close())
    const connector = partykitConnector(proxy.host, { token: LOCKED_TOKEN, timeout: 60_000 })
    cleanups.push(() => connector.close())
    const save = connector.save(`errors-${crypto.randomUUID()}`, 'main', await metaEntry(new TextEncoder().encode('y')), [])
    save.catch(() => {})
    await expect.poll(() => proxy.upgrades(), { timeout: 20_000 }).toBeGreaterThanOrEqual(3)
    expect(connector.status).toBe('offline')
  })
})

describe('a host that is no party', () => {
  it('a web page where the meta should be: ready rejects at once with BackendConfigError naming the room and host', async () => {
    // A site that answers every path with its index page (a single-page app's fallback).
    const site = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' })
      res.end('<!doctype html><title>Not a party</title>')
    })
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve))
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          site.closeAllConnections()
          site.close(() => resolve())
        }),
    )
    const host = `127.0.0.1:${(site.address() as AddressInfo).port}`
    const room = `errors-${crypto.randomUUID()}`
    const d = syncOf(device(room), `http://${host}`)
    const error = await expectPermanentFailure(d, { settle: 'ready', once: false })
    expect(error.cause).toMatchObject({ name: 'BackendConfigError', permanent: true })
    expect(error.message).toContain(
      `Connector partykit failed to load: partykit: no party serves this path: load of ${room}/main in room "${room}" of party "main" at ${host} answered 200 with text/html that is not a meta listing (`,
    )
  })
})
