import * as dagCbor from '@ipld/dag-cbor'
import { expect, it } from 'vitest'
import { sortMapKeys } from '../src/format/map-key-order.js'
import { seededRandom as rng } from './helpers.js'

// An object about to be stored is given the key order a file gives it (values/validate.ts): that order must be
// dag-cbor's exactly, or a document would read back in another order once decoded from its file.
const ALPHABETS = ['ab', 'xyz_-0', 'éü', '中文', '😀🎉', '\u0000\u007f', '\uffff\ue000', '0123456789']

it('orders keys as a dag-cbor round trip does, over random key sets', () => {
  const random = rng(11)
  for (let round = 0; round < 500; round++) {
    const keys = new Set<string>()
    const count = Math.floor(random() * 12)
    for (let k = 0; k < count; k++) {
      const alphabet = [...ALPHABETS[Math.floor(random() * ALPHABETS.length)]!]
      let key = ''
      const length = Math.floor(random() * 6)
      for (let c = 0; c < length; c++) key += alphabet[Math.floor(random() * alphabet.length)]
      keys.add(key)
    }
    const ordered: Record<string, number> = {}
    for (const key of sortMapKeys([...keys])) ordered[key] = 1
    const decoded = dagCbor.decode(dagCbor.encode(ordered)) as Record<string, number>
    expect(Object.keys(ordered), [...keys].join('|')).toEqual(Object.keys(decoded))
  }
})
