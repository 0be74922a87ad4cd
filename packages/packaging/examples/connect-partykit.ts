// @proj/connect-partykit's client loads in Node (partysocket + ws); making a connector opens no socket.
import { connect, partykitConnector, PartykitError, type PartykitStatus } from '@proj/connect-partykit'

const connector = partykitConnector('http://127.0.0.1:1999')
const status: PartykitStatus = 'idle'
await connector.close()
if (typeof connect.partykit !== 'function' || typeof PartykitError !== 'function') throw new Error('export missing')
console.log('ok @proj/connect-partykit', status)
