import { afterAll, beforeAll } from 'vitest'
import { MemoryBackend, MemoryConnector, runConnectorTests } from '@proj/connector-tests'
import { ipfsConnector } from '../src/index.js'
import { startW3up, type W3upBackend } from './w3up.js'

let backend: W3upBackend
beforeAll(async () => {
  backend = await startW3up()
})
afterAll(async () => {
  await backend?.stop()
})

// Each connector is a separate device: its own w3up agent and space; all read through the Helia gateway.
const device = async () => ({ client: await backend.client(), gateway: backend.gateway })

runConnectorTests(
  'ipfs files (w3up + Helia trustless gateway)',
  async () => {
    // No meta half: the connector moves files only.
    const files = async () => ipfsConnector(await device())
    return { connector: await files(), peer: files, filesOnly: true, sharedFiles: true }
  },
  { filesOnly: true, sharedFiles: true },
)

runConnectorTests('ipfs with a memory meta half', async () => {
  const meta = new MemoryBackend()
  const connect = async () => ipfsConnector({ ...(await device()), meta: new MemoryConnector(meta) })
  return { connector: await connect(), peer: connect, sharedFiles: true }
})
