import { inject } from 'vitest'
import { runConnectorTests } from '@proj/connector-tests'
import { partykitConnector } from '../src/index.js'

const host = inject('partykitHost')

// Each connector is a separate client (its own sockets), like another device; each test uses fresh db names.
runConnectorTests('partykit (partykit dev)', async () => ({
  connector: partykitConnector(host),
  peer: async () => partykitConnector(host),
}))
