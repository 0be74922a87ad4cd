import { afterAll, beforeAll } from 'vitest'
import { runConnectorTests } from '@proj/connector-tests'
import { serveFromTempDir, type LoopbackServer } from '@proj/test-utils'
import { httpConnector } from '../src/index.js'
import { createStoreServer } from '../src/server.js'

let server: LoopbackServer
const token = 'secret-token'

beforeAll(async () => {
  server = await serveFromTempDir('proj-serve', (dir) => createStoreServer({ dir, token }))
})
afterAll(() => server.stop())

runConnectorTests(
  'http (proj-serve)',
  async () => ({
    connector: httpConnector(server.url, { token }),
    peer: async () => httpConnector(server.url, { token }),
  }),
  { subscribe: false },
)
