import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, expect, inject, it } from 'vitest'
import { database, type Database, type Sync } from '@proj/core'
import { OptionError } from '@proj/core/kit'
import { metaEntry } from '@proj/connector-tests'
import { startPartykitDev, type PartykitDev } from '@proj/test-utils'
import { connect, partykitConnector, type PartykitStatus } from '../src/index.js'
import { freezableProxy, type FreezableProxy } from './freezable-proxy.js'

// The heartbeat against the real `partykit dev`, through a TCP proxy that can stop forwarding bytes without
// closing anything: the silent network loss that neither the OS nor the socket reports.

const host = inject('partykitHost')
const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..')
const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** The server as it was before `ping` (test/fixture/previous-server): it answers a ping 400 "unknown message type". */
let previousServer: PartykitDev
beforeAll(async () => {
  previousServer = await startPartykitDev({ cwd: packageDir, config: join(packageDir, 'test', 'fixture', 'previous-server', 'partykit.json') })
}, 120_000)
afterAll(async () => {
  await previousServer?.stop()
})

async function device(name: string, key?: string): Promise<Database> {
  const dir = await mkdtemp(join(tmpdir(), 'proj-partykit-heartbeat-'))
  const db = database(name, key === undefined ? { dir } : { dir, key })
  cleanups.push(async () => {
    await db.close()
    await rm(dir, { recursive: true, force: true })
  })
  return db
}

async function proxyTo(target: string): Promise<FreezableProxy> {
  const proxy = await freezableProxy(target)
  cleanups.push(() => proxy.stop())
  return proxy
}

function sync(db: Database, url: string, options: Parameters<typeof connect.partykit>[2] = {}): Sync {
  // Polling slow (its fallback is 10× this) and no call timeout shorter than the ack's: only the heartbeat
  // can notice the loss within the bounds below.
  const handle = connect.partykit(db, url, { pollInterval: 60_000, maxReconnectionDelay: 500, ...options })
  cleanups.push(() => handle.close())
  return handle
}

it('a bad heartbeat is an OptionError naming the value; 0 turns it off', async () => {
  for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, '5000', null]) {
    const call = () => partykitConnector(host, { heartbeat: bad as never })
    expect(call).toThrow(OptionError)
    expect(call).toThrow(/^partykitConnector: option heartbeat must be a number of ms >= 0 \(0: no heartbeat\), got /)
  }
  expect(() => partykitConnector(host, { heartbeat: '5000' as never })).toThrow('got the string "5000"')
  expect(() => connect.partykit(database(`hb-${crypto.randomUUID()}`, { storage: 'memory' }), host, { heartbeat: -1 })).toThrow(
    'option heartbeat must be a number of ms >= 0 (0: no heartbeat), got number -1',
  )
  await partykitConnector(host, { heartbeat: 0 }).close()
})

it('a frozen connection goes offline within the heartbeat, comes back when the network does, and loses no write', async () => {
  const name = `heartbeat-${crypto.randomUUID()}`
  const alice = await device(name)
  const bob = await device(name, await alice.exportKey())
  const proxy = await proxyTo(host)
  const aliceSync = sync(alice, proxy.url, { heartbeat: 500 })
  const bobSync = sync(bob, host)
  await Promise.all([aliceSync.ready, bobSync.ready])
  await alice.put({ _id: 'before', n: 1 })
  await aliceSync.flush()
  await expect.poll(() => bob.get('before').catch(() => undefined), { timeout: 20_000 }).toEqual({ _id: 'before', n: 1 })

  proxy.freeze()
  // Written on both sides while the network is silently gone: alice's save waits on a socket that looks open.
  await alice.put({ _id: 'from-alice', n: 2 })
  await bob.put({ _id: 'from-bob', n: 3 })
  await bobSync.flush()
  // Well under the save's 30 s ack timeout and the 600 s slow poll: only the heartbeat can report this.
  await expect.poll(() => aliceSync.status, { timeout: 10_000 }).toBe('offline')

  proxy.resume()
  await expect.poll(() => bob.get('from-alice').catch(() => undefined), { timeout: 30_000 }).toEqual({ _id: 'from-alice', n: 2 })
  await expect.poll(() => alice.get('from-bob').catch(() => undefined), { timeout: 30_000 }).toEqual({ _id: 'from-bob', n: 3 })
  await aliceSync.flush()
  expect(aliceSync.status).toBe('synced')
  expect(await alice.clock()).toEqual(await bob.clock())
}, 90_000)

it('a frozen connection with nothing to save is reported offline too (the socket alone notices)', async () => {
  const proxy = await proxyTo(host)
  const connector = partykitConnector(proxy.url, { heartbeat: 300, maxReconnectionDelay: 500 })
  cleanups.push(() => connector.close())
  const statuses: PartykitStatus[] = []
  connector.onStatus((status) => statuses.push(status))
  connector.subscribe(`hb-${crypto.randomUUID()}`, 'main', () => {})
  await expect.poll(() => connector.status, { timeout: 20_000 }).toBe('open')
  proxy.freeze()
  await expect.poll(() => connector.status, { timeout: 10_000 }).toBe('offline')
  proxy.resume()
  await expect.poll(() => connector.status, { timeout: 20_000 }).toBe('open')
  expect(statuses.slice(0, 3)).toEqual(['connecting', 'open', 'offline'])
  expect(statuses.at(-1)).toBe('open')
  // The reconnected socket has a heartbeat of its own: a second loss is found the same way.
  proxy.freeze()
  await expect.poll(() => connector.status, { timeout: 10_000 }).toBe('offline')
  proxy.resume()
  await expect.poll(() => connector.status, { timeout: 20_000 }).toBe('open')
}, 60_000)

