import { mkdtemp, rm } from 'node:fs/promises'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll } from 'vitest'
import { runConnectorTests } from '@proj/connector-tests'
import { httpConnector } from '../src/index.js'
import { createStoreServer } from '../src/server.js'

let dir: string
let server: Server
let url: string
const token = 'secret-token'

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'proj-serve-'))
  server = createStoreServer({ dir, token })
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise((done) => server.close(done))
  await rm(dir, { recursive: true, force: true })
})

runConnectorTests(
  'http (proj-serve)',
  async () => ({
    connector: httpConnector(url, { token }),
    peer: async () => httpConnector(url, { token }),
  }),
  { subscribe: false },
)
