import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { identity } from 'multiformats/hashes/identity'
import { sha256, sha512 } from 'multiformats/hashes/sha2'
import { isDeepStrictEqual } from 'node:util'
import { describe, expect, it } from 'vitest'
import { LEFT_TO_LIBRARY, decodeDagCbor, decodeWithoutLibrary } from '../src/format/dag-cbor-decode.js'
import { encodeDagCbor } from '../src/format/dag-cbor-encode.js'
import { damagedCopies, seededRandom as rng } from './helpers.js'

// The fast decoder must be @ipld/dag-cbor's decode, value for value and error for error: every block a reader
// opens goes through it, and it must never accept bytes the library refuses.

const BOUNDARY_INTS = [0, 1, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 2, 2 ** 53 - 1]
const NUMBERS = [...BOUNDARY_INTS, ...BOUNDARY_INTS.map((n) => -n), -(2 ** 53) + 1, -0, 0.5, -1.25, 1e300, 5e-324, Math.PI, 2 ** 53, 2 ** 64]
const WRITTEN_ALPHABETS = ['abc', 'xyz_-0', 'éü', '中文字', '😀🎉', 'a\u0000b', '\uffff\ue000']
/** A leading U+FEFF is the one place this decoder departs from the library (see its own test below). */
const ALPHABETS = WRITTEN_ALPHABETS

const text = new TextEncoder()
const cids = [
  CID.createV1(dagCbor.code, await sha256.digest(text.encode('one'))),
  CID.createV1(dagCbor.code, await sha256.digest(text.encode('two'))),
  CID.createV1(0x55, await sha256.digest(text.encode('raw'))),
  CID.createV0(await sha256.digest(text.encode('v0'))),
  CID.createV1(dagCbor.code, await sha512.digest(text.encode('long'))),
  CID.createV1(dagCbor.code, identity.digest(text.encode('inline'))),
  CID.createV1(0x0129, await sha256.digest(text.encode('dag-json'))),
]
/** The CIDs this database writes: v1, sha2-256, a one-byte codec. */
const writtenCids = cids.slice(0, 3)

function randomString(r: () => number, maxLength: number, alphabets: string[]): string {
  const chars = [...alphabets[Math.floor(r() * alphabets.length)]!]
  const lengths = [0, 1, 22, 23, 24, 25, 31, 32, 33, 85, 86, 254, 255, 256, 300]
  const length = r() < 0.5 ? Math.floor(r() * maxLength) : Math.min(maxLength, lengths[Math.floor(r() * lengths.length)]!)
  let out = ''
  for (let i = 0; i < length; i++) out += chars[Math.floor(r() * chars.length)]
  return out
}

interface Choices {
  cids: CID[]
  alphabets: string[]
}
const anything: Choices = { cids, alphabets: ALPHABETS }
const written: Choices = { cids: writtenCids, alphabets: WRITTEN_ALPHABETS }

function randomValue(r: () => number, depth: number, choices: Choices): unknown {
  const pick = Math.floor(r() * (depth > 3 ? 7 : 10))
  switch (pick) {
    case 0:
      return null
    case 1:
      return r() < 0.5
    case 2:
      return NUMBERS[Math.floor(r() * NUMBERS.length)]! + (r() < 0.3 ? Math.floor(r() * 3) - 1 : 0)
    case 3:
      return (r() - 0.5) * 10 ** Math.floor(r() * 20)
    case 4:
      return randomString(r, 300, choices.alphabets)
    case 5:
      return Uint8Array.from({ length: r() < 0.1 ? 300 : Math.floor(r() * 40) }, () => Math.floor(r() * 256))
    case 6:
      return choices.cids[Math.floor(r() * choices.cids.length)]
    case 7:
      return Array.from({ length: r() < 0.05 ? 30 : Math.floor(r() * 6) }, () => randomValue(r, depth + 1, choices))
    default: {
      const object: Record<string, unknown> = {}
      const keys = r() < 0.05 ? 30 : Math.floor(r() * 8)
      for (let i = 0; i < keys; i++) object[randomString(r, 6, choices.alphabets) || 'k'] = randomValue(r, depth + 1, choices)
      return object
    }
  }
}

