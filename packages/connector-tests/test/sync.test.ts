import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { base58btc } from 'multiformats/bases/base58'
import { afterEach, describe, expect, it } from 'vitest'
import { ConnectorError, database, IntegrityError, parseShareLink, shareLink, type Database, type Sync } from '@proj/core'
import { MemoryBackend, MemoryConnector } from '../src/index.js'
import { MeteredConnector, uniqueDir, until } from './sync-helpers.js'

const open: { close(): Promise<void> }[] = []
const dirs: string[] = []
afterEach(async () => {
  for (const item of open.splice(0).reverse()) await item.close().catch(() => {})
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function device(name = 'shared', options: { key?: string; dir?: string; storage?: 'file' | 'memory' } = {}): Database {
  const db = database(name, { storage: options.storage ?? 'memory', dir: options.dir ?? uniqueDir('device'), key: options.key })
  open.push(db)
  return db
}

function connect(db: Database, connector: MeteredConnector | MemoryConnector, pollInterval = 20): Sync {
  // flushTimeout bounds the whole flush (ready, uploads, the confirming pull): no test here expects it to expire,
  // and 2 s of it could run out on a loaded machine while two devices push and merge.
  const sync = db.connect(connector, { pollInterval, maxBackoff: 50, flushTimeout: 20_000 })
  open.push(sync)
  return sync
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'proj-sync-'))
  dirs.push(dir)
  return dir
}

