import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { cidV1 } from '../kit/sha256-cid.js'

/**
 * `@ipld/dag-cbor`'s `decode`, value for value, for the shapes this database writes (canonical maps with
 * string keys, arrays, strings, integers, float64, booleans, null, byte strings, and tag-42 CIDv1 of sha2-256).
 * (Strings differ in one way, on purpose: a leading U+FEFF is kept, see `textDecoder`.) Anything else — a non-minimal length, an indefinite length, a duplicate key, a float16, a 64-bit length, a
 * big integer, NaN, an unknown tag, a CIDv0, trailing bytes, truncated input — is handed to `dagCbor.decode`
 * whole, so its value, or its error, is the library's: this never accepts bytes the library refuses.
 *
 * Why: a cold open decodes a few file headers and tree nodes in a process whose JIT has not warmed up, and
 * cborg's token objects, tag-decoder closures and CID parsing (varints, then a fresh copy of the CID's bytes)
 * were a third of its CPU (bench/cold-open-probe.ts). One small recursive reader compiles and runs in a
 * fraction of that; `dag-cbor-decode.test.ts` checks it against the library over random and damaged input.
 */
export function decodeDagCbor<T = unknown>(bytes: Uint8Array): T {
  const fast = decodeWithoutLibrary(bytes)
  return (fast === LEFT_TO_LIBRARY ? dagCbor.decode(bytes) : fast) as T
}

/** Returned by `decodeWithoutLibrary` for input it leaves to the library. */
export const LEFT_TO_LIBRARY: unique symbol = Symbol('left to @ipld/dag-cbor')

/** The fast reader alone: the value, or LEFT_TO_LIBRARY (exported for the test that it takes what we write). */
export function decodeWithoutLibrary(bytes: Uint8Array): unknown {
  // A Node Buffer's `slice` shares memory: read through a plain view, as cborg does.
  data = Object.getPrototypeOf(bytes) === Uint8Array.prototype ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length)
  position = 0
  try {
    const value = read(0)
    if (position === bytes.length) return value
  } catch {
    // Whatever the reader does not take (or a bound it hit) is the library's to decode or refuse.
  } finally {
    data = EMPTY
  }
  return LEFT_TO_LIBRARY
}

/** Thrown inside the reader for input it leaves to the library. */
const FALLBACK = Symbol('left to @ipld/dag-cbor')
/** Deeper than this is left to the library. */
const MAX_DEPTH = 256
const EMPTY = new Uint8Array(0)
const DAG_CBOR_TAG_CID = 42
const SHA2_256 = 0x12
const SHA2_256_LENGTH = 32
/** A CIDv1 of a sha2-256 digest with a one-byte codec: version, codec, hash code, digest length, digest. */
const CID_V1_LENGTH = 4 + SHA2_256_LENGTH

/**
 * UTF-8 as the library decodes it (bad bytes become U+FFFD), except that a leading U+FEFF is kept: it is a
 * character of the string that was written, not a byte order mark. The library's default TextDecoder drops it,
 * so a value "\ufeffHi" read back as "Hi", and a map with keys "\ufeffa" and "a" (a valid document) as a
 * repeated key that made the whole block unreadable.
 */
const textDecoder = new TextDecoder('utf-8', { ignoreBOM: true })
let data: Uint8Array = EMPTY
let position = 0

/** The argument of a head with `minor`, in its shortest form (dag-cbor is strict), as a safe integer. */
function readArgument(minor: number): number {
  if (minor < 24) return minor
  const at = position
  switch (minor) {
    case 24: {
      if (at + 1 > data.length) throw FALLBACK
      const value = data[at]!
      if (value < 24) throw FALLBACK
      position = at + 1
      return value
    }
    case 25: {
      if (at + 2 > data.length) throw FALLBACK
      const value = (data[at]! << 8) | data[at + 1]!
      if (value < 0x100) throw FALLBACK
      position = at + 2
      return value
    }
    case 26: {
      if (at + 4 > data.length) throw FALLBACK
      const value = data[at]! * 0x1000000 + ((data[at + 1]! << 16) | (data[at + 2]! << 8) | data[at + 3]!)
      if (value < 0x10000) throw FALLBACK
      position = at + 4
      return value
    }
    case 27: {
      if (at + 8 > data.length) throw FALLBACK
      const high = data[at]! * 0x1000000 + ((data[at + 1]! << 16) | (data[at + 2]! << 8) | data[at + 3]!)
      // Below 2^32 is not minimal; above 2^53 - 1 the library gives a bigint.
      if (high === 0 || high > 0x1fffff) throw FALLBACK
      const low = data[at + 4]! * 0x1000000 + ((data[at + 5]! << 16) | (data[at + 6]! << 8) | data[at + 7]!)
      position = at + 8
      return high * 0x100000000 + low
    }
    default:
      throw FALLBACK
  }
}

