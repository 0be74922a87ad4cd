import { describe, expect, it } from 'vitest'
import { base32, base32upper } from 'multiformats/bases/base32'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import * as dagCbor from '@ipld/dag-cbor'
import { decodeDagCbor } from '../src/format/dag-cbor-decode.js'
import { base32Text, cidV1, sha256Cid } from '../src/kit/sha256-cid.js'

/** Deterministic bytes (xorshift), so a failure names a case that can be run again. */
function bytesOf(seed: number, length: number): Uint8Array {
  let x = seed * 2654435761 || 1
  return Uint8Array.from({ length }, () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return x & 0xff
  })
}

describe('the CIDs the read path builds spell themselves as the library does', () => {
  it('base32Text is multiformats base32 for every length from 0 to 80 bytes', () => {
    for (let length = 0; length <= 80; length++) {
      for (let seed = 1; seed <= 20; seed++) {
        const bytes = bytesOf(seed * 100 + length, length)
        expect(base32Text(bytes), `length ${length} seed ${seed}`).toBe(base32.encode(bytes))
      }
    }
    expect(base32Text(new Uint8Array(36).fill(0xff))).toBe(base32.encode(new Uint8Array(36).fill(0xff)))
    expect(base32Text(new Uint8Array(36))).toBe(base32.encode(new Uint8Array(36)))
  })

  it('a CID from cidV1, sha256Cid or the decoder: the same string in every base, equal to the library CID', async () => {
    for (let seed = 1; seed <= 200; seed++) {
      const codec = seed % 2 ? 0x55 : 0x71
      const cid = await sha256Cid(codec, bytesOf(seed, seed % 70))
      const library = CID.decode(cid.bytes)
      expect(cid.toString()).toBe(library.toString())
      expect(cid.toString()).toBe(cid.toString()) // a second call gives the kept string
      expect(String(cid)).toBe(library.toString())
      expect(`${cid}`).toBe(library.toString())
      expect(cid.toString(base32)).toBe(library.toString(base32))
      expect(cid.toString(base32upper)).toBe(library.toString(base32upper))
      expect(cid.toString(base58btc)).toBe(library.toString(base58btc))
      expect(JSON.stringify(cid)).toBe(JSON.stringify(library))
      expect(cid).toStrictEqual(library)
      expect(cid.constructor).toBe(CID)
      expect(cid.equals(library) && library.equals(cid)).toBe(true)
      expect(CID.asCID(cid)).toBe(cid)
      expect(CID.parse(cid.toString()).equals(cid)).toBe(true)

      const again = cidV1(cid.bytes.slice())
      expect(again.toString()).toBe(library.toString())
      const decoded = decodeDagCbor<{ link: CID }>(dagCbor.encode({ link: library })).link
      expect(decoded.toString()).toBe(library.toString())
      expect(decoded).toStrictEqual(library)
    }
  })
})
