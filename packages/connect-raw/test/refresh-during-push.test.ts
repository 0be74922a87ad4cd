import { expect, it } from 'vitest'
import { database } from '@proj/core'
import { connect, type RawParams } from '../src/index.js'

/**
 * refresh() pulls while the loop's own pull or push is in flight. A listing read before a save landed, and
 * answered after it, is older than what this device knows: it must not pass for the backend's current state
 * (an emptied store, entries gone), or sync forgets what the backend holds and uploads everything again.
 */

/** A gate a backend call waits at until the test opens it; `reached` resolves when a call arrives. */
function gate() {
  let open!: () => void
  let arrived!: () => void
  const opened = new Promise<void>((resolve) => (open = resolve))
  const reached = new Promise<void>((resolve) => (arrived = resolve))
  return { open, opened, reached, arrive: arrived }
}
type Gate = ReturnType<typeof gate>

/** Holds the call at the gate in `slot`, if one is set: once (the slot is emptied as the call arrives). */
async function passGate(slot: { gate?: Gate }): Promise<void> {
  const held = slot.gate
  if (!held) return
  slot.gate = undefined
  held.arrive()
  await held.opened
}

it('a refresh whose listing was read before an in-flight save landed does not make sync upload everything again', async () => {
  const objects = new Map<string, Uint8Array>()
  const dataUploads = new Map<string, number>()
  let metaSaves = 0
  const objectName = ({ type, car, branch }: RawParams) => `${type}/${car ?? branch}`
  const saveGate: { gate?: Gate } = {}
  const loadGate: { gate?: Gate } = {}
  const fns = {
    upload: async (bytes: Uint8Array, params: RawParams) => {
      if (params.type === 'data') dataUploads.set(params.car!, (dataUploads.get(params.car!) ?? 0) + 1)
      if (params.type === 'meta') metaSaves++
      if (params.type === 'meta') await passGate(saveGate)
      objects.set(objectName(params), bytes.slice())
    },
    download: async (params: RawParams) => {
      // The listing as it is when the read arrives, answered when the gate opens (a slow reply).
      const bytes = objects.get(objectName(params))?.slice()
      if (params.type === 'meta') await passGate(loadGate)
      return bytes
    },
  }
  const db = database('refresh-during-push', { storage: 'memory', dir: `/refresh-during-push/${Math.random()}` })
  const sync = connect.raw(db, fns, { pollInterval: 0 })
  try {
    await sync.ready
    const save = (saveGate.gate = gate())
    await db.bulk(Array.from({ length: 10 }, (_, i) => ({ _id: `doc-${i}`, text: 'z'.repeat(200) })))
    // The first save is under way: its files are up, its entry not yet stored.
    await save.reached
    const load = (loadGate.gate = gate())
    const refreshed = sync.refresh()
    await load.reached
    save.open()
    await expect.poll(() => objects.has('meta/main')).toBe(true)
    await expect.poll(() => sync.status).toBe('synced')
    load.open()
    await refreshed
    await sync.flush()
    expect(dataUploads.size).toBeGreaterThan(0)
    expect([...dataUploads.values()].filter((count) => count > 1)).toEqual([])
    // Nor save again the entry the backend holds (the stale listing lacks it).
    expect(metaSaves).toBe(1)
  } finally {
    await sync.close()
    await db.close()
  }
})

it('two refreshes whose listings come back out of order: the older one does not make sync save a clock the backend holds', async () => {
  const objects = new Map<string, Uint8Array>()
  const objectName = ({ type, name, car, branch }: RawParams) => `${name}/${type}/${car ?? branch}`
  const store = { upload: async (bytes: Uint8Array, params: RawParams) => void objects.set(objectName(params), bytes.slice()) }
  let readerSaves = 0
  const loadGate: { gate?: Gate } = {}
  const reader = {
    upload: async (bytes: Uint8Array, params: RawParams) => {
      if (params.type === 'meta') readerSaves++
      await store.upload(bytes, params)
    },
    download: async (params: RawParams) => {
      const bytes = objects.get(objectName(params))?.slice()
      if (params.type === 'meta') await passGate(loadGate)
      return bytes
    },
  }
  const writer = { upload: store.upload, download: (params: RawParams) => objects.get(objectName(params))?.slice() }
  const name = 'refresh-out-of-order'
  const a = database(name, { storage: 'memory', dir: `/refresh-out-of-order/a/${Math.random()}` })
  const b = database(name, { storage: 'memory', dir: `/refresh-out-of-order/b/${Math.random()}`, key: await a.exportKey() })
  const writerSync = connect.raw(a, writer, { pollInterval: 0 })
  const readerSync = connect.raw(b, reader, { pollInterval: 0 })
  try {
    await a.put({ _id: 'doc', version: 1 })
    await writerSync.flush()
    await readerSync.ready
    await readerSync.refresh()
    const load = (loadGate.gate = gate())
    const older = readerSync.refresh()
    await load.reached
    await a.put({ _id: 'doc', version: 2 })
    await writerSync.flush()
    await readerSync.refresh()
    expect((await b.get('doc')).version).toBe(2)
    load.open()
    await older
    await readerSync.flush()
    expect((await b.get('doc')).version).toBe(2)
    // The reader only followed: every clock it had was on the backend already.
    expect(readerSaves).toBe(0)
  } finally {
    await readerSync.close()
    await writerSync.close()
    await a.close()
    await b.close()
  }
})
