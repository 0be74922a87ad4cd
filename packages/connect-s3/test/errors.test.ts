import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net'
import { ConnectorError, database, type Database, type Sync } from '@proj/core'
import { isPermanentError } from '@proj/core/kit'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { connect, s3ClientConfig, s3Connector, type S3ConnectOptions } from '../src/index.js'
import { createBucket, radosgw, randomName, type Backend } from './backends.js'
import { expectPermanentFailure, expectRetriedWhileOffline, freePort } from '@proj/test-utils'

// Failures that retrying cannot fix reach the application once, typed and named; the local writes stay.
let backend: Backend
let bucket: string
let endpoint: string
beforeAll(async () => {
  backend = radosgw()
  bucket = await createBucket(backend.config)
  endpoint = String(backend.config.endpoint)
})

const opened: Array<{ db: Database; sync: Sync }> = []
afterEach(async () => {
  for (const { db, sync } of opened.splice(0)) {
    await sync.close()
    await db.close()
  }
})

/** A database with one local write, connected with `options`; records every error the sync reports. */
async function device(name: string, options: S3ConnectOptions, key?: string) {
  const db = database(name, { storage: 'memory', ...(key ? { key } : {}) })
  await db.put({ _id: 'milk', title: 'milk' })
  const sync = connect.s3(db, options, { pollInterval: 100, maxBackoff: 200 })
  const errors: ConnectorError[] = []
  sync.on('error', (error) => errors.push(error))
  opened.push({ db, sync })
  return { db, sync, errors }
}

const credentials = (accessKeyId: string, secretAccessKey: string) =>
  s3ClientConfig({ endpoint, forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } })

describe('permanent S3 failures (radosgw)', () => {
  it('a missing bucket rejects ready at once with BackendConfigError naming the bucket; the write is kept', async () => {
    const missing = randomName('missing')
    const name = randomName('todos')
    const options = { bucket: missing, s3: backend.config }
    const d = await device(name, options)
    const error = await expectPermanentFailure(d, { settle: 'ready' })
    expect(error.cause).toMatchObject({ name: 'BackendConfigError', permanent: true })
    expect(error.message).toContain(`bucket "${missing}" does not exist at ${endpoint}`)
    expect(error.message).toMatch(/^Connector s3 failed to load: s3: /)
    expect(d.sync.status).toBe('error')
    expect(d.errors[0]).toBe(error)
    await expect(d.sync.flush()).rejects.toBe(error)
    expect(await d.db.get('milk')).toMatchObject({ title: 'milk' })

    // Once the bucket exists, the same database pushes the write it kept, and a fresh device reads it.
    await createBucket(backend.config, missing)
    await d.sync.close()
    const again = connect.s3(d.db, options)
    opened.push({ db: d.db, sync: again })
    await again.flush()
    const fresh = database(name, { storage: 'memory', key: await d.db.exportKey() })
    const freshSync = connect.s3(fresh, options)
    opened.push({ db: fresh, sync: freshSync })
    await freshSync.ready
    expect(await fresh.get('milk')).toMatchObject({ title: 'milk' })
  })

  it('a wrong secret rejects ready at once with AuthError naming bucket and endpoint, never the secret', async () => {
    const secret = 'not-the-secret-1234'
    const d = await device(randomName('todos'), { bucket, s3: credentials('testak', secret) })
    const error = await expectPermanentFailure(d, { settle: 'ready' })
    expect(error.cause).toMatchObject({ name: 'AuthError', permanent: true })
    expect(error.message).toContain('s3 refused the credentials: the secret access key does not match the access key id')
    expect(error.message).toContain(`bucket "${bucket}" at ${endpoint}`)
    expect(error.message).not.toContain(secret)
    expect(d.sync.status).toBe('error')
    expect(await d.db.get('milk')).toMatchObject({ title: 'milk' })
  })

  it('an unknown access key rejects ready with AuthError', async () => {
    const d = await device(randomName('todos'), { bucket, s3: credentials('nobody', 'whatever-secret') })
    const error = await expectPermanentFailure(d, { settle: 'ready' })
    expect(error.message).toContain('s3 refused the credentials: the access key id is unknown to the server')
    expect(error.message).not.toContain('whatever-secret')
    expect(d.sync.status).toBe('error')
  })

  it('every operation of the connector throws a permanent error for a missing bucket (never "no such file")', async () => {
    const missing = randomName('missing')
    const connector = s3Connector({ bucket: missing, s3: backend.config })
    const bytes = new Uint8Array([1, 2, 3])
    const { fileCid } = await import('@proj/connector-tests')
    const cid = await fileCid(bytes)
    for (const op of [
      () => connector.download('db', cid),
      () => connector.upload('db', cid, bytes),
      () => connector.load('db', 'main'),
      () => connector.save('db', 'main', { cid, bytes }, []),
    ]) {
      const error = await op().then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error).toMatchObject({ name: 'BackendConfigError' })
      expect(isPermanentError(error)).toBe(true)
      expect((error as Error).message).toContain(`bucket "${missing}" does not exist`)
    }
    await connector.close()
  })
})

/** A TCP relay to radosgw on a fixed port, which the test opens and closes: the endpoint going away and back. */
async function relay(target: URL): Promise<{ endpoint: string; open(): Promise<void>; shut(): Promise<void> }> {
  const port = await freePort()
  let server: Server | undefined
  const sockets = new Set<Socket>()
  return {
    endpoint: `http://127.0.0.1:${port}`,
    open: () =>
      new Promise<void>((resolve, reject) => {
        server = createServer((client) => {
          const upstream = tcpConnect(Number(target.port), target.hostname)
          for (const s of [client, upstream]) {
            sockets.add(s)
            s.on('close', () => sockets.delete(s))
            s.on('error', () => s.destroy())
          }
          client.pipe(upstream).pipe(client)
        })
        server.once('error', reject)
        server.listen(port, '127.0.0.1', () => resolve())
      }),
    shut: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        if (!server) return resolve()
        server.close(() => resolve())
      }),
  }
}

describe('transient S3 failures (radosgw)', () => {
  let gate: Awaited<ReturnType<typeof relay>>
  afterAll(() => gate?.shut())

  it('an unreachable endpoint is offline and retried; ready resolves once it answers', async () => {
    gate = await relay(new URL(endpoint))
    const s3 = s3ClientConfig({ ...backend.config, endpoint: gate.endpoint, maxAttempts: 1 })
    const d = await device(randomName('todos'), { bucket, s3 })
    await expectRetriedWhileOffline(d)

    await gate.open()
    await d.sync.ready
    await d.sync.flush()
    expect(d.sync.status).toBe('synced')
  })
})