describe('sync through a connector', () => {
  it('two devices converge, and a pushing backend delivers changes without polling', async () => {
    const backend = new MemoryBackend()
    const a = device()
    const syncA = connect(a, new MemoryConnector(backend), 0)
    await syncA.ready
    await a.put({ _id: 'from-a', v: 1 })
    await syncA.flush()
    const b = device('shared', { key: await a.exportKey() })
    const syncB = connect(b, new MemoryConnector(backend), 0)
    await syncB.ready
    expect(await b.get('from-a')).toEqual({ _id: 'from-a', v: 1 })
    const seen: string[] = []
    b.subscribe((rows) => seen.push(...rows.map((row) => row.key)))
    await a.put({ _id: 'live', v: 2 })
    await syncA.flush()
    await until(async () => (await b.get('live').catch(() => undefined)) !== undefined)
    expect(seen).toContain('live')
    await b.put({ _id: 'from-b', v: 3 })
    await syncB.flush()
    await until(async () => (await a.get('from-b').catch(() => undefined)) !== undefined)
    expect((await a.allDocs()).rows).toEqual((await b.allDocs()).rows)
    // The merge that delivered 'from-b' marks A pending until its loop confirms the backend holds its clock.
    await until(() => syncA.status === 'synced')
  })

  it('resolves concurrent writes to one id the same way on both devices', async () => {
    const backend = new MemoryBackend()
    const a = device()
    const b = device('shared', { key: await a.exportKey() })
    await a.put({ _id: 'x', by: 'a' })
    await b.put({ _id: 'x', by: 'b' })
    // Listeners make a merge list its changed rows, which reads the merged tree's new blocks.
    const changedOnA: string[] = []
    a.subscribe((rows) => changedOnA.push(...rows.map((row) => row.key)))
    b.subscribe(() => {})
    await a.put({ _id: 'only-a' })
    await b.put({ _id: 'only-b' })
    const syncA = connect(a, new MemoryConnector(backend))
    const syncB = connect(b, new MemoryConnector(backend))
    await Promise.all([syncA.flush(), syncB.flush()])
    await Promise.all([syncA.refresh(), syncB.refresh()])
    await until(async () => JSON.stringify(await a.get('x')) === JSON.stringify(await b.get('x')))
    expect(['a', 'b']).toContain((await a.get('x')).by)
    await until(async () => (await a.get('only-b').catch(() => undefined)) !== undefined)
    expect(changedOnA).toContain('only-b')
    expect(syncA.lastError).toBeUndefined()
  })

  it('a new device downloads the newest file first and older ones only as needed', async () => {
    const backend = new MemoryBackend()
    const a = device('lazy')
    const syncA = connect(a, new MemoryConnector(backend))
    for (let tx = 0; tx < 200; tx++) {
      await a.bulk(Array.from({ length: 25 }, (_, i) => ({ _id: `doc-${tx}-${i}`, body: 'x'.repeat(150), tx })))
    }
    await syncA.flush()
    const stored = [...backend.files.get('lazy')!.values()].reduce((sum, bytes) => sum + bytes.length, 0)
    const metered = new MeteredConnector(new MemoryConnector(backend))
    const b = device('lazy', { key: await a.exportKey() })
    const syncB = connect(b, metered)
    await syncB.ready
    expect(await b.get('doc-17-3')).toMatchObject({ _id: 'doc-17-3', tx: 17 })
    expect(metered.downloadedBytes).toBeLessThan(stored / 2)
    // The head's delta events back to their checkpoint (at most 31 small files, docs/DESIGN.md) and the files on
    // the path to the document: under one file in ten of the 200 transactions' files. (It passed under 10 only
    // while a local compaction happened to fall on the last transactions; the default now compacts less often.)
    expect(metered.downloads).toBeLessThan(backend.files.get('lazy')!.size / 10)
  })

  it('keeps offline writes in a durable outbox that drains once the backend is back', async () => {
    const backend = new MemoryBackend()
    const dir = tempDir()
    const connector = new MeteredConnector(new MemoryConnector(backend))
    const a = database('outbox', { dir })
    const syncA = a.connect(connector, { pollInterval: 20, maxBackoff: 50, flushTimeout: 300 })
    await syncA.ready
    connector.down = true
    await a.put({ _id: 'offline-1', v: 1 })
    await a.bulk([{ _id: 'offline-2' }, { _id: 'offline-3' }])
    const error = await syncA.flush().catch((e) => e)
    expect(error).toBeInstanceOf(ConnectorError)
    expect(error.name).toBe('ConnectorError')
    expect(error.connector).toBe('memory')
    await until(() => syncA.status === 'offline')
    const key = await a.exportKey()
    await syncA.close()
    await a.close()

    // Restart: the backend is back, the database reopens and its writes reach another device.
    const again = database('outbox', { dir })
    open.push(again)
    const syncAgain = connect(again, new MemoryConnector(backend))
    await syncAgain.flush()
    const b = device('outbox', { key })
    const syncB = connect(b, new MemoryConnector(backend))
    await syncB.ready
    expect((await b.allDocs()).rows.map((row) => row.key)).toEqual(['offline-1', 'offline-2', 'offline-3'])
  })

  it('close() returns while the backend is down, and the sync never reports synced', async () => {
    const connector = new MeteredConnector(new MemoryConnector())
    connector.down = true
    const a = device('down')
    const sync = connect(a, connector)
    await a.put({ _id: 'x' })
    await until(() => sync.status === 'offline')
    expect(sync.lastError).toBeInstanceOf(ConnectorError)
    await sync.close()
    expect(sync.status).toBe('offline')
  })

  it('a sync closed before its first pull: ready rejects (it never pulled), flush and refresh say it was closed', async () => {
    const connector = new MeteredConnector(new MemoryConnector())
    const a = device('closed-early')
    const sync = connect(a, connector)
    await sync.close()
    await expect(sync.ready).rejects.toThrow(new ConnectorError('memory', 'pull', new Error('the sync was closed')))
    await expect(sync.flush()).rejects.toThrow('the sync was closed')
    await expect(sync.refresh()).rejects.toThrow('the sync was closed')
    expect(connector.downloads).toBe(0)
  })

  it('raises IntegrityError for altered file bytes and applies nothing from them', async () => {
    const backend = new MemoryBackend()
    const a = device('tamper')
    const syncA = connect(a, new MemoryConnector(backend))
    await a.bulk(Array.from({ length: 50 }, (_, i) => ({ _id: `d${i}` })))
    await syncA.flush()
    const metered = new MeteredConnector(new MemoryConnector(backend))
    metered.tamper = (_cid, bytes) => {
      const copy = bytes.slice()
      copy[copy.length - 5]! ^= 0xff
      return copy
    }
    const b = device('tamper', { key: await a.exportKey() })
    const syncB = connect(b, metered)
    // The head file is verified against its CID before anything is decrypted or merged: `ready` rejects.
    const error = await syncB.ready.catch((e) => e)
    expect(error).toBeInstanceOf(ConnectorError)
    expect(error.cause).toBeInstanceOf(IntegrityError)
    expect(error.cause.message).toMatch(/^Integrity check failed for b[a-z2-7]+: file bytes hash to b[a-z2-7]+$/)
    expect(syncB.status).toBe('error')
    expect((await b.allDocs()).rows).toEqual([])
  })

  it('ignores a replayed old meta entry', async () => {
    const backend = new MemoryBackend()
    const a = device('replay')
    const syncA = connect(a, new MemoryConnector(backend), 0)
    await a.put({ _id: 'doc', v: 'old' })
    await syncA.flush()
    const [old] = backend.branch('replay', 'main')
    await a.put({ _id: 'doc', v: 'new' })
    await syncA.flush()
    // The backend replays the old entry next to the new one.
    await new MemoryConnector(backend).save('replay', 'main', { cid: old![0], bytes: old![1] }, [])
    const b = device('replay', { key: await a.exportKey() })
    const syncB = connect(b, new MemoryConnector(backend))
    await syncB.ready
    await syncB.refresh()
    expect(await b.get('doc')).toEqual({ _id: 'doc', v: 'new' })
    await syncA.refresh()
    expect(await a.get('doc')).toEqual({ _id: 'doc', v: 'new' })
  })

  it('hands the connector no key and no plaintext', async () => {
    const metered = new MeteredConnector(new MemoryConnector())
    const a = device('private')
    const sync = connect(a, metered)
    const marker = 'very-secret-plaintext'
    await a.bulk(Array.from({ length: 20 }, (_, i) => ({ _id: `${marker}-${i}`, note: marker })))
    await sync.flush()
    const key = Buffer.from(base58btc.decode(await a.exportKey()))
    const all = [...metered.uploaded, ...metered.saved].map((bytes) => Buffer.from(bytes))
    expect(all.length).toBeGreaterThan(1)
    for (const bytes of all) {
      expect(bytes.includes(Buffer.from(marker))).toBe(false)
      expect(bytes.includes(key)).toBe(false)
    }
  })

  it('replicates through several connectors at once, each converging on its own', async () => {
    const realtime = new MemoryBackend()
    const backup = new MemoryBackend()
    const a = device('multi')
    const syncRealtime = connect(a, new MemoryConnector(realtime))
    const syncBackup = connect(a, new MemoryConnector(backup))
    await a.put({ _id: 'both', v: 1 })
    await Promise.all([syncRealtime.flush(), syncBackup.flush()])
    const restore = device('multi', { key: await a.exportKey() })
    const syncRestore = connect(restore, new MemoryConnector(backup))
    await syncRestore.ready
    expect(await restore.get('both')).toEqual({ _id: 'both', v: 1 })
    const peer = device('multi', { key: await a.exportKey() })
    const syncPeer = connect(peer, new MemoryConnector(realtime))
    await syncPeer.ready
    await peer.put({ _id: 'from-peer' })
    await syncPeer.flush()
    await until(async () => (await a.get('from-peer').catch(() => undefined)) !== undefined)
    await syncBackup.flush()
    await syncRestore.refresh()
    expect(await restore.get('from-peer')).toEqual({ _id: 'from-peer' })
  })

  it('opens a second device from a share link whose key is in the fragment', async () => {
    const a = device('link')
    const link = shareLink('https://app.example/todo', { db: a.name, key: await a.exportKey() })
    const url = new URL(link)
    expect(url.search).toBe('?db=link')
    expect(url.hash.startsWith('#key=')).toBe(true)
    expect(parseShareLink(link)).toEqual({ db: 'link', key: await a.exportKey() })
  })
})
