import { afterEach, expect, it } from 'vitest'
import { fileCid } from '@proj/connector-tests'
import { silentServer } from '@proj/test-utils'
import { ipfsConnector, snapshotConnector } from '../src/index.js'

/**
 * A download sync gave up on (its call signal aborted: no answer within callTimeout, or the sync closed)
 * ends its gateway request, and tries no further gateway: the call is over.
 */
const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const neverUploads = { uploadCAR: () => Promise.reject(new Error('this test uploads nothing')) }

for (const [name, make] of [
  ['ipfsConnector', (gateways: string[]) => ipfsConnector({ client: neverUploads, gateway: gateways })],
  ['snapshotConnector', (gateways: string[]) => snapshotConnector({ gateway: gateways, snapshot: 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy' })],
] as const) {
  it(`${name}: an aborted download ends its gateway request and asks no other gateway`, async () => {
    // The first gateway holds every request; the next one answers 404 to all.
    const silent = await silentServer()
    let asked = 0
    const next = await silentServer(
      () => false,
      (_req, res) => void (asked++, res.writeHead(404).end()),
    )
    cleanups.push(() => silent.stop(), () => next.stop())
    const connector = make([silent.url, next.url])
    const call = new AbortController()
    const download = connector.download('db', await fileCid(new Uint8Array([7])), { signal: call.signal })
    download.catch(() => {})
    await expect.poll(() => silent.held).toBe(1)
    call.abort(new Error('given up'))
    await expect(download).rejects.toThrow()
    await expect.poll(() => silent.ended).toBe(1)
    expect(asked).toBe(0)
  })
}
