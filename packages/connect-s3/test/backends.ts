/** Test backends: the radosgw cluster from global-setup, s3rver in-process, and a signing server. */
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CreateBucketCommand, ListObjectsV2Command, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3'
import S3rver from 's3rver'
import { inject } from 'vitest'
import type { ConnectorError, Sync } from '@proj/core'
import { s3ClientConfig } from '../src/index.js'
import { createSigningHandler, type SigningHandlerOptions } from '../src/server.js'

/** The error a sync's `ready` rejects with; undefined when it resolves. */
export function readyError(sync: Sync): Promise<ConnectorError | undefined> {
  return sync.ready.then(
    () => undefined,
    (error: ConnectorError) => error,
  )
}

export const randomName = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 10)}`

export interface Backend {
  /** Client config for a new S3Client on this backend. */
  config: S3ClientConfig
  stop(): Promise<void>
}

/** The radosgw cluster started by global-setup; fails with the setup's reason when there is none. */
export function radosgw(): Backend {
  const info = inject('radosgw')
  if (!info.endpoint) throw new Error(`radosgw is not available: ${info.error ?? 'global setup did not run'}`)
  return {
    config: s3ClientConfig({
      endpoint: info.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: info.accessKeyId!, secretAccessKey: info.secretAccessKey! },
    }),
    stop: async () => {},
  }
}

/** s3rver in-process on a free port, storing in a temp dir. */
export async function s3rver(): Promise<Backend> {
  const directory = await mkdtemp(join(tmpdir(), 'connect-s3-s3rver-'))
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory })
  const { port } = await server.run()
  return {
    config: s3ClientConfig({
      endpoint: `http://127.0.0.1:${port}`,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    }),
    stop: async () => {
      await server.close()
      await rm(directory, { recursive: true, force: true })
    },
  }
}

export async function createBucket(config: S3ClientConfig, bucket = randomName('bucket')): Promise<string> {
  const client = new S3Client(config)
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }))
  } finally {
    client.destroy()
  }
  return bucket
}

export async function listKeys(config: S3ClientConfig, bucket: string, prefix = ''): Promise<string[]> {
  const client = new S3Client(config)
  const keys: string[] = []
  try {
    let token: string | undefined
    do {
      const out = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }))
      for (const o of out.Contents ?? []) if (o.Key) keys.push(o.Key)
      token = out.IsTruncated ? out.NextContinuationToken : undefined
    } while (token)
  } finally {
    client.destroy()
  }
  return keys
}

export interface SigningServer {
  url: string
  close(): Promise<void>
}

/** A real http server mounting createSigningHandler at /sign. */
export async function signingServer(
  config: S3ClientConfig,
  bucket: string,
  prefix: string,
  authorize: SigningHandlerOptions['authorize'],
): Promise<SigningServer> {
  const client = new S3Client(config)
  const handler = createSigningHandler({ client, bucket, prefix, authorize })
  const server: Server = createServer((req, res) => {
    if (req.url === '/sign') void handler(req, res)
    else res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  return {
    url: `http://127.0.0.1:${port}/sign`,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      client.destroy()
    },
  }
}
