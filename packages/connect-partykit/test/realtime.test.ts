import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, expect, inject, it } from 'vitest'
import { database, type Database, type Sync } from '@proj/core'
import { connect, partykitConnector } from '../src/index.js'
import { LOCKED_TOKEN } from './global-setup.js'

const host = inject('partykitHost')
const lockedHost = inject('lockedHost')
const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** A database in a temp dir of its own, closed and removed after the test. */
async function device(name: string, key?: string): Promise<Database> {
  const dir = await mkdtemp(join(tmpdir(), 'proj-partykit-db-'))
  const db = database(name, key === undefined ? { dir } : { dir, key })
  cleanups.push(async () => {
    await db.close()
    await rm(dir, { recursive: true, force: true })
  })
  return db
}

/** Polling off: whatever reaches the other database came through the server's push. */
function sync(db: Database, options: Parameters<typeof connect.partykit>[2] = {}): Sync {
  const handle = connect.partykit(db, options.token ? lockedHost : host, { pollInterval: 0, ...options })
  cleanups.push(() => handle.close())
  return handle
}

it('two databases converge through connect.partykit, pushed in realtime', async () => {
  const name = `todos-${crypto.randomUUID()}`
  const alice = await device(name)
  await alice.put({ _id: 'a', title: 'milk', done: false })
  const bob = await device(name, await alice.exportKey())
  const aliceSync = sync(alice)
  const bobSync = sync(bob)
  await Promise.all([aliceSync.ready, bobSync.ready])
  await aliceSync.flush()

  // Bob gets Alice's document without asking: the server pushes her meta entry.
  await expect.poll(() => bob.get('a').catch(() => undefined), { timeout: 20_000 }).toEqual({
    _id: 'a',
    title: 'milk',
    done: false,
  })

  // Concurrent writes on both sides converge to the same state.
  await Promise.all([alice.put({ _id: 'b', title: 'eggs', done: false }), bob.put({ _id: 'a', title: 'milk', done: true })])
  await Promise.all([aliceSync.flush(), bobSync.flush()])
  const expected = [
    { key: 'a', value: { _id: 'a', title: 'milk', done: true } },
    { key: 'b', value: { _id: 'b', title: 'eggs', done: false } },
  ]
  const rows = async (db: Database) => (await db.allDocs()).rows.map(({ key, value }) => ({ key, value }))
  await expect.poll(() => rows(alice), { timeout: 20_000 }).toEqual(expected)
  await expect.poll(() => rows(bob), { timeout: 20_000 }).toEqual(expected)
  await expect.poll(async () => (await alice.clock()).sort(), { timeout: 20_000 }).toEqual((await bob.clock()).sort())
  expect(aliceSync.lastError).toBeUndefined()
  expect(bobSync.lastError).toBeUndefined()
})

it('syncs through a room with a token, and a database without the token cannot write there', async () => {
  const name = `locked-${crypto.randomUUID()}`
  const alice = await device(name)
  await alice.put({ _id: 'a', title: 'with token' })
  const aliceSync = sync(alice, { token: LOCKED_TOKEN })
  await aliceSync.flush()

  const bob = await device(name, await alice.exportKey())
  // The 401 rejects the flush at once; a short flushTimeout could expire first on a loaded machine.
  const bobSync = connect.partykit(bob, lockedHost, { flushTimeout: 20_000, maxBackoff: 200 })
  cleanups.push(() => bobSync.close())
  await bobSync.ready
  // Reads are open: Bob gets Alice's document; his own write is refused with 401.
  await expect.poll(() => bob.get('a').catch(() => undefined), { timeout: 20_000 }).toEqual({ _id: 'a', title: 'with token' })
  await bob.put({ _id: 'b', title: 'without token' })
  const error = await bobSync.flush().then(
    () => undefined,
    (e: unknown) => e as Error & { cause?: unknown },
  )
  expect(error?.name).toBe('ConnectorError')
  expect(error?.cause).toMatchObject({ name: 'AuthError', permanent: true, status: 401 })
  await expect(alice.get('b')).rejects.toMatchObject({ name: 'NotFoundError' })
})

it('one connector serving two databases: closing one database leaves the other syncing', async () => {
  // A connector serves every database it is given (one room each); it belongs to no single sync.
  const shared = partykitConnector(host, { timeout: 10_000 })
  cleanups.push(() => shared.close())
  const first = await device(`first-${crypto.randomUUID()}`)
  const second = await device(`second-${crypto.randomUUID()}`)
  const firstSync = first.connect(shared, { pollInterval: 0 })
  const secondSync = second.connect(shared, { pollInterval: 0, flushTimeout: 10_000 })
  await Promise.all([firstSync.ready, secondSync.ready])
  await firstSync.close()
  await second.put({ _id: 'after', title: 'written after the other database closed' })
  await secondSync.flush()
  const reader = await device(second.name, await second.exportKey())
  const readerSync = sync(reader)
  await readerSync.ready
  expect(await reader.get('after')).toEqual({ _id: 'after', title: 'written after the other database closed' })
})

it('a connector closed before it is connected: ready rejects at once naming it, status error, one error event', async () => {
  const closed = partykitConnector(host)
  await closed.close()
  const db = await device(`closed-${crypto.randomUUID()}`)
  const handle = db.connect(closed, { pollInterval: 0 })
  cleanups.push(() => handle.close())
  const errors: Error[] = []
  handle.on('error', (error) => errors.push(error))
  const error = await handle.ready.then(
    () => undefined,
    (e: unknown) => e as Error,
  )
  expect(error).toMatchObject({ name: 'ConnectorError', message: 'Connector partykit failed to subscribe: partykit: subscribe: the connector is closed' })
  expect(errors).toEqual([error])
  expect(handle.status).toBe('error')
})

it("a fixed room holds one database's meta: a second database through it is refused, never merged with the first", async () => {
  // The server keeps a room's meta entries per branch, not per database: two databases in one room would read
  // each other's entries (merged, when they share a key; KeyMismatchError otherwise).
  const room = `fixed-${crypto.randomUUID()}`
  const shared = partykitConnector(host, { room })
  cleanups.push(() => shared.close())
  const notes = await device(`notes-${crypto.randomUUID()}`)
  const notesSync = notes.connect(shared, { pollInterval: 0 })
  cleanups.push(() => notesSync.close())
  await notes.put({ _id: 'n1', title: 'a note' })
  await notesSync.flush()
  const tasks = await device(`tasks-${crypto.randomUUID()}`, await notes.exportKey())
  const tasksSync = tasks.connect(shared, { pollInterval: 0 })
  cleanups.push(() => tasksSync.close())
  const error = await tasksSync.ready.then(
    () => undefined,
    (e: unknown) => e as Error & { permanent?: boolean },
  )
  expect(error?.message).toContain(
    `database "${tasks.name}" cannot use room "${room}": it holds the meta of database "${notes.name}"`,
  )
  expect(error?.permanent).toBe(true)
  await expect(tasks.get('n1')).rejects.toMatchObject({ name: 'NotFoundError' })
  await notes.put({ _id: 'n2', title: 'another note' })
  await notesSync.flush()
})
