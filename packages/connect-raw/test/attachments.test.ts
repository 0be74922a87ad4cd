// Attachments end to end through this package's connectors: a 5 MB file written on one device is read on
// another through connect.raw (functions over a Map) and through connect.http against proj-serve's server.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { closeServer, listenOnLoopback, seededBytes } from '@proj/test-utils'
import { database, type Attachment, type Database } from '@proj/core'
import { connect, type RawParams } from '../src/index.js'
import { createStoreServer } from '../src/server.js'

const cleanups: (() => Promise<unknown>)[] = []
const uniqueName = () => `photos-${Math.random().toString(36).slice(2)}`
const syncOptions = { pollInterval: 50, flushTimeout: 20_000 }
const timeout = 60_000
const MiB = 1 << 20
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

async function serve(options: { dir: string; token?: string }): Promise<string> {
  const server = createStoreServer(options)
  cleanups.push(() => closeServer(server))
  return listenOnLoopback(server)
}

async function roundTrip(a: Database, b: Database, flushA: () => Promise<unknown>, refreshB: () => Promise<unknown>) {
  const data = seededBytes(5 * MiB + 321, 9)
  await a.put({ _id: 'clip', _files: { 'clip.mp4': new File([data as BlobPart], 'x', { type: 'video/mp4' }) } })
  await flushA()
  await refreshB()
  const doc = await b.get('clip')
  const attachment = (doc._files as Record<string, Attachment>)['clip.mp4']!
  expect(attachment).toMatchObject({ type: 'video/mp4', size: data.length })
  const file = await attachment.file()
  expect(file.size).toBe(data.length)
  expect(Buffer.from(await file.arrayBuffer()).equals(data)).toBe(true)
}

describe('attachments with @proj/core', () => {
  it('a 5 MB file round-trips through connect.raw', async () => {
    const objects = new Map<string, Uint8Array>()
    const key = (p: RawParams) => `${p.name}/${p.type}/${p.car ?? p.branch}`
    const fns = {
      upload: async (bytes: Uint8Array, p: RawParams) => void objects.set(key(p), bytes),
      download: async (p: RawParams) => objects.get(key(p)),
    }
    const name = uniqueName()
    const a = open(name, { storage: 'memory' })
    const b = open(name, { storage: 'memory', key: await a.exportKey() })
    const syncA = connect.raw(a, fns, syncOptions)
    const syncB = connect.raw(b, fns, syncOptions)
    cleanups.push(() => syncA.close(), () => syncB.close())
    await roundTrip(a, b, () => syncA.flush(), () => syncB.refresh())
  }, timeout)

  it('a 5 MB file round-trips through connect.http and proj-serve', async () => {
    const url = await serve({ dir: await tempDir('proj-serve-'), token: 't' })
    const name = uniqueName()
    const a = open(name, { dir: await tempDir('proj-a-') })
    const b = open(name, { dir: await tempDir('proj-b-'), key: await a.exportKey() })
    const syncA = connect.http(a, url, { token: 't', ...syncOptions })
    const syncB = connect.http(b, url, { token: 't', ...syncOptions })
    cleanups.push(() => syncA.close(), () => syncB.close())
    await roundTrip(a, b, () => syncA.flush(), () => syncB.refresh())
  }, timeout)
})
