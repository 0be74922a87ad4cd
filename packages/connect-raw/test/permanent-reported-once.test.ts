import { expect, it } from 'vitest'
import { database, type ConnectorError } from '@proj/core'
import { connect, type RawParams } from '../src/index.js'

// A permanent failure is reported once (one 'error' event), whether the automatic push met it before the
// application called flush() or the flush met it: flush's one retry meeting it again is not news.
it('a permanent failure met by the automatic push, then by the retry flush() makes, is one error event', async () => {
  const objects = new Map<string, Uint8Array>()
  const name = ({ type, car, branch }: RawParams) => `${type}/${car ?? branch}`
  const fns = {
    upload: async (bytes: Uint8Array, params: RawParams) => {
      if (params.type === 'data') throw Object.assign(new Error('the store refuses this client'), { status: 403 })
      objects.set(name(params), bytes.slice())
    },
    download: async (params: RawParams) => objects.get(name(params)),
  }
  const db = database('permanent-once', { storage: 'memory', dir: `/permanent-once/${Math.random()}` })
  const sync = connect.raw(db, fns, { pollInterval: 0 })
  const errors: ConnectorError[] = []
  sync.on('error', (error) => errors.push(error))
  try {
    await sync.ready
    await db.put({ _id: 'a' })
    await expect.poll(() => sync.status).toBe('error')
    expect(errors).toHaveLength(1)
    const failure = await sync.flush().then(
      () => undefined,
      (error: ConnectorError) => error,
    )
    expect(failure?.permanent).toBe(true)
    expect(failure?.message).toBe(errors[0]!.message)
    expect(errors).toHaveLength(1)
    expect(sync.lastError).toBe(failure)
  } finally {
    await sync.close()
    await db.close()
  }
})