it('a socket that keeps receiving sends no ping; it pings once the traffic stops', async () => {
  const { default: WebSocket } = await import('ws')
  const sent: string[] = []
  // The real `ws` socket, recording what the connector sends on it.
  class RecordingSocket extends WebSocket {
    override send(data: unknown, ...rest: unknown[]): void {
      sent.push(String(data))
      ;(super.send as (...args: unknown[]) => void)(data, ...rest)
    }
  }
  const db = `hb-${crypto.randomUUID()}`
  const listener = partykitConnector(host, { heartbeat: 2_000, WebSocket: RecordingSocket })
  const writer = partykitConnector(host)
  cleanups.push(() => listener.close(), () => writer.close())
  let pushes = 0
  listener.subscribe(db, 'main', () => pushes++)
  await expect.poll(() => listener.status, { timeout: 20_000 }).toBe('open')
  // Another client's saves reach the listener every ~100 ms, for longer than a heartbeat (30 × (100 ms + a save)).
  let previous: string[] = []
  for (let i = 0; i < 30; i++) {
    const entry = await metaEntry(new TextEncoder().encode(`save ${i}`))
    await writer.save(db, 'main', entry, previous)
    previous = [entry.cid]
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  await expect.poll(() => pushes).toBe(30)
  expect(sent.filter((message) => message.includes('"ping"'))).toEqual([])
  await expect.poll(() => sent.filter((message) => message.includes('"ping"')).length, { timeout: 10_000 }).toBeGreaterThan(0)
  expect(listener.status).toBe('open')
}, 60_000)

/** Holds a connection idle for `ms` and returns its statuses and the bytes that crossed the proxy meanwhile. */
async function idle(target: string, ms: number) {
  const proxy = await proxyTo(target)
  const connector = partykitConnector(proxy.url, { heartbeat: 750 })
  cleanups.push(() => connector.close())
  const statuses: PartykitStatus[] = []
  connector.onStatus((status) => statuses.push(status))
  connector.subscribe(`hb-${crypto.randomUUID()}`, 'main', () => {})
  await expect.poll(() => connector.status, { timeout: 20_000 }).toBe('open')
  const before = { sent: proxy.sent, received: proxy.received }
  await new Promise((resolve) => setTimeout(resolve, ms))
  return { statuses, sent: proxy.sent - before.sent, received: proxy.received - before.received }
}

it('an idle connection pings and is answered without flapping', async () => {
  const { statuses, sent, received } = await idle(host, 4_000)
  expect(statuses).toEqual(['connecting', 'open'])
  // Pings went out and answers came back (a websocket frame of a few bytes each way, several times).
  expect(sent).toBeGreaterThan(0)
  expect(received).toBeGreaterThan(0)
}, 60_000)

it('a server without pong support does not make the client flap: any message is a sign of life', async () => {
  const { statuses, sent, received } = await idle(previousServer.url, 4_000)
  expect(statuses).toEqual(['connecting', 'open'])
  expect(sent).toBeGreaterThan(0)
  expect(received).toBeGreaterThan(0)
}, 60_000)

it('the server answers a ping with a pong to that socket alone, without a token or a valid room', async () => {
  const { default: WebSocket } = await import('ws')
  const lockedHost = inject('lockedHost')
  const open = async (base: string, room: string) => {
    const socket = new WebSocket(`${base.replace(/^http/, 'ws')}/parties/main/${room}`)
    const messages: Record<string, unknown>[] = []
    socket.on('message', (data) => messages.push(JSON.parse(String(data)) as Record<string, unknown>))
    cleanups.push(async () => socket.terminate())
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject))
    await expect.poll(() => messages.some((m) => m.type === 'synced')).toBe(true)
    return { socket, messages }
  }
  const room = `hb-${crypto.randomUUID()}`
  // The locked server, no token: a reader may still check that its socket is alive.
  const pinger = await open(lockedHost, room)
  const other = await open(lockedHost, room)
  const badRoom = await open(host, encodeURIComponent('tab\there'))
  pinger.socket.send(JSON.stringify({ type: 'ping' }))
  badRoom.socket.send(JSON.stringify({ type: 'ping' }))
  await expect.poll(() => pinger.messages.at(-1)).toEqual({ type: 'pong' })
  await expect.poll(() => badRoom.messages.at(-1)).toEqual({ type: 'pong' })
  // A message sent after the ping and answered shows the other socket was not sent the pong.
  other.socket.send('not json')
  await expect.poll(() => other.messages.at(-1)).toMatchObject({ type: 'error', status: 400 })
  expect(other.messages.filter((m) => m.type === 'pong')).toEqual([])
})
