import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, expect, inject, it } from 'vitest'
import { database, type Database, type Sync } from '@proj/core'
import { connect } from '../src/index.js'

const host = inject('partykitHost')
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

function sync(db: Database): Sync {
  const handle = connect.partykit(db, host)
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
