#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { createStoreServer } from './server.js'

const usage = 'Usage: proj-serve --dir <folder> --port <port> [--host 127.0.0.1] [--token <token>] [--read-only]'

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    token: { type: 'string' },
    'read-only': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
})

if (values.help) {
  console.log(usage)
  process.exit(0)
}
const port = Number(values.port ?? '8787')
if (!values.dir || !Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(usage)
  process.exit(2)
}

const server = createStoreServer({
  dir: values.dir,
  ...(values.token !== undefined ? { token: values.token } : {}),
  readOnly: values['read-only'],
})
server.listen(port, values.host, () => {
  const address = server.address()
  const actual = typeof address === 'object' && address ? address.port : port
  console.log(`proj-serve: http://${values.host}:${actual}/ serving ${values.dir}${values['read-only'] ? ' (read-only)' : ''}`)
})
const stop = () => server.close(() => process.exit(0))
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
