import { readdir, rm } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { database, MissingFileError, type ConnectorError, type Database, type Sync } from '@proj/core'
import { closeServer, listenOnLoopback, serveFromTempDir, type LoopbackServer } from '@proj/test-utils'
import { connect } from '../src/index.js'
import { createStoreServer } from '../src/server.js'

/**
 * A meta entry names a file the store does not hold (deleted on the server, lost by a backup restore): the
 * store answers 404, which is its word, not a network failure. A device that needs the file surfaces it at
 * once, typed and naming the file, instead of retrying a download that cannot succeed.
 */
let server: LoopbackServer & { dir: string }

beforeAll(async () => {
  server = await serveFromTempDir('proj-serve-missing', (dir) => createStoreServer({ dir }))
})
afterAll(() => server.stop())

const opened: { db: Database; sync: Sync }[] = []
afterEach(async () => {
  for (const { db, sync } of opened.splice(0)) {
    await sync.close()
    await db.close()
  }
})

function device(name: string, key?: string, pollInterval = 0): { db: Database; sync: Sync; errors: ConnectorError[] } {
  const db = database(name, { storage: 'memory', dir: `/missing/${name}/${Math.random()}`, ...(key ? { key } : {}) })
  const sync = connect.http(db, server.url, { pollInterval, maxBackoff: 50 })
  const errors: ConnectorError[] = []
  sync.on('error', (error) => errors.push(error))
  opened.push({ db, sync })
  return { db, sync, errors }
}

const dataFiles = async (name: string) => new Set(await readdir(join(server.dir, name, 'data')).catch(() => []))

/** A device that wrote 'kept' and flushed it: what every other device syncs before anything is lost. */
async function writerWithKept(name: string): Promise<ReturnType<typeof device>> {
  const a = device(name)
  await a.sync.ready
  await a.db.put({ _id: 'kept' })
  await a.sync.flush()
  return a
}

/** `a` writes `id` and flushes; the data files that flush uploaded are deleted from the store, and returned. */
async function writeThenLose(a: { db: Database; sync: Sync }, name: string, id: string): Promise<string[]> {
  const before = await dataFiles(name)
  await a.db.put({ _id: id })
  await a.sync.flush()
  const added = [...(await dataFiles(name))].filter((file) => !before.has(file))
  expect(added.length).toBeGreaterThan(0)
  for (const file of added) await rm(join(server.dir, name, 'data', file))
  return added
}

/**
 * The writer's next session: it checks what the store holds (has) and uploads the lost files again; it writes
 * 'after', and its flush resolves only once the lost files are back.
 */
async function nextSessionUploadsAgain(a: { db: Database; sync: Sync }): Promise<void> {
  await a.sync.close()
  const again = connect.http(a.db, server.url, { pollInterval: 0 })
  opened.push({ db: a.db, sync: again })
  await again.ready
  await a.db.put({ _id: 'after' })
  await again.flush()
}

/**
 * proj-serve over the same folder, each request going through `route` first, which serves it (`pass`), answers
 * it itself, or holds `pass` to serve it later.
 */
async function routedStore(
  route: (request: IncomingMessage, response: ServerResponse, pass: () => void) => void,
): Promise<{ url: string; stop(): Promise<void> }> {
  const serveStore = createStoreServer({ dir: server.dir }).listeners('request')[0] as (request: IncomingMessage, response: ServerResponse) => void
  const routed = createServer((request, response) => route(request, response, () => serveStore(request, response)))
  return { url: await listenOnLoopback(routed), stop: () => closeServer(routed) }
}

/** The typed cause sync rejects with when the store answered that it lacks a file. */
function missingCause(error: ConnectorError): MissingFileError {
  expect(error.cause).toBeInstanceOf(MissingFileError)
  return error.cause as MissingFileError
}

