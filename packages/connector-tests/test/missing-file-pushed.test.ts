import { afterEach, expect, it } from 'vitest'
import { database, type ConnectorError, type Database, type Sync } from '@proj/core'
import { MemoryBackend, MemoryConnector } from '../src/index.js'
import { uniqueDir } from './sync-helpers.js'

/**
 * A pushed entry (subscribe) naming a file the backend does not hold: the backend acknowledged the upload and
 * lost it. The follower's merge of the push meets the backend's "not here" for the file: reported once, as
 * permanent and naming the file, and sync stops there; before, the merge failure started a pull that met it
 * again, retried with backoff for good (status 'offline', an error event per try).
 */
class LosingConnector extends MemoryConnector {
  losing = false
  readonly lost: string[] = []

  override async upload(db: string, cid: string, bytes: Uint8Array): Promise<void> {
    if (!this.losing) return super.upload(db, cid, bytes)
    this.lost.push(cid)
  }
}

const open: { close(): Promise<void> }[] = []
afterEach(async () => {
  for (const item of open.splice(0).reverse()) await item.close()
})

function device(key?: string): Database {
  const db = database('pushed-missing', { storage: 'memory', dir: uniqueDir('pushed-missing'), key })
  open.push(db)
  return db
}

function connect(db: Database, connector: MemoryConnector): Sync {
  const sync = db.connect(connector, { pollInterval: 0, maxBackoff: 50, flushTimeout: 20_000 })
  open.push(sync)
  return sync
}

it('a pushed entry naming a file the backend lost: one permanent error naming the file, then sync stops retrying it', async () => {
  const backend = new MemoryBackend()
  const writer = new LosingConnector(backend)
  const a = device()
  const syncA = connect(a, writer)
  await syncA.ready
  await a.put({ _id: 'kept' })
  await syncA.flush()

  const b = device(await a.exportKey())
  const syncB = connect(b, new MemoryConnector(backend))
  const errors: ConnectorError[] = []
  syncB.on('error', (error) => errors.push(error))
  await syncB.ready
  expect((await b.get('kept'))._id).toBe('kept')

  writer.losing = true
  await a.put({ _id: 'lost' })
  await syncA.flush()
  expect(writer.lost.length).toBeGreaterThan(0)

  await expect.poll(() => syncB.status).toBe('error')
  expect(errors).toHaveLength(1)
  expect(errors[0]!.permanent).toBe(true)
  const cause = errors[0]!.cause as { name: string; cid: string; backend: string }
  expect(cause.name).toBe('MissingFileError')
  expect(writer.lost).toContain(cause.cid)
  expect(cause.backend).toBe('memory')
  // A flush tries once more, meets the same answer and rejects with it: the same news, no second event.
  await expect(syncB.flush()).rejects.toMatchObject({ message: errors[0]!.message })
  expect(errors).toHaveLength(1)
  expect((await b.get('kept'))._id).toBe('kept')
})
