// @proj/connect-ipfs: the trustless gateway from its subpath serves a block from any blockstore.
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { connect, createSnapshot, readSnapshot } from '@proj/connect-ipfs'
import { createGateway } from '@proj/connect-ipfs/gateway'

const bytes = new TextEncoder().encode('hello')
const cid = CID.create(1, raw.code, await sha256.digest(bytes))
const blocks = new Map<string, Uint8Array>([[cid.toString(), bytes]])
const gateway = await createGateway({
  blockstore: {
    has: (c) => blocks.has(c.toString()),
    get: (c) => {
      const block = blocks.get(c.toString())
      if (!block) throw new Error(`no block ${c}`)
      return block
    },
    put: (c, b) => void blocks.set(c.toString(), b),
  },
})
try {
  const response = await fetch(`${gateway.url}/ipfs/${cid}?format=raw`)
  const served = new Uint8Array(await response.arrayBuffer())
  if (response.status !== 200 || new TextDecoder().decode(served) !== 'hello') throw new Error(`gateway answered ${response.status}`)
} finally {
  await gateway.close()
}
for (const fn of [connect.ipfs, createSnapshot, readSnapshot]) {
  if (typeof fn !== 'function') throw new Error('@proj/connect-ipfs export missing')
}
console.log('ok @proj/connect-ipfs')