it('a fresh device whose first pull needs a file the store lacks: ready rejects at once, naming the file', async () => {
  const name = 'missing-first'
  const a = await writerWithKept(name)
  const lost = await writeThenLose(a, name, 'lost')

  const b = device(name, await a.db.exportKey())
  const failure = (await b.sync.ready.then(
    () => undefined,
    (error: ConnectorError) => error,
  ))!
  expect(failure?.name).toBe('ConnectorError')
  expect(failure.permanent).toBe(true)
  expect(failure.connector).toBe('http')
  const cause = missingCause(failure)
  expect(cause.name).toBe('MissingFileError')
  expect(lost).toContain(cause.cid)
  expect(cause.backend).toBe('http')
  expect(cause.location).toBe(`http:${server.url}`)
  expect(failure.message).toContain(cause.cid)
  expect(b.sync.status).toBe('error')
  expect(b.errors).toEqual([failure])
  // Nothing on the writer is lost: it still reads both documents.
  expect((await a.db.allDocs()).rows.map((row) => row.key)).toEqual(['kept', 'lost'])
})

it('a later pull meeting a file the store lacks: reported once as permanent, refresh() rejects with it, what was synced stays', async () => {
  const name = 'missing-later'
  const a = await writerWithKept(name)
  const b = device(name, await a.db.exportKey(), 20)
  await b.sync.ready
  expect((await b.db.get('kept'))._id).toBe('kept')

  // Paused, so that no poll downloads the file before the test deletes it.
  b.sync.pause()
  const lost = await writeThenLose(a, name, 'lost')
  b.sync.resume()
  // The pull meets the missing file: status 'error', one error event, and polling stops retrying it.
  await expect.poll(() => b.sync.status).toBe('error')
  expect(b.errors).toHaveLength(1)
  const reported = b.errors[0]!
  expect(reported.permanent).toBe(true)
  expect(missingCause(reported).name).toBe('MissingFileError')
  expect(lost).toContain(missingCause(reported).cid)
  // An explicit refresh tries once more, meets the same answer, and rejects with it; no second event.
  const again = await b.sync.refresh().then(
    () => undefined,
    (error: ConnectorError) => error,
  )
  expect(again?.permanent).toBe(true)
  expect(again?.message).toBe(reported.message)
  expect(b.errors).toHaveLength(1)
  expect((await b.db.get('kept'))._id).toBe('kept')
  await b.db.put({ _id: 'b-local' })
  expect((await b.db.get('b-local'))._id).toBe('b-local')
})

it('the file uploaded again by the device that holds it: a refresh() after the permanent failure syncs it', async () => {
  const name = 'missing-repaired'
  const a = await writerWithKept(name)
  const b = device(name, await a.db.exportKey())
  await b.sync.ready
  await writeThenLose(a, name, 'lost')
  await expect(b.sync.refresh()).rejects.toMatchObject({ permanent: true, cause: { name: 'MissingFileError' } })
  await nextSessionUploadsAgain(a)
  await b.sync.refresh()
  expect((await b.db.allDocs()).rows.map((row) => row.key)).toEqual(['after', 'kept', 'lost'])
  expect(b.sync.status).not.toBe('error')
})

it('a device halted by a lost file looks again by itself: once the writer uploads it again, it syncs with no refresh()', async () => {
  const name = 'missing-healed'
  const a = await writerWithKept(name)
  const b = device(name, await a.db.exportKey(), 20)
  await b.sync.ready
  b.sync.pause()
  await writeThenLose(a, name, 'lost')
  b.sync.resume()
  await expect.poll(() => b.sync.status).toBe('error')
  await nextSessionUploadsAgain(a)
  // No refresh(), no reconnect: the halted device's next look finds the file.
  await expect.poll(async () => (await b.db.allDocs()).rows.map((row) => row.key), { timeout: 10_000 }).toEqual(['after', 'kept', 'lost'])
  await expect.poll(() => b.sync.status).toBe('synced')
  // Reported once, however many looks met the same loss.
  expect(b.errors).toHaveLength(1)
})

