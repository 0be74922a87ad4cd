import { expect, it } from 'vitest'
import { database } from '@proj/core'
import { freePort } from '@proj/test-utils'
import { connect } from '../src/index.js'

// What waits to be uploaded matters most while the backend cannot be reached: sync.pending() and db.info()
// answer from local state, without waiting for a first pull that does not come.
it('pending() and info() answer while the backend is unreachable from the start', async () => {
  const db = database('pending-offline', { storage: 'memory', dir: `/pending-offline/${Math.random()}` })
  const nothingListens = `http://127.0.0.1:${await freePort()}`
  const sync = connect.http(db, nothingListens, { pollInterval: 0, maxBackoff: 50 })
  try {
    await db.put({ _id: 'a', text: 'waits for a backend' })
    await expect.poll(() => sync.status).toBe('offline')
    const pending = await sync.pending()
    expect(pending.files).toBeGreaterThan(0)
    expect(pending.bytes).toBeGreaterThan(0)
    const info = await db.info()
    expect(info.syncs).toEqual([{ connector: 'http', backend: expect.any(String), status: 'offline', paused: false, pending }])
  } finally {
    await sync.close()
    await db.close()
  }
})
