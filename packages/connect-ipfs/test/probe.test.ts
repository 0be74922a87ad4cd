import { afterAll, beforeAll, expect, it } from 'vitest'
import { ipfsFiles } from '../src/index.js'
import { startW3up, type W3upBackend } from './w3up.js'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'

let backend: W3upBackend
beforeAll(async () => { backend = await startW3up() })
afterAll(async () => { await backend?.stop() })

it('probe', async () => {
  const t = Date.now()
  const client = await backend.client()
  console.log('client', Date.now() - t)
  const files = ipfsFiles({ client, gateway: backend.gateway })
  const bytes = new TextEncoder().encode('hello ' + Math.random())
  const cid = CID.create(1, raw.code, await sha256.digest(bytes)).toString()
  await files.upload('db', cid, bytes)
  console.log('upload', Date.now() - t)
  expect(await files.download('db', cid)).toEqual(bytes)
})
