import { runConnectorTests } from '@proj/connector-tests'
import { afterAll, beforeAll } from 'vitest'
import { s3Connector } from '../src/index.js'
import { createBucket, s3rver, type Backend } from './backends.js'

// The quick run: s3rver in-process. It ignores x-amz-checksum-sha256, which the connector tolerates.
let backend: Backend
let bucket: string
beforeAll(async () => {
  backend = await s3rver()
  bucket = await createBucket(backend.config)
})
afterAll(() => backend?.stop())

runConnectorTests('s3 (s3rver)', async () => {
  const make = () => s3Connector({ bucket, prefix: 'quick', s3: backend.config })
  return { connector: make(), peer: async () => make() }
}, { subscribe: false })
