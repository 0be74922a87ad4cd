import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { database } from '@proj/core'
import { MemoryBackend, MemoryConnector } from '../src/index.js'
import { until } from './sync-helpers.js'

/** What the backend holds stays true to what devices flushed: no save drops an unmerged entry, lost files are repaired. */

const dirs: string[] = []
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

/** A MemoryConnector whose uploads wait while `held` is true (a slow network), for ordering races. */
class GatedConnector extends MemoryConnector {
  held = false
  readonly #waiting: (() => void)[] = []
  waitingUploads = 0

  override async upload(db: string, cid: string, bytes: Uint8Array): Promise<void> {
    if (this.held) {
      this.waitingUploads++
      await new Promise<void>((resolve) => this.#waiting.push(resolve))
      this.waitingUploads--
    }
    return super.upload(db, cid, bytes)
  }

  /** Lets the uploads waiting now through; later ones wait again while `held`. */
  releaseWaiting(): void {
    for (const resolve of this.#waiting.splice(0)) resolve()
  }
}

async function freshIds(backend: MemoryBackend, name: string, key: string): Promise<string[]> {
  const fresh = database(name, { storage: 'memory', dir: `/fresh/${Math.random()}`, key })
  const sync = fresh.connect(new MemoryConnector(backend), { pollInterval: 0 })
  try {
    await sync.ready
    return (await fresh.allDocs()).rows.map((row) => row.key)
  } finally {
    await sync.close()
    await fresh.close()
  }
}

describe('the backend stays true to what was flushed', () => {
  it('a save never removes an entry that was merged while its files uploaded', async () => {
    const backend = new MemoryBackend()
    const a = database('race', { storage: 'memory', dir: `/race/a/${Math.random()}` })
    const key = await a.exportKey()
    const b = database('race', { storage: 'memory', dir: `/race/b/${Math.random()}`, key })
    const gated = new GatedConnector(backend)
    const syncA = a.connect(gated, { pollInterval: 0, maxBackoff: 20 })
    const syncB = b.connect(new MemoryConnector(backend), { pollInterval: 0, maxBackoff: 20 })
    try {
      await Promise.all([syncA.ready, syncB.ready])
      gated.held = true
      await a.put({ _id: 'from-a' })
      // A's push is now uploading (held). B writes and its flush succeeds: B's entry is on the backend.
      await until(() => gated.waitingUploads > 0)
      await b.put({ _id: 'from-b' })
      await syncB.flush()
      // A hears B's entry (pushed by the backend) and merges it while its own upload is still in flight.
      await until(async () => (await a.allDocs()).rows.length === 2)
      // A's in-flight upload finishes, A saves its entry; its next push (of the merge) waits again.
      gated.releaseWaiting()
      await until(() => gated.waitingUploads > 0)
      // B's flushed write must still be readable from the backend alone.
      expect(await freshIds(backend, 'race', key)).toContain('from-b')
    } finally {
      gated.held = false
      gated.releaseWaiting()
      await syncA.close()
      await syncB.close()
      await a.close()
      await b.close()
    }
  })

  it('a file the backend lost is uploaded again by a device that holds it, after a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'repair-'))
    dirs.push(dir)
    const backend = new MemoryBackend()
    let db = database('repair', { dir })
    const key = await db.exportKey()
    for (let i = 0; i < 20; i++) await db.put({ _id: `doc${String(i).padStart(2, '0')}`, text: 'r'.repeat(3000) })
    let sync = db.connect(new MemoryConnector(backend), { pollInterval: 0 })
    await sync.flush()
    await sync.close()
    await db.close()

    // The server loses files (deleted by an operator, a bad disk): readers fail on them.
    const files = backend.files.get('repair')!
    const lost = [...files.keys()].slice(0, Math.ceil(files.size / 2))
    for (const cid of lost) files.delete(cid)
    expect(lost.some((cid) => files.has(cid))).toBe(false)

    // The device that holds them starts again: it finds what the backend lost and uploads it.
    db = database('repair', { dir })
    sync = db.connect(new MemoryConnector(backend), { pollInterval: 0 })
    await sync.ready
    await until(() => lost.every((cid) => files.has(cid)))
    await sync.flush()
    await sync.close()
    await db.close()
    expect(await freshIds(backend, 'repair', key)).toHaveLength(20)
  })
})
