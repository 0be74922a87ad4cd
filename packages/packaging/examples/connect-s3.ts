// @proj/connect-s3 loads with its AWS SDK dependencies; making a connector sends nothing.
import { connect, s3ClientConfig, s3Connector, s3PresignedConnector } from '@proj/connect-s3'
import { createSigningHandler } from '@proj/connect-s3/server'

const config = s3ClientConfig({ endpoint: 'http://127.0.0.1:7480', forcePathStyle: true })
if (config.region !== 'us-east-1') throw new Error(`default region ${String(config.region)}`)
const connector = s3Connector({ bucket: 'todos', s3: config })
await connector.close()
for (const fn of [connect.s3, s3PresignedConnector, createSigningHandler]) {
  if (typeof fn !== 'function') throw new Error('@proj/connect-s3 export missing')
}
console.log('ok @proj/connect-s3')