function read(depth: number): unknown {
  if (position >= data.length) throw FALLBACK
  const initial = data[position++]!
  const minor = initial & 31
  switch (initial >> 5) {
    case 0:
      return readArgument(minor)
    case 1: {
      const value = -1 - readArgument(minor)
      if (value < Number.MIN_SAFE_INTEGER) throw FALLBACK
      return value
    }
    case 2: {
      const length = readArgument(minor)
      const start = position
      if (length > data.length - start) throw FALLBACK
      position = start + length
      // A copy, as the library's: a block's value must not keep the whole file's buffer alive.
      return data.slice(start, start + length)
    }
    case 3:
      return readString(readArgument(minor))
    case 4: {
      const count = readArgument(minor)
      // Each item takes a byte at least: a count beyond what is left is the library's to refuse.
      if (count > data.length - position || depth >= MAX_DEPTH) throw FALLBACK
      const array: unknown[] = []
      for (let i = 0; i < count; i++) array.push(read(depth + 1))
      return array
    }
    case 5: {
      const count = readArgument(minor)
      if (count > data.length - position || depth >= MAX_DEPTH) throw FALLBACK
      const map: Record<string, unknown> = {}
      for (let i = 0; i < count; i++) {
        if (position >= data.length) throw FALLBACK
        const head = data[position++]!
        if (head >> 5 !== 3) throw FALLBACK
        const key = readString(readArgument(head & 31))
        // The library refuses a repeated key, and sets `__proto__` as an own property.
        if (key === '__proto__' || Object.hasOwn(map, key)) throw FALLBACK
        map[key] = read(depth + 1)
      }
      return map
    }
    case 6:
      if (minor !== 24 || readArgument(minor) !== DAG_CBOR_TAG_CID) throw FALLBACK
      return readCid()
    default:
      switch (minor) {
        case 20:
          return false
        case 21:
          return true
        case 22:
        case 23: // undefined: dag-cbor reads it as null
          return null
        case 27: {
          if (position + 8 > data.length) throw FALLBACK
          const value = new DataView(data.buffer, data.byteOffset + position, 8).getFloat64(0)
          if (!Number.isFinite(value)) throw FALLBACK
          position += 8
          return value
        }
        default:
          throw FALLBACK
      }
  }
}

function readString(length: number): string {
  const start = position
  if (length > data.length - start) throw FALLBACK
  position = start + length
  // A one-byte ASCII string (the single-letter keys of tree nodes, entries and events: 130 of the ~800 strings
  // a cold open + get of 10 000 docs reads) is its character: no call through TextDecoder's JavaScript.
  if (length === 1 && data[start]! < 0x80) return String.fromCharCode(data[start]!)
  // One native call beats a loop of character appends in a cold process (ASCII, which cborg decodes by hand
  // when short, decodes to the same string either way).
  return textDecoder.decode(data.subarray(start, position))
}

/**
 * The content of tag 42: a byte string of 0x00 and a CIDv1 of sha2-256. Built from its bytes directly (one
 * copy, which the CID and its digest share) rather than parsed varint by varint; other CIDs are the library's.
 */
function readCid(): CID {
  const at = position
  // Byte string head of 37 bytes (0x58 0x25), the 0x00 prefix, version 1, a one-byte codec, sha2-256, 32.
  if (
    at + 2 + 1 + CID_V1_LENGTH > data.length ||
    data[at] !== 0x58 ||
    data[at + 1] !== 1 + CID_V1_LENGTH ||
    data[at + 2] !== 0 ||
    data[at + 3] !== 1 ||
    data[at + 4]! >= 0x80 ||
    data[at + 5] !== SHA2_256 ||
    data[at + 6] !== SHA2_256_LENGTH
  ) {
    throw FALLBACK
  }
  position = at + 3 + CID_V1_LENGTH
  return cidV1(data.slice(at + 3, position))
}
