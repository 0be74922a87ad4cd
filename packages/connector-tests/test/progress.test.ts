import { describe, expect, it } from 'vitest'
import { database, type SyncProgress } from '@proj/core'
import { MemoryBackend, MemoryConnector } from '../src/index.js'

describe('sync progress and pause', () => {
  it('reports files and bytes to upload and done, and downloads on the other device', async () => {
    const backend = new MemoryBackend()
    const a = database('progress', { storage: 'memory', dir: `/progress/a/${Math.random()}` })
    const key = await a.exportKey()
    for (let i = 0; i < 12; i++) await a.put({ _id: `d${i}`, text: 'p'.repeat(500) })
    const syncA = a.connect(new MemoryConnector(backend), { pollInterval: 0 })
    const seen: SyncProgress[] = []
    syncA.on('progress', (progress) => seen.push(progress))
    await syncA.flush()
    const last = seen.at(-1)!
    expect(last.upload.files).toBe(backend.files.get('progress')!.size)
    expect(last.upload.done).toBe(last.upload.files)
    expect(last.upload.bytes).toBe([...backend.files.get('progress')!.values()].reduce((sum, b) => sum + b.length, 0))
    // Monotonic within the push: done never goes back, never passes the total.
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.upload.done).toBeGreaterThanOrEqual(seen[i - 1]!.upload.done)
    expect(seen.every((p) => p.upload.done <= p.upload.files)).toBe(true)
    expect(syncA.progress).toEqual(last)

    const b = database('progress', { storage: 'memory', dir: `/progress/b/${Math.random()}`, key })
    const syncB = b.connect(new MemoryConnector(backend), { pollInterval: 0 })
    await syncB.ready
    expect((await b.allDocs()).rows).toHaveLength(12)
    expect(syncB.progress.download.files).toBeGreaterThan(0)
    expect(syncB.progress.download.bytes).toBeGreaterThan(0)
    await Promise.all([syncA.close(), syncB.close()])
    await Promise.all([a.close(), b.close()])
  })

  it('pause() stops pushing and pulling, flush rejects while paused, resume() catches up', async () => {
    const backend = new MemoryBackend()
    const a = database('pause', { storage: 'memory', dir: `/pause/a/${Math.random()}` })
    const key = await a.exportKey()
    const b = database('pause', { storage: 'memory', dir: `/pause/b/${Math.random()}`, key })
    const syncA = a.connect(new MemoryConnector(backend), { pollInterval: 5 })
    const syncB = b.connect(new MemoryConnector(backend), { pollInterval: 5 })
    await Promise.all([syncA.ready, syncB.ready])
    syncA.pause()
    expect(syncA.paused).toBe(true)
    await a.put({ _id: 'queued' })
    await expect(syncA.flush()).rejects.toThrow(/paused/)
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(backend.files.get('pause')?.size ?? 0).toBe(0)
    // B writes; paused A does not pull it.
    await b.put({ _id: 'from-b' })
    await syncB.flush()
    await new Promise((resolve) => setTimeout(resolve, 100))
    await expect(a.get('from-b')).rejects.toThrow(/not found/)
    syncA.resume()
    expect(syncA.paused).toBe(false)
    await syncA.flush()
    expect((await a.get('from-b'))._id).toBe('from-b')
    await syncB.refresh()
    expect((await b.get('queued'))._id).toBe('queued')
    await Promise.all([syncA.close(), syncB.close()])
    await Promise.all([a.close(), b.close()])
  })

  it('pause() while a flush waits: the flush rejects at once saying so, not after flushTimeout with another reason', async () => {
    const backend = new MemoryBackend()
    const a = database('pause-flush', { storage: 'memory', dir: `/pause-flush/a/${Math.random()}` })
    const sync = a.connect(new MemoryConnector(backend), { pollInterval: 0, flushTimeout: 60_000 })
    await sync.ready
    sync.pause()
    await a.put({ _id: 'queued' })
    // Back on for a moment (a metered connection toggled): the pull it starts runs, the push after it does not.
    sync.resume()
    const flushed = sync.flush()
    sync.pause()
    await expect(flushed).rejects.toThrow('Connector memory failed to flush: sync is paused: call resume() first')
    expect(backend.meta.get('pause-flush')?.get('main')?.size ?? 0).toBe(0)
    sync.resume()
    await sync.flush()
    await Promise.all([sync.close(), a.close()])
  })
})
