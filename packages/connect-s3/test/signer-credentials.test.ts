import { createServer, type Server } from 'node:http'
import { database, type ConnectorError } from '@proj/core'
import { closeServer, listenOnLoopback } from '@proj/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { s3ClientConfig, s3PresignedConnector } from '../src/index.js'
import { createBucket, radosgw, randomName, readyError, signingServer, type Backend, type SigningServer } from './backends.js'

// The signing server's own S3 configuration is wrong (a wrong secret, a bucket that does not exist): every
// URL it signs is refused by S3, and every listing it proxies fails. Retrying cannot help until the server is
// fixed, so presigned mode stops with a permanent error, as direct mode does, instead of retrying for good.
let backend: Backend
let bucket: string
const servers: SigningServer[] = []
beforeAll(async () => {
  backend = radosgw()
  bucket = await createBucket(backend.config)
})
afterAll(async () => {
  for (const server of servers) await server.close()
})

const misconfigured = {
  'a wrong secret': async () =>
    signingServer(
      s3ClientConfig({
        endpoint: String(backend.config.endpoint),
        forcePathStyle: true,
        credentials: { accessKeyId: 'testak', secretAccessKey: 'not-the-secret-1234' },
      }),
      bucket,
      'p',
      'allow-all',
    ),
  'a bucket that does not exist': async () => signingServer(backend.config, randomName('missing'), 'p', 'allow-all'),
}

describe.each(Object.entries(misconfigured))('a signer with %s', (_what, start) => {
  it('ready rejects with a permanent error, status error; a write stays local', async () => {
    const server = await start()
    servers.push(server)
    const db = database(randomName('signer-conf'), { storage: 'memory', dir: `/signer-conf/${Math.random()}` })
    await db.put({ _id: 'kept' })
    const sync = db.connect(s3PresignedConnector({ signer: server.url }), { pollInterval: 0, maxBackoff: 50 })
    try {
      const error = (await readyError(sync))!
      expect(error?.permanent).toBe(true)
      expect(error.message).not.toContain('not-the-secret-1234')
      expect(sync.status).toBe('error')
      expect(await db.get('kept')).toEqual({ _id: 'kept' })
    } finally {
      await sync.close()
      await db.close()
    }
  })
})

describe('URLs S3 refuses although the listing works (a signer whose signatures do not match)', () => {
  it('the upload fails as permanent once, flush() rejects, status error; nothing is retried for good', async () => {
    const real = await signingServer(backend.config, bucket, 'p', 'allow-all')
    servers.push(real)
    // Forwards to the real signer and spoils the signature of every URL but the listing's.
    const proxy: Server = createServer(async (req, res) => {
      const chunks: Buffer[] = []
      for await (const chunk of req) chunks.push(chunk as Buffer)
      const body = Buffer.concat(chunks).toString('utf8')
      const answer = await fetch(real.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      let text = await answer.text()
      if ((JSON.parse(body) as { op: string }).op === 'upload') text = text.replace(/X-Amz-Signature=([0-9a-f])/, (_, c: string) => `X-Amz-Signature=${c === '0' ? '1' : '0'}`)
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(text)
    })
    const url = `${await listenOnLoopback(proxy)}/sign`
    const db = database(randomName('spoiled'), { storage: 'memory', dir: `/spoiled/${Math.random()}` })
    const sync = db.connect(s3PresignedConnector({ signer: url }), { pollInterval: 0, maxBackoff: 50 })
    try {
      await sync.ready
      await db.put({ _id: 'kept' })
      const error = (await sync.flush().then(
        () => undefined,
        (e: ConnectorError) => e,
      ))!
      expect(error?.permanent).toBe(true)
      expect(error.message).toMatch(/s3 put \S+ failed: 403/)
      expect(sync.status).toBe('error')
    } finally {
      await sync.close()
      await db.close()
      await closeServer(proxy)
    }
  })
})
