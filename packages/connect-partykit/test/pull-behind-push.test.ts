import { afterEach, expect, inject, it } from 'vitest'
import { database, type Database, type Sync } from '@proj/core'
import type { Connector } from '@proj/core/connector'
import { connect, partykitConnector } from '../src/index.js'

// Through the real `partykit dev`: a pull whose listing was read before the server pushed a newer entry, and
// that is answered after the push was merged, is older than what the device knows. Taken as current, it made a
// device that only follows another see its clock missing from the backend and save it back (every other
// device then opens and merges an entry it has).

const host = inject('partykitHost')
const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function device(name: string, key?: string): Database {
  const db = database(name, { storage: 'memory', dir: `/pull-behind-push/${Math.random()}`, ...(key ? { key } : {}) })
  cleanups.push(() => db.close())
  return db
}

it('a follower whose pull is answered after a newer push saves nothing back', async () => {
  const name = `pull-behind-push-${crypto.randomUUID()}`
  const a = device(name)
  const b = device(name, await a.exportKey())
  const saves: string[] = []
  /** The next meta GET of B: read now, its answer held until the test releases it. */
  let holdNextLoad: { reached: () => void; release: Promise<void> } | undefined
  const fetchB: typeof fetch = async (input, init) => {
    const url = String(input instanceof Request ? input.url : input)
    const hold = (init?.method ?? 'GET') === 'GET' && url.includes('/meta/') ? holdNextLoad : undefined
    if (hold) holdNextLoad = undefined
    const response = await fetch(input, init)
    if (!hold) return response
    const body = await response.arrayBuffer()
    hold.reached()
    await hold.release
    return new Response(body, { status: response.status, headers: response.headers })
  }
  const syncA = connect.partykit(a, host, { pollInterval: 60_000 })
  cleanups.push(() => syncA.close())
  const inner = partykitConnector(host, { room: name, fetch: fetchB })
  // B's connector, counting the saves that leave its sync.
  const toB: Connector = {
    name: inner.name,
    id: inner.id,
    upload: (db, cid, bytes, call) => inner.upload(db, cid, bytes, call),
    download: (db, cid, call) => inner.download(db, cid, call),
    has: (db, cid, call) => inner.has!(db, cid, call),
    save: (db, branch, entry, replaces, call) => (saves.push(entry.cid), inner.save(db, branch, entry, replaces, call)),
    load: (db, branch, call) => inner.load(db, branch, call),
    subscribe: (db, branch, onEntries) => inner.subscribe(db, branch, onEntries),
    onStatus: (listener) => inner.onStatus(listener),
    close: () => inner.close(),
  }
  const syncB: Sync = b.connect(toB, { pollInterval: 60_000 })
  cleanups.push(() => syncB.close())
  await a.put({ _id: 'doc', version: 1 })
  await syncA.flush()
  await syncB.ready
  expect((await b.get('doc')).version).toBe(1)

  let reached!: () => void
  let release!: () => void
  const loadReached = new Promise<void>((resolve) => (reached = resolve))
  holdNextLoad = { reached, release: new Promise<void>((resolve) => (release = resolve)) }
  const refreshed = syncB.refresh()
  await loadReached
  await a.put({ _id: 'doc', version: 2 })
  await syncA.flush()
  // B gets version 2 through the server's push, while its listing (of version 1) is still on its way.
  await expect.poll(async () => (await b.get('doc')).version).toBe(2)
  release()
  await refreshed
  const clock = await syncB.flush()
  expect(clock).toEqual(await a.clock())
  expect(saves).toEqual([])
})
