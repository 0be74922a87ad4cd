import { afterAll, beforeAll, expect, it } from 'vitest'
import * as dagCbor from '@ipld/dag-cbor'
import { MemoryBlockstore } from 'blockstore-core'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { fileCid } from '@proj/connector-tests'
import { createGateway, type Gateway, type GatewayBlockstore } from '../src/gateway.js'
import { singleBlockCar } from '../src/index.js'

let gateway: Gateway
beforeAll(async () => {
  gateway = await createGateway({ blockstore: new MemoryBlockstore() as unknown as GatewayBlockstore })
})
afterAll(async () => {
  await gateway?.close()
})

const post = (body: BodyInit) => fetch(`${gateway.url}/ipfs`, { method: 'POST', body })

it('stores a posted CAR and serves its block as raw and as car; 404 for others', async () => {
  const bytes = new TextEncoder().encode(`posted ${crypto.randomUUID()}`)
  const cid = CID.parse(await fileCid(bytes))
  const response = await post(singleBlockCar(cid, bytes))
  expect(await response.json()).toEqual({ roots: [cid.toString()], blocks: 1 })
  const raw = await fetch(`${gateway.url}/ipfs/${cid}`, { headers: { accept: 'application/vnd.ipld.raw' } })
  expect(new Uint8Array(await raw.arrayBuffer())).toEqual(bytes)
  const car = await fetch(`${gateway.url}/ipfs/${cid}?format=car`)
  expect(new Uint8Array(await car.arrayBuffer())).toEqual(singleBlockCar(cid, bytes))
  expect((await fetch(`${gateway.url}/ipfs/${await fileCid(new Uint8Array([1]))}?format=raw`)).status).toBe(404)
})

it('serves dag-cbor blocks too, and answers 400/406 to bad requests', async () => {
  const bytes = dagCbor.encode({ hello: 'world' })
  const cid = CID.create(1, dagCbor.code, await sha256.digest(bytes))
  expect((await post(singleBlockCar(cid, bytes))).status).toBe(200)
  expect(new Uint8Array(await (await fetch(`${gateway.url}/ipfs/${cid}?format=raw`)).arrayBuffer())).toEqual(bytes)
  expect((await fetch(`${gateway.url}/ipfs/not-a-cid?format=raw`)).status).toBe(400)
  expect((await fetch(`${gateway.url}/ipfs/${cid}`)).status).toBe(406)
  expect((await post(new TextEncoder().encode('not a car'))).status).toBe(400)
})

it('refuses a CAR whose block does not hash to its CID', async () => {
  const cid = CID.parse(await fileCid(new TextEncoder().encode('one')))
  const response = await post(singleBlockCar(cid, new TextEncoder().encode('two')))
  expect(response.status).toBe(400)
  expect(await response.text()).toBe(`Block bytes do not hash to ${cid}`)
  expect((await fetch(`${gateway.url}/ipfs/${cid}?format=raw`)).status).toBe(404)
})
