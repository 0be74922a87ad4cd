import { describe, expect, it } from 'vitest'
import * as dagCbor from '@ipld/dag-cbor'
import { decodeDagCbor } from '../src/format/dag-cbor-decode.js'

describe('one-byte strings, which the decoder reads without TextDecoder', () => {
  it('read as the library reads them, for every byte, as a value and as a map key', () => {
    for (let byte = 0; byte < 256; byte++) {
      const asValue = Uint8Array.of(0x61, byte) // text string of length 1
      expect(decodeDagCbor(asValue), `byte ${byte}`).toBe(dagCbor.decode(asValue))
      const asKey = Uint8Array.of(0xa1, 0x61, byte, 0x01) // { <byte>: 1 }
      if (byte < 0x80) {
        expect(decodeDagCbor(asKey), `byte ${byte}`).toStrictEqual(dagCbor.decode(asKey))
        expect(Object.keys(decodeDagCbor(asKey) as object)).toEqual([String.fromCharCode(byte)])
      } else {
        // Not UTF-8 alone: whatever the library does (a U+FFFD key), the decoder does too.
        let library: unknown
        try {
          library = dagCbor.decode(asKey)
        } catch (error) {
          expect(() => decodeDagCbor(asKey)).toThrow((error as Error).message)
          continue
        }
        expect(decodeDagCbor(asKey)).toStrictEqual(library)
      }
    }
  })
})
