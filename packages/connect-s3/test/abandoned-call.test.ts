import { afterEach, expect, it } from 'vitest'
import { database, type Sync } from '@proj/core'
import { silentServer } from '@proj/test-utils'
import { connect, s3ClientConfig, s3PresignedConnector } from '../src/index.js'

/**
 * A call sync gave up on (no answer within callTimeout) must not keep its request open: sync aborts the
 * call's signal and the connector ends the request, instead of leaving it to the client's own timeout (60 s
 * by default) or, with retries, longer.
 */
const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function open(name: string, connectTo: (db: ReturnType<typeof database>) => Sync): void {
  const db = database(name, { storage: 'memory', dir: `/s3-abandoned/${name}/${Math.random()}` })
  cleanups.push(() => db.close())
  const sync = connectTo(db)
  cleanups.push(() => sync.close())
}

it('connect.s3: the request of a call that timed out is ended while the sync goes on', async () => {
  const endpoint = await silentServer()
  cleanups.push(() => endpoint.stop())
  const s3 = s3ClientConfig({ endpoint: endpoint.url, forcePathStyle: true, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } })
  open('s3-abandoned', (db) => connect.s3(db, { bucket: 'bucket', s3 }, { pollInterval: 0, maxBackoff: 50, callTimeout: 200 }))
  await expect.poll(() => endpoint.held).toBeGreaterThanOrEqual(1)
  // Every request the first pull's retries sent was ended, each once its call was given up.
  await expect.poll(() => endpoint.ended).toBeGreaterThanOrEqual(2)
})

it('s3PresignedConnector: the signer request of a call that timed out is ended', async () => {
  const signer = await silentServer()
  cleanups.push(() => signer.stop())
  open('s3-presigned-abandoned', (db) =>
    db.connect(s3PresignedConnector({ signer: `${signer.url}/sign` }), { pollInterval: 0, maxBackoff: 50, callTimeout: 200 }),
  )
  await expect.poll(() => signer.held).toBeGreaterThanOrEqual(1)
  await expect.poll(() => signer.ended).toBeGreaterThanOrEqual(2)
})
