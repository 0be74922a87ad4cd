import { expect, it } from 'vitest'
import { database } from '@proj/core'
import { connect, type RawParams } from '../src/index.js'

// pause() is for a metered connection: a flush waiting then must say at once that nothing will be pushed,
// not after the upload in flight (slow, or hung until its timeout) ends.
it('pause() while an upload is in flight rejects the waiting flush at once; after resume() the flush completes', async () => {
  const objects = new Map<string, Uint8Array>()
  let release!: () => void
  const released = new Promise<void>((resolve) => (release = resolve))
  let uploadsStarted = 0
  const fns = {
    upload: async (bytes: Uint8Array, params: RawParams) => {
      if (params.type === 'data') {
        uploadsStarted++
        await released
      }
      objects.set(`${params.type}/${params.car ?? params.branch}`, bytes.slice())
    },
    download: async (params: RawParams) => objects.get(`${params.type}/${params.car ?? params.branch}`)?.slice(),
  }
  const db = database('pause-slow', { storage: 'memory', dir: `/pause-slow/${Math.random()}` })
  const sync = connect.raw(db, fns, { pollInterval: 0 })
  try {
    await sync.ready
    await db.put({ _id: 'a', text: 'waits for resume' })
    const flushing = sync.flush()
    await expect.poll(() => uploadsStarted).toBeGreaterThan(0)
    sync.pause()
    // The upload is still held: the flush must not wait for it.
    await expect(flushing).rejects.toThrow('Connector raw failed to flush: sync is paused: call resume() first')
    release()
    sync.resume()
    const clock = await sync.flush()
    const fresh = database('pause-slow', { storage: 'memory', dir: `/pause-slow/fresh/${Math.random()}`, key: await db.exportKey() })
    const freshSync = connect.raw(fresh, fns, { pollInterval: 0 })
    try {
      await freshSync.ready
      expect((await (await fresh.at(clock)).get('a')).text).toBe('waits for resume')
    } finally {
      await freshSync.close()
      await fresh.close()
    }
  } finally {
    release()
    await sync.close()
    await db.close()
  }
})
