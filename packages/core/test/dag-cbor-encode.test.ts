import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { describe, expect, it } from 'vitest'
import { encodeDagCbor } from '../src/format/dag-cbor-encode.js'
import { seededRandom as rng } from './helpers.js'

// The fast encoder must be @ipld/dag-cbor's encode, byte for byte and error for error: every CID, file and
// record this database writes depends on it.

const BOUNDARY_INTS = [0, 1, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 64]
const NUMBERS = [...BOUNDARY_INTS, ...BOUNDARY_INTS.map((n) => -n), -0, 0.5, -1.25, 1e300, 5e-324, Math.PI]
const ALPHABETS = ['abc', 'xyz_-0', 'éü', '中文字', '😀🎉', 'a\u0000b', '\uffff\ue000']

const cids = await Promise.all(
  ['one', 'two'].map(async (s) => CID.createV1(dagCbor.code, await sha256.digest(new TextEncoder().encode(s)))),
)

function randomString(r: () => number, maxLength: number): string {
  const alphabet = ALPHABETS[Math.floor(r() * ALPHABETS.length)]!
  const chars = [...alphabet]
  const lengths = [0, 1, 22, 23, 24, 25, 85, 86, 254, 255, 256, 300]
  const length = r() < 0.5 ? Math.floor(r() * maxLength) : Math.min(maxLength, lengths[Math.floor(r() * lengths.length)]!)
  let out = ''
  for (let i = 0; i < length; i++) out += chars[Math.floor(r() * chars.length)]
  return out
}

function randomValue(r: () => number, depth: number): unknown {
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
      return randomString(r, 300)
    case 5:
      return Uint8Array.from({ length: Math.floor(r() * 40) }, () => Math.floor(r() * 256))
    case 6:
      return cids[Math.floor(r() * cids.length)]
    case 7:
      return Array.from({ length: Math.floor(r() * 6) }, () => randomValue(r, depth + 1))
    default: {
      const object: Record<string, unknown> = r() < 0.1 ? Object.create(null) : {}
      const keys = Math.floor(r() * 8)
      for (let i = 0; i < keys; i++) object[randomString(r, 6) || 'k'] = randomValue(r, depth + 1)
      return object
    }
  }
}

function expectSameAsLibrary(value: unknown): void {
  let expected: Uint8Array | undefined
  let libraryError: Error | undefined
  try {
    expected = dagCbor.encode(value)
  } catch (error) {
    libraryError = error as Error
  }
  if (libraryError) expect(() => encodeDagCbor(value)).toThrow(libraryError.message)
  else expect(Buffer.from(encodeDagCbor(value)).toString('hex')).toBe(Buffer.from(expected!).toString('hex'))
}

describe('encodeDagCbor', () => {
  it('writes the bytes @ipld/dag-cbor writes, over 20 000 random values', () => {
    const r = rng(1)
    for (let i = 0; i < 20_000; i++) expectSameAsLibrary(randomValue(r, 0))
  })

  it('orders map keys as dag-cbor does: by encoded length, then bytewise, for keys of every script', () => {
    const r = rng(2)
    for (let i = 0; i < 2_000; i++) {
      const object: Record<string, number> = {}
      for (let k = 0; k < 12; k++) object[randomString(r, 4) || 'z'] = k
      expectSameAsLibrary(object)
    }
  })

  it('writes the documents, clock events and records of a database the same way', () => {
    const doc = { _id: 'doc-0000001', n: 1, title: 'Document number 1', done: false, tags: ['alpha'], body: 'x'.repeat(80) }
    expectSameAsLibrary(doc)
    expectSameAsLibrary({ p: [cids[0]], h: 12, d: [['doc-0000001', 12, doc], ['doc-0000002', 12, null]] })
    expectSameAsLibrary({ v: 2, heads: cids, locations: [[cids[0], [cids[1]]]] })
    expectSameAsLibrary('x'.repeat(70_000))
    expectSameAsLibrary(new Uint8Array(70_000).fill(7))
    expectSameAsLibrary(Array.from({ length: 70_000 }, (_, i) => i))
  })

  it('leaves to the library, with its bytes or its error, what is not plain data', () => {
    class Point {
      constructor(readonly x: number) {}
    }
    const shapedLikeACid = { '/': cids[0]!.bytes, bytes: cids[0]!.bytes }
    const selfAsCid: Record<string, unknown> = {}
    selfAsCid.asCID = selfAsCid
    const odd: unknown[] = [
      undefined,
      { a: undefined },
      [1, undefined],
      NaN,
      Infinity,
      -Infinity,
      'lone \ud800 surrogate',
      { 'key \udc00': 1 },
      10n,
      new Map([['a', 1]]),
      new Map([[1, 1]]),
      new Date(0),
      new Point(1),
      new Int16Array([1, 2]),
      Buffer.from('buffer'),
      shapedLikeACid,
      () => 1,
      Symbol('s'),
    ]
    for (const value of odd) expectSameAsLibrary(value)
  })

  it('refuses a cycle as the library does', () => {
    const cycle: Record<string, unknown> = { a: 1 }
    cycle.self = cycle
    expect(() => dagCbor.encode(cycle)).toThrow()
    expect(() => encodeDagCbor(cycle)).toThrow()
  })

  it('returns bytes that a later call does not overwrite', () => {
    const first = encodeDagCbor({ a: 'first' })
    const copy = Uint8Array.from(first)
    encodeDagCbor({ a: 'second, longer value' })
    expect(first).toEqual(copy)
  })
})
