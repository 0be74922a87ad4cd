import { afterAll, beforeAll, expect, it } from 'vitest'
import type { MetaEntry } from '@proj/core/connector'
import { fileCid, metaEntry } from '@proj/connector-tests'
import { partykitConnector, type PartykitStatus } from '../src/index.js'
import { startPartykit, type PartykitDev } from './partykit-dev.js'

// A dev server of its own: this file stops and restarts it, which the shared servers must not see.
let server: PartykitDev
beforeAll(async () => {
  server = await startPartykit()
})
afterAll(async () => {
  await server?.stop()
})

const text = (s: string) => new TextEncoder().encode(s)

it('loses no files or meta across a restart, reports its status, and delivers a save made while down', async () => {
  const db = `db-${crypto.randomUUID()}`
  const connector = partykitConnector(server.url, { maxReconnectionDelay: 500 })
  const statuses: PartykitStatus[] = []
  connector.onStatus((status) => statuses.push(status))
  const pushed = new Set<string>()
  const other = partykitConnector(server.url, { maxReconnectionDelay: 500 })
  try {
    expect(connector.status).toBe('idle')
    const big = new Uint8Array(300 * 1024).map((_, i) => (i * 7919) % 251)
    const bigCid = await fileCid(big)
    await connector.upload(db, bigCid, big)
    const e1 = await metaEntry(text('before the restart'))
    const e2 = await metaEntry(text('also before'))
    await connector.save(db, 'main', e1, [])
    await connector.save(db, 'main', e2, [e1.cid])
    expect(connector.status).toBe('open')
    other.subscribe(db, 'main', (entries: MetaEntry[]) => entries.forEach((e) => pushed.add(e.cid)))
    await expect.poll(() => pushed.has(e2.cid)).toBe(true)

    await server.stop(false)
    await expect.poll(() => connector.status).toBe('offline')
    // A save while the server is down waits for the reconnection, then resolves on the ack.
    const e3 = await metaEntry(text('saved while down'))
    const saving = connector.save(db, 'main', e3, [e2.cid])
    await server.start()
    await saving
    expect(connector.status).toBe('open')
    expect(statuses).toEqual(['connecting', 'open', 'offline', 'open'])

    expect(await connector.download(db, bigCid)).toEqual(big)
    expect((await connector.load(db, 'main')).map((e) => e.cid)).toEqual([e3.cid])
    // The other client reconnected by itself and got the push.
    await expect.poll(() => pushed.has(e3.cid)).toBe(true)

    await server.restart()
    const fresh = partykitConnector(server.url)
    try {
      expect(await fresh.download(db, bigCid)).toEqual(big)
      expect(await fresh.load(db, 'main')).toEqual([{ cid: e3.cid, bytes: e3.bytes }])
    } finally {
      await fresh.close()
    }
  } finally {
    await connector.close()
    await other.close()
  }
  expect(connector.status).toBe('closed')
  expect(statuses.at(-1)).toBe('closed')
})
