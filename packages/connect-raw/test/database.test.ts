// End to end with the core database: two devices replicate through each connector of this package.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { database, type Database } from '@proj/core'
import { closeServer, listenOnLoopback } from '@proj/test-utils'
import { connect, type RawParams } from '../src/index.js'
import { exportDatabase } from '../src/export.js'
import { createStoreServer } from '../src/server.js'

const cleanups: (() => Promise<unknown>)[] = []
// A fresh name per test: memory databases of one name share this process's keybag (one "device").
const uniqueName = () => `todos-${Math.random().toString(36).slice(2)}`
// Replication either works within a few seconds or is broken; fail fast with the sync's own error.
const timeout = 20_000
const syncOptions = { pollInterval: 50, flushTimeout: 10_000 }
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  return dir
}

function open(name: string, options: Parameters<typeof database>[1]): Database {
  const db = database(name, options)
  cleanups.push(() => db.close())
  return db
}

async function serve(options: { dir: string; token?: string; readOnly?: boolean }): Promise<string> {
  const server = createStoreServer(options)
  cleanups.push(() => closeServer(server))
  return listenOnLoopback(server)
}

describe('with @proj/core', () => {
  it('connect.raw replicates between two devices through a Map', async () => {
    const objects = new Map<string, Uint8Array>()
    const key = (p: RawParams) => `${p.name}/${p.type}/${p.car ?? p.branch}`
    const fns = {
      upload: async (bytes: Uint8Array, p: RawParams) => void objects.set(key(p), bytes),
      download: async (p: RawParams) => objects.get(key(p)),
    }
    const name = uniqueName()
    const a = open(name, { storage: 'memory' })
    await a.put({ _id: 'milk', title: 'milk', done: false })
    const syncA = connect.raw(a, fns, syncOptions)
    cleanups.push(() => syncA.close())
    await syncA.flush()

    const b = open(name, { storage: 'memory', key: await a.exportKey() })
    const syncB = connect.raw(b, fns, syncOptions)
    cleanups.push(() => syncB.close())
    await syncB.ready
    expect(await b.get('milk')).toEqual({ _id: 'milk', title: 'milk', done: false })

    await b.put({ _id: 'eggs', title: 'eggs', done: true })
    await syncB.flush()
    await syncA.refresh()
    expect(await a.get('eggs')).toEqual({ _id: 'eggs', title: 'eggs', done: true })
  }, timeout)

  it('connect.raw never overwrites a meta blob it has not loaded: a write another device flushed meanwhile stays', async () => {
    // One meta blob, no compare-and-swap: A's save, started before B's, lands after it. A must not replace B's
    // entry unread (B has flushed and gone: no one else would ever push that write again).
    const objects = new Map<string, Uint8Array>()
    const key = (p: RawParams) => `${p.name}/${p.type}/${p.car ?? p.branch}`
    const fns = {
      upload: async (bytes: Uint8Array, p: RawParams) => void objects.set(key(p), bytes.slice()),
      download: async (p: RawParams) => objects.get(key(p))?.slice(),
    }
    let uploading = false
    let release!: () => void
    const released = new Promise<void>((resolve) => (release = resolve))
    const heldFns = {
      upload: async (bytes: Uint8Array, p: RawParams) => {
        if (p.type === 'data') {
          uploading = true
          await released
        }
        await fns.upload(bytes, p)
      },
      download: fns.download,
    }
    const name = uniqueName()
    const a = open(name, { storage: 'memory' })
    const b = open(name, { storage: 'memory', key: await a.exportKey() })
    const syncA = connect.raw(a, heldFns, syncOptions)
    cleanups.push(() => syncA.close())
    const syncB = connect.raw(b, fns, syncOptions)
    await Promise.all([syncA.ready, syncB.ready])
    await a.put({ _id: 'from-a' })
    await expect.poll(() => uploading).toBe(true)
    await b.put({ _id: 'from-b' })
    await syncB.flush()
    await syncB.close()
    release()
    await syncA.flush()

    const c = open(name, { storage: 'memory', key: await a.exportKey() })
    const syncC = connect.raw(c, fns, syncOptions)
    cleanups.push(() => syncC.close())
    await syncC.ready
    expect((await c.allDocs()).rows.map((row) => row.key)).toEqual(['from-a', 'from-b'])
  }, timeout)

  it('connect.http replicates between two devices through proj-serve', async () => {
    const url = await serve({ dir: await tempDir('proj-serve-'), token: 't' })
    const name = uniqueName()
    const a = open(name, { dir: await tempDir('proj-a-') })
    await a.bulk([{ _id: '1', n: 1 }, { _id: '2', n: 2 }])
    const syncA = connect.http(a, url, { token: 't', ...syncOptions })
    cleanups.push(() => syncA.close())
    await syncA.flush()

    const b = open(name, { dir: await tempDir('proj-b-'), key: await a.exportKey() })
    const syncB = connect.http(b, url, { token: 't', ...syncOptions })
    cleanups.push(() => syncB.close())
    await syncB.ready
    expect((await b.allDocs()).rows.map((r) => r.key)).toEqual(['1', '2'])
  }, timeout)

  it('proj-export writes a folder that proj-serve --read-only serves to another device', async () => {
    const dataDir = await tempDir('proj-data-')
    const out = await tempDir('proj-out-')
    const name = uniqueName()
    const local = database(name, { dir: dataDir })
    await local.put({ _id: 'a', title: 'exported' })
    const key = await local.exportKey()
    await local.close()

    await exportDatabase({ name, dir: dataDir, out })

    const url = await serve({ dir: out, readOnly: true })
    const reader = open(name, { storage: 'memory', key })
    const sync = connect.http(reader, url, { pollInterval: 0 })
    cleanups.push(() => sync.close())
    await sync.ready
    expect(await reader.get('a')).toEqual({ _id: 'a', title: 'exported' })
  }, timeout)
})
