import { describe, expect, it, vi } from 'vitest'
import { database, type SyncStatus, type SyncWarning } from '@proj/core'
import { FaultyConnector, MemoryBackend, MemoryConnector, metaEntry } from '../src/index.js'

/**
 * A device with another key can neither read nor disturb: a wrong-key device learns it at once, and a
 * stranger writing into the room (another key, or garbage under a valid CID) is skipped with a warning
 * while the honest devices go on syncing.
 */

const dir = () => `/hostile/${Math.random()}`

async function ownerWithData(backend: MemoryBackend, name: string) {
  const owner = database(name, { storage: 'memory', dir: dir() })
  await owner.put({ _id: 'secret', text: 'only for the key holder' })
  const sync = owner.connect(new MemoryConnector(backend), { pollInterval: 10, maxBackoff: 20 })
  await sync.flush()
  return { owner, sync, key: await owner.exportKey() }
}

describe('a device with another key', () => {
  it('a fresh device opened with a different key: ready rejects with KeyMismatchError, status error', async () => {
    const backend = new MemoryBackend()
    const { owner, sync } = await ownerWithData(backend, 'room')
    const stranger = database('room', { storage: 'memory', dir: dir() })
    const strangerSync = stranger.connect(new MemoryConnector(backend), { pollInterval: 10, maxBackoff: 20 })
    const errors: Error[] = []
    strangerSync.on('error', (error) => errors.push(error))
    try {
      const failure = await strangerSync.ready.then(
        () => undefined,
        (error: unknown) => error as Error & { permanent?: boolean; cause?: unknown },
      )
      expect(failure?.name).toBe('ConnectorError')
      expect(failure?.permanent).toBe(true)
      expect((failure?.cause as Error).name).toBe('KeyMismatchError')
      expect(failure?.message).toMatch(/none of the 1 meta entries at the backend opens with this key/)
      expect(strangerSync.status).toBe('error')
      expect(errors.map((error) => error.name)).toEqual(['ConnectorError'])
      await expect(strangerSync.flush()).rejects.toThrow(/KeyMismatch|Wrong key/)
      expect((await stranger.allDocs()).rows).toEqual([])
    } finally {
      await strangerSync.close()
      await stranger.close()
      await sync.close()
      await owner.close()
    }
  })

  it('a wrong-key device that writes while offline never pushes once online: ready rejects first', async () => {
    const backend = new MemoryBackend()
    const { owner, sync } = await ownerWithData(backend, 'offline-wrong')
    const wrong = database('offline-wrong', { storage: 'memory', dir: dir() })
    const connector = new MemoryConnector(backend)
    let online = false
    const load = connector.load.bind(connector)
    connector.load = async (...args) => {
      if (!online) throw new TypeError('fetch failed: ECONNREFUSED')
      return load(...args)
    }
    const wrongSync = wrong.connect(connector, { pollInterval: 5, maxBackoff: 20 })
    try {
      await wrong.put({ _id: 'written-offline' })
      await new Promise((resolve) => setTimeout(resolve, 50))
      online = true
      await expect(wrongSync.ready).rejects.toMatchObject({ permanent: true })
      await new Promise((resolve) => setTimeout(resolve, 100))
      // Only the owner's entry is there: the wrong-key device pushed nothing.
      expect(await new MemoryConnector(backend).load('offline-wrong', 'main')).toHaveLength(1)
      expect(wrongSync.status).toBe('error')
    } finally {
      await wrongSync.close()
      await wrong.close()
      await sync.close()
      await owner.close()
    }
  })

  it("a stranger's entry (another key) and garbage under a valid CID are skipped once each; honest devices sync on", async () => {
    const backend = new MemoryBackend()
    const { owner, sync, key } = await ownerWithData(backend, 'shared')
    const statuses: SyncStatus[] = []
    const warnings: SyncWarning[] = []
    sync.on('status', (status) => statuses.push(status))
    sync.on('warning', (warning) => warnings.push(warning))

    // A stranger who knows the room name writes to it with their own key (pushed elsewhere, then copied in,
    // as a stranger's own client would save it)…
    const strangerBackend = new MemoryBackend()
    const stranger = database('shared', { storage: 'memory', dir: dir() })
    await stranger.put({ _id: 'spam', text: 'from a stranger' })
    const strangerSync = stranger.connect(new MemoryConnector(strangerBackend), { pollInterval: 0 })
    await strangerSync.flush()
    const into = new MemoryConnector(backend)
    for (const [cid, bytes] of strangerBackend.files.get('shared')!) await into.upload('shared', cid, bytes)
    for (const entry of await new MemoryConnector(strangerBackend).load('shared', 'main')) await into.save('shared', 'main', entry, [])
    // …and pushes an entry of garbage bytes under their valid CID.
    const garbage = await metaEntry(new TextEncoder().encode('not a sealed head at all'))
    await into.save('shared', 'main', garbage, [])
    expect(await into.load('shared', 'main')).toHaveLength(3)

    // The owner goes on: writes, flushes, a second honest device reads everything.
    await sync.refresh()
    await owner.put({ _id: 'after', text: 'still syncing' })
    await sync.flush()
    await sync.refresh()
    expect(sync.status).not.toBe('error')
    expect(statuses).not.toContain('error')
    expect(warnings.map((w) => w.kind).sort()).toEqual(['foreign-entry', 'unreadable-entry'])
    expect(warnings.every((w) => w.cid && w.error instanceof Error)).toBe(true)
    expect(sync.skipped).toBe(warnings.length)
    // Reported once each, however often the entries are seen again.
    await sync.refresh()
    expect(warnings.length).toBe(sync.skipped)

    const second = database('shared', { storage: 'memory', dir: dir(), key })
    const secondSync = second.connect(new MemoryConnector(backend), { pollInterval: 0 })
    try {
      await secondSync.ready
      expect((await second.allDocs()).rows.map((row) => row.key)).toEqual(['after', 'secret'])
      expect(secondSync.status).not.toBe('error')
    } finally {
      await secondSync.close()
      await second.close()
      await strangerSync.close()
      await stranger.close()
      await sync.close()
      await owner.close()
    }
  })
})

