import { describe, expect, it } from 'vitest'
import { crc32, tableCrc32 } from '../src/format/write-log.js'
import { seededRandom as rng } from './helpers.js'

// Every write log entry and segment index carries a CRC-32 that a cold open checks: Node's native one and the
// table one must agree on every input, or a log written by one is refused by the other.

describe('crc32', () => {
  it('is the IEEE CRC-32: the check value of "123456789" is cbf43926', () => {
    const check = new TextEncoder().encode('123456789')
    expect(crc32(check)).toBe(0xcbf43926)
    expect(tableCrc32(check)).toBe(0xcbf43926)
    expect(crc32(new Uint8Array(0))).toBe(0)
  })

  it('gives the same checksum natively and by table over random inputs and views', () => {
    const r = rng(31)
    for (let i = 0; i < 500; i++) {
      const bytes = Uint8Array.from({ length: Math.floor(r() * 5000) }, () => Math.floor(r() * 256))
      const from = Math.floor(r() * bytes.length)
      const view = bytes.subarray(from, from + Math.floor(r() * (bytes.length - from)))
      expect(crc32(bytes)).toBe(tableCrc32(bytes))
      expect(crc32(view)).toBe(tableCrc32(view))
    }
  })
})
