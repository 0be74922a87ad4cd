#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { createStoreServer } from './server.js'

const usage =
  'Usage: proj-serve --dir <folder> --port <port> [--host 127.0.0.1] [--token <token>] [--read-only]\n' +
  '                  [--max-bytes <bytes, default 67108864>] [--request-timeout <ms, default 30000>]'

const OPTIONS = {
  dir: { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string', default: '127.0.0.1' },
  token: { type: 'string' },
  'read-only': { type: 'boolean', default: false },
  'max-bytes': { type: 'string' },
  'request-timeout': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const

// Wrong usage (an unknown flag, a value that looks like a flag: `--port -1`) is exit 2 with the reason, not a stack trace.
const parsed = (() => {
  try {
    return parseArgs({ options: OPTIONS })
  } catch (error) {
    console.error(`proj-serve: ${(error as Error).message}\n${usage}`)
    process.exit(2)
  }
})()
const { values } = parsed

if (values.help) {
  console.log(usage)
  process.exit(0)
}
// Digits only: Number('') is 0, which would serve on a random port instead of saying the value is missing.
const port = /^\d+$/.test(values.port ?? '8787') ? Number(values.port ?? '8787') : Number.NaN
const positive = (flag: string, value: string | undefined): number | undefined => {
  if (value === undefined) return undefined
  const number = Number(value)
  if (Number.isInteger(number) && number > 0) return number
  console.error(`proj-serve: --${flag} must be a positive integer, got ${JSON.stringify(value)}\n${usage}`)
  process.exit(2)
}
if (!values.dir || !Number.isInteger(port) || port < 0 || port > 65535) {
  if (values.dir) console.error(`proj-serve: --port must be a port number (0-65535; 0 picks a free one), got ${JSON.stringify(values.port)}`)
  console.error(usage)
  process.exit(2)
}
const maxBytes = positive('max-bytes', values['max-bytes'])
const requestTimeout = positive('request-timeout', values['request-timeout'])

const server = createStoreServer({
  dir: values.dir,
  ...(values.token !== undefined ? { token: values.token } : {}),
  readOnly: values['read-only'],
  ...(maxBytes !== undefined ? { maxBytes } : {}),
  ...(requestTimeout !== undefined ? { requestTimeout } : {}),
})
server.listen(port, values.host, () => {
  const address = server.address()
  const actual = typeof address === 'object' && address ? address.port : port
  console.log(`proj-serve: http://${values.host}:${actual}/ serving ${values.dir}${values['read-only'] ? ' (read-only)' : ''}`)
})
const stop = () => server.close(() => process.exit(0))
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
