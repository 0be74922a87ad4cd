import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { database } from '@proj/core'
import { closeServer, listenOnLoopback } from '@proj/test-utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { s3PresignedConnector } from '../src/index.js'
import { readyError } from './backends.js'

// A signer URL that points at something else (a site's page served for every path, a proxy's own answer, a
// wrong port) answers every sign request the same way: retrying cannot help, so it is a configuration error
// named at once, not an 'offline' retried for good.
let server: ReturnType<typeof createServer>
let base: string
const answers: Record<string, (res: ServerResponse) => void> = {
  '/html': (res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>Shop</title>'),
  '/empty-object': (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'),
  '/entries-not-array': (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"entries":"x"}'),
}
const paths = [...Object.keys(answers), '/missing']
beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume()
    ;(answers[req.url ?? ''] ?? ((r: ServerResponse) => r.writeHead(404).end()))(res)
  })
  base = await listenOnLoopback(server)
})
afterAll(() => closeServer(server))

describe('a signer that answers something other than signed requests', () => {
  it.each(paths)('%s: ready rejects with a permanent BackendConfigError naming the signer', async (path) => {
    const db = database(`signer-${path.slice(1)}`, { storage: 'memory', dir: `/signer/${Math.random()}` })
    const sync = db.connect(s3PresignedConnector({ signer: `${base}${path}` }), { pollInterval: 0, maxBackoff: 50 })
    try {
      const error = (await readyError(sync))!
      expect(error?.permanent).toBe(true)
      expect((error.cause as Error).name).toBe('BackendConfigError')
      expect(error.message).toContain(`${base}${path}`)
      expect(error.message).toMatch(
        path === '/missing'
          ? /answered 404 to sign load: no signing handler at this URL/
          : /answered 200 with (text\/html|application\/json) that is not a signed load/,
      )
      expect(sync.status).toBe('error')
    } finally {
      await sync.close()
      await db.close()
    }
  })
})
