import { expect, it } from 'vitest'
import { database, type ConnectorError } from '@proj/core'
import { freePort } from '@proj/test-utils'
import { connect } from '../src/index.js'

// refresh() retries transient failures until flushTimeout, then rejects: also when the backend has been
// unreachable since the start, and the first pull it waits for never comes.
it('refresh() rejects after flushTimeout, with the last error, while the backend is unreachable from the start', async () => {
  const db = database('refresh-offline', { storage: 'memory', dir: `/refresh-offline/${Math.random()}` })
  const sync = connect.http(db, `http://127.0.0.1:${await freePort()}`, { pollInterval: 0, maxBackoff: 50, flushTimeout: 500 })
  try {
    const error = (await sync.refresh().then(
      () => undefined,
      (e: ConnectorError) => e,
    ))!
    expect(error?.name).toBe('ConnectorError')
    expect(error.permanent).toBe(false)
    expect(error).toBe(sync.lastError)
    expect(sync.status).toBe('offline')
  } finally {
    await sync.close()
    await db.close()
  }
})
