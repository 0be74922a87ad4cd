import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { describe, expect, it } from 'vitest'
import { sha256Cid } from '../src/kit/sha256-cid.js'
import { seededRandom } from './helpers.js'

// Every block and file this database writes is named by sha256Cid: it must be the CID multiformats makes.
describe('sha256Cid', () => {
  it('is the CID multiformats makes, for random bytes and the codecs blocks and files are named with (and one of two varint bytes)', async () => {
    const r = seededRandom(14)
    for (let run = 0; run < 300; run++) {
      const bytes = Uint8Array.from({ length: run < 3 ? run : Math.floor(r() * 2048) }, () => Math.floor(r() * 256))
      const code = [dagCbor.code, raw.code, 0x0129][run % 3]!
      const expected = CID.createV1(code, await sha256.digest(bytes))
      const cid = await sha256Cid(code, bytes)
      expect(cid.equals(expected)).toBe(true)
      expect(cid.bytes).toEqual(expected.bytes)
      expect(cid.multihash.bytes).toEqual(expected.multihash.bytes)
      expect(cid.multihash.digest).toEqual(expected.multihash.digest)
      expect([cid.version, cid.code, cid.multihash.code, cid.multihash.size]).toEqual([1, code, sha256.code, 32])
      expect(cid.toString()).toBe(expected.toString())
      expect(CID.asCID(cid)).toBe(cid)
      // Round trips through its own bytes, its string and a dag-cbor link, as a stored or sent CID does.
      expect(CID.decode(cid.bytes).equals(cid)).toBe(true)
      expect(CID.parse(cid.toString()).equals(cid)).toBe(true)
      expect(dagCbor.encode({ link: cid })).toEqual(dagCbor.encode({ link: expected }))
    }
  })
})
