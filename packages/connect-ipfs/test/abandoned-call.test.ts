import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { afterEach, expect, it } from 'vitest'
import { fileCid } from '@proj/connector-tests'
import { closeServer, listenOnLoopback } from '@proj/test-utils'
import { ipfsConnector, snapshotConnector } from '../src/index.js'

/**
 * A download sync gave up on (its call signal aborted: no answer within callTimeout, or the sync closed)
 * ends its gateway request, and tries no further gateway: the call is over.
 */
const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** A gateway that reads every request and never answers, or (`answers`) one that answers 404 to all. */
async function gateway(answers: boolean) {
  const state = { requests: 0, ended: 0 }
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    state.requests++
    req.resume()
    if (answers) return void res.writeHead(404).end()
    res.on('close', () => state.ended++)
  })
  const url = await listenOnLoopback(server)
  cleanups.push(() => closeServer(server))
  return { url, state }
}

const neverUploads = { uploadCAR: () => Promise.reject(new Error('this test uploads nothing')) }

for (const [name, make] of [
  ['ipfsConnector', (gateways: string[]) => ipfsConnector({ client: neverUploads, gateway: gateways })],
  ['snapshotConnector', (gateways: string[]) => snapshotConnector({ gateway: gateways, snapshot: 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy' })],
] as const) {
  it(`${name}: an aborted download ends its gateway request and asks no other gateway`, async () => {
    const silent = await gateway(false)
    const next = await gateway(true)
    const connector = make([silent.url, next.url])
    const call = new AbortController()
    const download = connector.download('db', await fileCid(new Uint8Array([7])), { signal: call.signal })
    download.catch(() => {})
    await expect.poll(() => silent.state.requests).toBe(1)
    call.abort(new Error('given up'))
    await expect(download).rejects.toThrow()
    await expect.poll(() => silent.state.ended).toBe(1)
    expect(next.state.requests).toBe(0)
  })
}
