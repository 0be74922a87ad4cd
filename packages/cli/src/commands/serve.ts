import { existsSync, statSync } from 'node:fs'
import { createStoreServer } from '@proj/connect-raw/server'
import type { Command } from './command.js'
import { parse, positiveInt, printHelp, UsageError } from '../usage.js'

const help = `Usage: proj serve --dir <folder> [--port 8787] [--host 127.0.0.1] [--token <token>] [--read-only]
                  [--max-bytes <bytes>] [--request-timeout <ms>]

Serves a store folder over HTTP for connect.http(db, url): devices push their encrypted files and meta
entries here and pull each other's. The server never sees a key or a document, only ciphertext named by
its hash. The folder layout is the URL layout, so any static web server can serve it read-only too.
(Same as the proj-serve command of @proj/connect-raw.)

Options:
  --dir <folder>           where the store lives (created on the first write)
  --port <port>            default 8787; 0 picks a free port (printed on start)
  --host <host>            default 127.0.0.1; 0.0.0.0 to serve other machines
  --token <token>          writes need "Authorization: Bearer <token>" (reads stay open: all is encrypted)
  --read-only              refuse every write (403): serve a folder made by proj export
  --max-bytes <bytes>      largest upload, default 67108864 (64 MiB); larger ones get 413
  --request-timeout <ms>   time a client has to send a whole request, default 30000

Examples:
  proj serve --dir ./store --port 8787 --token s3cret
      then, in an app: connect.http(db, 'http://127.0.0.1:8787', { token: 's3cret' })
  proj serve --dir ./public/store --read-only --port 8080
`

export const serve: Command = {
  name: 'serve',
  summary: 'serve a store folder over HTTP for connect.http (was proj-serve)',
  help,
  async run(args) {
    const { values } = parse('serve', args, {
      dir: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      token: { type: 'string' },
      'read-only': { type: 'boolean' },
      'max-bytes': { type: 'string' },
      'request-timeout': { type: 'string' },
    }, [])
    if (values.help) return printHelp(help)
    if (!values.dir) throw new UsageError('serve', 'Missing --dir <folder>: where the store lives')
    if (existsSync(values.dir) && !statSync(values.dir).isDirectory()) {
      throw new UsageError('serve', `--dir ${JSON.stringify(values.dir)} is a file, not a folder: every request would fail`)
    }
    // Digits only: Number('') is 0, which would serve on a random port instead of refusing an empty --port.
    const port = /^\d{1,5}$/.test(values.port ?? '8787') ? Number(values.port ?? '8787') : Number.NaN
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new UsageError('serve', `--port must be 0-65535, got ${JSON.stringify(values.port)}`)
    }
    const host = values.host ?? '127.0.0.1'
    const maxBytes = positiveInt('serve', 'max-bytes', values['max-bytes'])
    const requestTimeout = positiveInt('serve', 'request-timeout', values['request-timeout'])
    const server = createStoreServer({
      dir: values.dir,
      ...(values.token !== undefined ? { token: values.token } : {}),
      readOnly: values['read-only'] ?? false,
      ...(maxBytes !== undefined ? { maxBytes } : {}),
      ...(requestTimeout !== undefined ? { requestTimeout } : {}),
    })
    await new Promise<void>((listening, fail) => {
      server.once('error', fail)
      server.listen(port, host, () => {
        server.off('error', fail)
        listening()
      })
    }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') throw new UsageError('serve', `Port ${port} on ${host} is already in use: pick another --port (0 picks a free one)`)
      throw error
    })
    const address = server.address()
    const actual = typeof address === 'object' && address ? address.port : port
    process.stdout.write(`proj serve: http://${host}:${actual}/ serving ${values.dir}${values['read-only'] ? ' (read-only)' : ''}\n`)
    await new Promise<void>((stopped) => {
      const stop = () => server.close(() => stopped())
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
    })
    return 0
  },
}