it('a file the store cannot serve now (HTTP 503) is transient: ready waits through the retries, then resolves', async () => {
  const name = 'missing-transient'
  let unavailable = false
  let refused = 0
  const flaky = await routedStore((request, response, pass) => {
    if (!unavailable || request.method !== 'GET' || !request.url?.includes('/data/')) return pass()
    refused++
    response.writeHead(503).end('busy')
  })
  const url = flaky.url
  try {
    const a = device(name)
    await a.sync.ready
    await a.db.put({ _id: 'doc' })
    await a.sync.flush()
    unavailable = true
    const db = database(name, { storage: 'memory', dir: `/missing/${name}/${Math.random()}`, key: await a.db.exportKey() })
    const sync = connect.http(db, url, { pollInterval: 0, maxBackoff: 50 })
    opened.push({ db, sync })
    const errors: ConnectorError[] = []
    sync.on('error', (error) => errors.push(error))
    let settled = false
    void sync.ready.then(
      () => (settled = true),
      () => (settled = true),
    )
    // Several downloads refused, each retry of the pull reported as transient: ready still waits.
    await expect.poll(() => errors.length).toBeGreaterThanOrEqual(2)
    expect(refused).toBeGreaterThan(5)
    expect(errors.every((error) => !error.permanent)).toBe(true)
    expect(settled).toBe(false)
    expect(sync.status).toBe('offline')
    unavailable = false
    await sync.ready
    expect((await db.get('doc'))._id).toBe('doc')
  } finally {
    await flaky.stop()
  }
})

for (const writes of [1, 0]) {
  it(`a writer's next session after the store lost one of its files, ${writes} write(s) in it: flush() resolves only with that file back`, async () => {
    const name = `missing-flush-${writes}`
    const a = await writerWithKept(name)
    // Many files held, so that checking them all (has) takes longer than the next push.
    for (let i = 0; i < 40; i++) await a.db.put({ _id: `doc-${i}` })
    await a.sync.flush()
    await writeThenLose(a, name, 'lost')
    await a.sync.close()
    const again = connect.http(a.db, server.url, { pollInterval: 0 })
    opened.push({ db: a.db, sync: again })
    await again.ready
    if (writes) await a.db.put({ _id: 'after' })
    const clock = await again.flush()
    // flush() promised this clock can be read from the store alone.
    const fresh = device(name, await a.db.exportKey())
    await fresh.sync.ready
    expect((await (await fresh.db.at(clock)).allDocs()).rows).toHaveLength(42 + writes)
  })
}

it('a push whose upload walk overlaps the check that finds a lost file uploads it before its save names it', async () => {
  const name = 'missing-walk'
  // proj-serve, with three holds once armed: the check (HEAD) of the lost file; the session's first file
  // upload; and, once an entry was saved, every later file upload (a fresh device then reads what that save
  // named, before any later push repairs it). The writer's sessions both use it: its record of what the
  // store holds is kept per URL.
  const held: { check?: () => void; firstUpload?: () => void; afterSave: (() => void)[] } = { afterSave: [] }
  let armed = false
  let lost = ''
  let uploads = 0
  let saved = false
  const gated = await routedStore((request, response, pass) => {
    const url = request.url ?? ''
    if (!armed) return pass()
    if (request.method === 'HEAD' && url.endsWith(`/data/${lost}`) && !held.check) return void (held.check = pass)
    if (request.method === 'PUT' && url.includes('/data/')) {
      if (uploads++ === 0) return void (held.firstUpload = pass)
      if (saved) return void held.afterSave.push(pass)
    }
    if (request.method === 'PUT' && url.includes('/meta/')) response.on('finish', () => (saved = true))
    pass()
  })
  const url = gated.url
  try {
    const db = database(name, { storage: 'memory', dir: `/missing/${name}/${Math.random()}` })
    const first = connect.http(db, url, { pollInterval: 0 })
    opened.push({ db, sync: first })
    await first.ready
    await db.put({ _id: 'kept' })
    await first.flush()
    lost = (await writeThenLose({ db, sync: first }, name, 'lost'))[0]!
    await first.close()

    armed = true
    const again = connect.http(db, url, { pollInterval: 0 })
    opened.push({ db, sync: again })
    await again.ready
    await db.put({ _id: 'after' })
    await expect.poll(() => held.check !== undefined && held.firstUpload !== undefined).toBe(true)
    // The check answers 404; the push's walk, begun before, is still uploading the new head file.
    held.check!()
    await expect.poll(async () => (await again.pending()).files).toBeGreaterThanOrEqual(2)
    held.firstUpload!()
    await expect.poll(() => saved).toBe(true)
    // The entry just saved names the new head file, whose closure holds the lost one: it must be there.
    const fresh = device(name, await db.exportKey())
    await fresh.sync.ready
    expect((await fresh.db.allDocs()).rows.map((row) => row.key)).toEqual(['after', 'kept', 'lost'])
  } finally {
    for (const pass of held.afterSave) pass()
    await gated.stop()
  }
})