describe('permanent and transient failures', () => {
  class AuthRefused extends Error {
    override readonly name = 'AuthError'
  }

  it('a permanent failure rejects ready at once with a typed error; the local writes stay', async () => {
    const backend = new MemoryBackend()
    const db = database('perm', { storage: 'memory', dir: dir() })
    await db.put({ _id: 'kept', n: 1 })
    const refusing = new FaultyConnector(new MemoryConnector(backend), 1, { failure: 0, duplicate: 0, maxDelay: 0, dropPush: 0 })
    const original = refusing.load.bind(refusing)
    let loads = 0
    refusing.load = async (...args) => {
      loads++
      if (loads < 1000) throw new AuthRefused('token rejected (401)')
      return original(...args)
    }
    const sync = db.connect(refusing, { pollInterval: 10, maxBackoff: 20 })
    const errors: unknown[] = []
    sync.on('error', (error) => errors.push(error))
    await expect(sync.ready).rejects.toMatchObject({ name: 'ConnectorError', permanent: true })
    expect(sync.status).toBe('error')
    // One attempt, not a retry loop.
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(loads).toBe(1)
    expect(errors).toHaveLength(1)
    expect((await db.get('kept')).n).toBe(1)
    await sync.close()
    await db.close()
  })

  it('a permanent failure after ready: flush rejects within one attempt, and a later flush tries again', async () => {
    const backend = new MemoryBackend()
    const db = database('perm2', { storage: 'memory', dir: dir() })
    const connector = new MemoryConnector(backend)
    let refuse = false
    const original = connector.upload.bind(connector)
    let uploads = 0
    connector.upload = async (...args) => {
      uploads++
      if (refuse) throw Object.assign(new Error('S3 bucket "gone" does not exist'), { name: 'NoSuchBucket' })
      return original(...args)
    }
    const sync = db.connect(connector, { pollInterval: 0, maxBackoff: 20 })
    await sync.ready
    refuse = true
    await db.put({ _id: 'a' })
    await expect(sync.flush()).rejects.toThrow(/S3 bucket "gone" does not exist/)
    expect(sync.status).toBe('error')
    const attempts = uploads
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(uploads).toBe(attempts)
    refuse = false
    const clock = await sync.flush()
    expect(clock).toEqual(await db.clock())
    expect(sync.status).toBe('synced')
    await sync.close()
    await db.close()
  })

  it('transient failures (network) retry with backoff and show offline, then sync', async () => {
    const backend = new MemoryBackend()
    const db = database('transient', { storage: 'memory', dir: dir() })
    await db.put({ _id: 'x' })
    const connector = new MemoryConnector(backend)
    let down = true
    let refused = 0
    const original = connector.load.bind(connector)
    connector.load = async (...args) => {
      if (down) {
        refused++
        throw new TypeError('fetch failed: connect ECONNREFUSED 127.0.0.1')
      }
      return original(...args)
    }
    const statuses: SyncStatus[] = []
    const sync = db.connect(connector, { pollInterval: 10, maxBackoff: 20 })
    sync.on('status', (status) => statuses.push(status))
    let ready = false
    void sync.ready.then(() => (ready = true))
    // Retried: a fixed wait instead could end before the first attempt on a loaded machine.
    await vi.waitFor(() => expect(refused).toBeGreaterThanOrEqual(3), { timeout: 20_000 })
    expect(ready).toBe(false)
    expect(sync.status).toBe('offline')
    down = false
    await sync.ready
    await sync.flush()
    expect(sync.status).toBe('synced')
    expect(statuses).not.toContain('error')
    await sync.close()
    await db.close()
  })
})
