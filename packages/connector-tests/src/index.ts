export { fileCid, metaEntry, verifyCid } from './cid.js'
export { MemoryBackend, MemoryConnector } from './memory.js'
export { runConnectorTests, type ConnectorCapabilities, type ConnectorFixture } from './suite.js'
export { FaultyConnector, InjectedFault, seededRandom, type Fault, type FaultCall, type FaultOptions } from './faulty.js'
export {
  canonicalJson,
  checkConvergence,
  runConvergence,
  runConvergenceSeeds,
  type ConvergenceOptions,
  type ConvergenceReport,
} from './convergence.js'
