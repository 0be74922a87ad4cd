import { ConnectorError, database, type Sync } from '@proj/core'
import { isPermanentError } from '@proj/core/kit'
import { fileCid } from '@proj/connector-tests'
import { describe, expect, it, vi } from 'vitest'
import { connect, rawConnector, type RawFunctions } from '../src/index.js'

// connect.raw passes the user functions' errors through untouched: their own `permanent` flag or name decides.
const objects = () => {
  const map = new Map<string, Uint8Array>()
  const key = (p: { type: string; name: string; car?: string; branch?: string }) => `${p.name}/${p.type}/${p.car ?? p.branch}`
  return {
    upload: async (bytes, params) => void map.set(key(params), bytes),
    download: async (params) => map.get(key(params)),
  } satisfies RawFunctions
}

async function failingDownload(thrown: unknown) {
  const db = database(`raw-errors-${Math.random().toString(36).slice(2)}`, { storage: 'memory' })
  await db.put({ _id: 'milk', title: 'milk' })
  const store = objects()
  let calls = 0
  const sync = connect.raw(db, {
    upload: store.upload,
    download: async () => {
      calls++
      throw thrown
    },
  }, { maxBackoff: 100 })
  const errors: ConnectorError[] = []
  sync.on('error', (error) => errors.push(error))
  return { db, sync, errors, calls: () => calls }
}

describe('connect.raw errors', () => {
  for (const [label, thrown] of [
    ['permanent: true', Object.assign(new Error('the bucket is gone'), { permanent: true })],
    ["name 'AuthError'", Object.assign(new Error('token expired'), { name: 'AuthError' })],
  ] as const) {
    it(`an error with ${label} rejects ready after one call, status 'error', and the write is kept`, async () => {
      const d = await failingDownload(thrown)
      const error = await d.sync.ready.then(() => undefined, (e: unknown) => e)
      expect(error).toBeInstanceOf(ConnectorError)
      expect((error as ConnectorError).permanent).toBe(true)
      expect((error as ConnectorError).cause).toBe(thrown)
      expect((error as Error).message).toBe(`Connector raw failed to load: ${thrown.message}`)
      expect(d.calls()).toBe(1)
      expect(d.errors).toEqual([error])
      expect(d.sync.status).toBe('error')
      expect(await d.db.get('milk')).toMatchObject({ title: 'milk' })
      await d.sync.close()
      await d.db.close()
    })
  }

  it('any other error is transient: offline and retried, ready still pending', async () => {
    const d = await failingDownload(new Error('connection reset'))
    let settled = false
    void d.sync.ready.then(() => (settled = true), () => (settled = true))
    // vi.waitFor's own bound (1 s) could end before a loaded machine makes three attempts.
    await vi.waitFor(() => expect(d.calls()).toBeGreaterThanOrEqual(3), { timeout: 20_000 })
    expect(d.errors.every((e) => e.permanent === false)).toBe(true)
    expect(d.sync.status).toBe('offline')
    expect(settled).toBe(false)
    await d.sync.close()
    await d.db.close()
  })

  it('bytes that do not hash to their CID are refused with a permanent error before the user function runs', async () => {
    let uploads = 0
    const connector = rawConnector({ upload: () => void uploads++, download: () => undefined })
    const cid = await fileCid(new TextEncoder().encode('claimed'))
    const error = await connector.upload('todos', cid, new TextEncoder().encode('other')).catch((e: unknown) => e)
    expect(isPermanentError(error)).toBe(true)
    expect(uploads).toBe(0)
  })
})