/** Same value (same classes: CID, Digest, Uint8Array) or the same error as the library. */
function expectSameAsLibrary(bytes: Uint8Array): void {
  let expected: unknown
  let libraryError: Error | undefined
  try {
    expected = dagCbor.decode(bytes)
  } catch (error) {
    libraryError = error as Error
  }
  let got: unknown
  let error: Error | undefined
  try {
    got = decodeDagCbor(bytes)
  } catch (thrown) {
    error = thrown as Error
  }
  const same = libraryError ? error?.message === libraryError.message : !error && isDeepStrictEqual(got, expected)
  if (same) return
  // Only now the (slow) diagnostics.
  const input = Buffer.from(bytes).toString('hex')
  if (libraryError) expect(() => decodeDagCbor(bytes), input).toThrow(libraryError.message)
  else expect(decodeDagCbor(bytes), input).toStrictEqual(expected)
}


const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'))

describe('decodeDagCbor', () => {
  it('reads the values @ipld/dag-cbor reads, over 20 000 random values with CIDs v0 and v1', () => {
    const r = rng(11)
    for (let i = 0; i < 20_000; i++) expectSameAsLibrary(dagCbor.encode(randomValue(r, 0, anything)))
  })

  it('decodes what this database writes without the library', () => {
    const r = rng(12)
    for (let i = 0; i < 5_000; i++) {
      const value = randomValue(r, 0, written)
      const bytes = encodeDagCbor(value)
      // Floats aside (2^53 and beyond are big integers to the library), what we write is read here alone.
      if ((Number.isSafeInteger(value) || typeof value !== 'number') && decodeWithoutLibrary(bytes) === LEFT_TO_LIBRARY) {
        expect.fail(`left to the library: ${Buffer.from(bytes).toString('hex')}`)
      }
      expectSameAsLibrary(bytes)
    }
    const doc = { _id: 'doc-0000001', n: 1, title: 'Document number 1', done: false, tags: ['alpha'], body: 'x'.repeat(80) }
    for (const value of [
      doc,
      { p: [cids[0]], h: 12, d: [['doc-0000001', 12, doc], ['doc-0000002', 12, null]] },
      { v: 2, heads: writtenCids, locations: [[cids[0], [cids[1], cids[2]]]] },
      { e: [['doc-1', 3, { a: 1 }, { c: [[2, null]], s: [[1, 123456789]] }]], l: 0 },
      { version: 1, roots: [cids[0]] },
      { at: Date.now(), big: 2 ** 53 - 1, small: -(2 ** 53) + 1, f: 0.1 },
    ]) {
      expect(decodeWithoutLibrary(encodeDagCbor(value))).toStrictEqual(dagCbor.decode(encodeDagCbor(value)))
    }
  })

  it('keeps a leading U+FEFF, which the library drops as a byte order mark (a value, a key, a key beside its plain twin)', () => {
    for (const value of ['\ufeff', '\ufeffHi', '\ufeff\ufeffx', ['\ufeffa'], { '\ufeffa': 1, a: 2 }, { k: { '\ufeff': '\ufeff' } }]) {
      const bytes = encodeDagCbor(value)
      expect(decodeWithoutLibrary(bytes)).toStrictEqual(value)
      expect(decodeDagCbor(bytes)).toStrictEqual(value)
    }
    // What the library does with the same bytes (why this decoder does not follow it there).
    expect(dagCbor.decode(encodeDagCbor('\ufeffHi'))).toBe('Hi')
    expect(() => dagCbor.decode(encodeDagCbor({ '\ufeffa': 1, a: 2 }))).toThrow(/repeat map key/)
  })

  it('gives a CID the library would give, sharing nothing with the input', () => {
    const bytes = encodeDagCbor({ link: cids[0], data: Uint8Array.of(1, 2, 3) })
    const value = decodeDagCbor<{ link: CID; data: Uint8Array }>(bytes)
    expect(value.link.equals(cids[0])).toBe(true)
    expect(value.link.toString()).toBe(cids[0]!.toString())
    expect(CID.asCID(value.link)).toBe(value.link)
    expect(value.link.multihash.bytes).toEqual(cids[0]!.multihash.bytes)
    bytes.fill(0)
    expect(value.link.equals(cids[0])).toBe(true)
    expect([...value.data]).toEqual([1, 2, 3])
  })

  it('refuses, or reads as the library does, 20 000 damaged encodings', () => {
    const r = rng(13)
    for (let i = 0; i < 20_000 / 6; i++) {
      const bytes = dagCbor.encode(randomValue(r, 0, anything))
      for (const copy of damagedCopies(r, bytes, [0xf6, 0xf6])) expectSameAsLibrary(copy)
    }
  })

  it('leaves non-canonical and non-dag-cbor input to the library, which refuses it', () => {
    const refused = [
      '', // nothing
      '1817', // 23 in two bytes
      '190017', // 23 in three bytes
      '1900ff', // 255 in three bytes
      '1a0000ffff', // 65535 in five bytes
      '1b00000000ffffffff', // 2^32 - 1 in nine bytes
      '3817', // -24 in two bytes
      '3b00000000ffffffff', // -2^32 in nine bytes
      '7801 61', // one-char string with a two-byte head
      '5801 00', // one-byte byte string with a two-byte head
      '9801 01', // one-item array with a two-byte head
      'b801 6161 01', // one-entry map with a two-byte head
      '9f 01 ff', // indefinite array
      'bf 6161 01 ff', // indefinite map
      '7f 6161 ff', // indefinite string
      '5f 4101 ff', // indefinite bytes
      'a2 6161 01 6161 02', // repeated key
      'a1 01 02', // integer key
      'a1 4161 02', // byte key
      'f97e00', // NaN (float16)
      'fb7ff8000000000000', // NaN
      'fb7ff0000000000000', // Infinity
      'fbfff0000000000000', // -Infinity
      'c1 01', // tag 1
      'd82a 4100', // tag 42 on a one-byte string
      'd82a 6161', // tag 42 on a text string
      'd82a 5825 01' + '01711220' + '00'.repeat(32), // CID without the 0x00 prefix
      'd82a 5826 00' + '01711220' + '00'.repeat(33), // CID with a byte too many
      'd82a 5824 00' + '01711220' + '00'.repeat(31), // CID with a byte too few
      'd82a 5825 00' + '02711220' + '00'.repeat(32), // CID version 2
      'd9002a 5825 00' + '01711220' + '00'.repeat(32), // tag 42 in three bytes
      'f8 20', // simple value 32
      'f0', // simple value 16
      'ff', // a lone break
      '01 01', // trailing bytes
      'a1 6161', // map with a key and no value
      '82 01', // array short of an item
      '65 6162', // string shorter than its head
      '9b 0000000100000000', // 2^32 items announced
      '1c', // reserved minor
    ]
    for (const input of refused) {
      const bytes = hex(input)
      expect(() => dagCbor.decode(bytes), input).toThrow()
      expectSameAsLibrary(bytes)
    }
  })

  it('reads as the library does what it accepts although this database never writes it', () => {
    const accepted = [
      'f7', // undefined, read as null
      'a2 6162 01 6161 02', // keys out of order
      'a2 626161 01 6162 02', // longer key first
      'f93c00', // 1.0 as float16
      'fa3fc00000', // 1.5 as float32
      'fb3ff0000000000000', // 1.0 as float64
      'fb8000000000000000', // -0
      '1b0020000000000000', // 2^53: a bigint
      '1bffffffffffffffff', // 2^64 - 1
      '3b001fffffffffffff', // -2^53: a bigint
      '3b001ffffffffffffe', // -(2^53 - 1)
      'a1 695f5f70726f746f5f5f 01', // "__proto__" as a key
      'd82a 5823 00' + cids[3]!.bytes.reduce((s, b) => s + b.toString(16).padStart(2, '0'), ''), // CIDv0
      '61 ff', // invalid UTF-8, replaced
      '78 20' + '61'.repeat(31) + 'c3', // a long string ending mid-character
    ]
    for (const input of accepted) {
      const bytes = hex(input)
      expect(() => dagCbor.decode(bytes), input).not.toThrow()
      expectSameAsLibrary(bytes)
    }
    expect(Object.getPrototypeOf(decodeDagCbor(hex('a1 695f5f70726f746f5f5f 01')))).toBe(Object.prototype)
    // A U+FEFF alone: the library reads "", this decoder the character written (see the U+FEFF test above).
    expect(decodeDagCbor(hex('63 efbbbf'))).toBe('\ufeff')
  })

  it('reads deep nesting as the library does', () => {
    for (const depth of [255, 256, 257, 2000]) {
      let value: unknown = 1
      for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { a: value }
      expectSameAsLibrary(dagCbor.encode(value))
    }
  })
})
