import { describe, expect, it } from 'vitest'
import type { Connector } from '../src/connector/api.js'
import { database, type Database, type Sync } from '../src/index.js'
import { tempDir } from './helpers.js'
import { memoryBackend } from './memory-backend.js'

/**
 * A reader that only follows a writer must fast-forward to the writer's newer head, however many events it
 * missed: were it to write a merge event instead, it would save it, and a writer writing on would have to
 * merge it back (and the reader the writer's next head again), for as long as the writes go on.
 */
const closers: { close(): Promise<void> }[] = []

async function closeAll(): Promise<void> {
  for (const item of closers.splice(0).reverse()) await item.close().catch(() => {})
}

function counted(inner: Connector): Connector & { saves: number } {
  const connector = {
    ...inner,
    saves: 0,
    save: (...args: Parameters<Connector['save']>) => {
      connector.saves++
      return inner.save(...args)
    },
  }
  return connector
}

function open(key?: string): Database {
  const db = database('follow', key === undefined ? { dir: tempDir() } : { dir: tempDir(), key })
  closers.push(db)
  return db
}

function connect(db: Database, connector: Connector): Sync {
  const sync = db.connect(connector, { pollInterval: 0, maxBackoff: 50, flushTimeout: 5_000 })
  closers.push(sync)
  return sync
}

describe('a reader catching up on a writer', () => {
  it('fast-forwards over events it never saw, across a checkpoint event, and saves nothing back', async () => {
    try {
      const backend = memoryBackend()
      const a = open()
      const syncA = connect(a, backend())
      await a.put({ _id: 'first' })
      await syncA.flush()
      const b = open(await a.exportKey())
      const toB = counted(backend())
      const syncB = connect(b, toB)
      await syncB.ready
      expect(await b.clock()).toEqual(await a.clock())
      // Each flush saves an entry that replaces the one before: the backend keeps only the newest, so the
      // reader sees none of the 40 events in between, and more than the 32 between two checkpoints.
      syncB.pause()
      const writes = 40
      for (let i = 0; i < writes; i++) {
        await a.put({ _id: `doc-${i}`, i })
        await syncA.flush()
      }
      syncB.resume()
      await syncB.refresh()
      await syncB.flush()
      expect(await b.clock()).toEqual(await a.clock())
      expect(toB.saves).toBe(0)
      expect((await b.allDocs()).rows).toHaveLength(writes + 1)
    } finally {
      await closeAll()
    }
  })
})
