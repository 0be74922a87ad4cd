export { IntegrityError } from '@proj/core/kit'
export {
  ipfsFiles,
  singleBlockCar,
  type GatewayOptions,
  type Gateways,
  type IpfsFilesOptions,
  type W3upClient,
} from './files.js'
export { W3upServiceError } from './w3up-service-error.js'
export { createSnapshot, readSnapshot, ReadOnlyError, snapshotConnector, type SnapshotConnectorOptions } from './snapshot.js'
export { connect, ipfsConnector, type ConnectIpfsOptions, type IpfsConnectorOptions, type IpfsSync } from './connector.js'
export { parseShareLink, shareLink, type ShareLink } from '@proj/core/kit'
