import { fileCid } from '@proj/connector-tests'
import { describe, expect, it } from 'vitest'
import { s3ClientConfig, s3Connector, s3PresignedConnector } from '../src/index.js'
import { freePort } from '@proj/test-utils'

// A closed port on 127.0.0.1: every operation must reject with an error instead of hanging (the test
// timeout below is the bound; the defaults retry 3 times with short backoff).
describe('unreachable endpoint', () => {
  it('s3Connector rejects every operation with an error', { timeout: 20_000 }, async () => {
    const port = await freePort()
    const connector = s3Connector({
      bucket: 'bucket',
      s3: s3ClientConfig({
        endpoint: `http://127.0.0.1:${port}`,
        forcePathStyle: true,
        credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
      }),
    })
    const bytes = new Uint8Array([1, 2, 3])
    const cid = await fileCid(bytes)
    await expect(connector.upload('db', cid, bytes)).rejects.toThrow(/^s3 put db\/data\/bafkrei.*ECONNREFUSED/)
    await expect(connector.download('db', cid)).rejects.toThrow(/^s3 get db\/data\/bafkrei.*ECONNREFUSED/)
    await expect(connector.load('db', 'main')).rejects.toThrow(/^s3 list db\/meta\/main\/ failed/)
    await connector.close()
  })

  it('s3PresignedConnector rejects with an error when the signer is down', { timeout: 20_000 }, async () => {
    const port = await freePort()
    const connector = s3PresignedConnector({ signer: `http://127.0.0.1:${port}/sign` })
    const cid = await fileCid(new Uint8Array([4]))
    await expect(connector.download('db', cid)).rejects.toThrow(/^s3 sign download failed: fetch failed/)
  })
})
