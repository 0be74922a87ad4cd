import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { database, type Database } from '@proj/core'
import { startPartykitDev, type PartykitDev } from '@proj/test-utils'
import { partykitConnector } from '../src/index.js'

// A current client against the party server as it was before file messages and pushed files
// (test/fixture/previous-server): its first file message is answered 400 "unknown message type", after which
// it uploads over HTTP; the `files` of its saves are ignored, so the follower downloads. Both devices converge.

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..')
let server: PartykitDev
const cleanups: (() => Promise<void>)[] = []

beforeAll(async () => {
  server = await startPartykitDev({ cwd: packageDir, config: join(packageDir, 'test', 'fixture', 'previous-server', 'partykit.json') })
}, 120_000)

afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  await server?.stop()
})

async function device(name: string, key?: string): Promise<Database> {
  const dir = await mkdtemp(join(tmpdir(), 'proj-partykit-previous-'))
  const db = database(name, key === undefined ? { dir } : { dir, key })
  cleanups.push(async () => {
    await db.close()
    await rm(dir, { recursive: true, force: true })
  })
  return db
}

function counting(room: string): { connector: ReturnType<typeof partykitConnector>; puts: string[]; gets: string[] } {
  const puts: string[] = []
  const gets: string[] = []
  const connector = partykitConnector(server.url, {
    room,
    fetch: (input, init) => {
      const url = String(input instanceof Request ? input.url : input)
      const method = init?.method ?? 'GET'
      if (url.includes('/data/') && method === 'PUT') puts.push(url)
      if (url.includes('/data/') && method === 'GET') gets.push(url)
      return fetch(input, init)
    },
  })
  return { connector, puts, gets }
}

it('a current client syncs through the previous server: uploads fall back to HTTP, the follower downloads', async () => {
  const name = `previous-${crypto.randomUUID()}`
  const a = await device(name)
  const b = await device(name, await a.exportKey())
  const toA = counting(name)
  const toB = counting(name)
  const syncA = a.connect(toA.connector, { pollInterval: 60_000 })
  const syncB = b.connect(toB.connector, { pollInterval: 60_000 })
  cleanups.push(() => syncA.close(), () => syncB.close())
  await Promise.all([syncA.ready, syncB.ready])
  await expect.poll(() => toA.connector.status, { timeout: 20_000 }).toBe('open')
  const seen = new Set<string>()
  b.subscribe((rows) => rows.forEach((row) => seen.add(row.key)))
  // Written while paused, so the first push uploads them side by side: several file messages are in flight
  // when the first refusal arrives.
  const errors: Error[] = []
  syncA.on('error', (error) => errors.push(error))
  syncA.pause()
  const writes = 6
  for (let i = 0; i < writes; i++) await a.put({ _id: `doc-${i}`, i })
  syncA.resume()
  await syncA.flush()
  expect(errors).toEqual([])
  await expect.poll(() => seen.size, { timeout: 20_000 }).toBe(writes)
  expect(await b.clock()).toEqual(await a.clock())
  expect(syncA.status).toBe('synced')
  expect(toA.puts.length).toBeGreaterThanOrEqual(writes)
  expect(toB.gets.length).toBeGreaterThan(0)
  expect((await b.allDocs()).rows).toHaveLength(writes)
})
