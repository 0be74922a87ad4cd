import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'

/**
 * `@ipld/dag-cbor`'s `encode`, byte for byte, for the values this database writes on every transaction
 * (clock events, file headers, tree nodes, local records, documents): null, booleans, numbers, well-formed
 * strings, byte arrays up to 64 KiB, arrays, plain objects and CIDs. Anything else (a Map, a Date, a lone
 * surrogate, a bigint, undefined, NaN, an attachment chunk...) is handed to `dagCbor.encode` whole, so its
 * bytes, or its error, are the library's.
 *
 * Why: cborg builds a token per map key and sorts token pairs, which made encoding the largest single cost of
 * a small put (~40 % of the bytes a put allocates, `bench/sequential-puts.ts` under V8's sampling heap
 * profiler). Writing straight into one reused buffer costs a fraction of that; `dag-cbor-encode.test.ts`
 * checks byte equality with the library over random values.
 */
export function encodeDagCbor(value: unknown): Uint8Array {
  position = 0
  try {
    write(value, 0)
  } catch (error) {
    if (error !== UNSUPPORTED) throw error
    return dagCbor.encode(value)
  }
  const bytes = copyOut(position)
  // A rare large value (a compaction's record) must not keep its buffer for the life of the process.
  if (buffer.length > RETAINED_BUFFER_LIMIT) {
    buffer = new Uint8Array(INITIAL_BUFFER_SIZE)
    view = new DataView(buffer.buffer)
  }
  return bytes
}

/**
 * The encoded bytes in memory of their own size. Node's `Buffer.allocUnsafe` carves small ones from a shared
 * pool, as cborg's did: a separate ArrayBuffer per block costs more than the encoding.
 */
function copyOut(length: number): Uint8Array {
  const NodeBuffer = (globalThis as { Buffer?: { allocUnsafe(size: number): Uint8Array } }).Buffer
  if (NodeBuffer === undefined) return buffer.slice(0, length)
  const pooled = NodeBuffer.allocUnsafe(length)
  pooled.set(buffer.subarray(0, length))
  // A plain Uint8Array view: a Buffer's `slice` would share memory where callers expect a copy.
  return new Uint8Array(pooled.buffer, pooled.byteOffset, length)
}

/** Thrown inside the writer for a value it leaves to the library. */
const UNSUPPORTED = Symbol('unsupported by the fast encoder')
/** Deeper than this is left to the library (which reports cycles). */
const MAX_DEPTH = 256
const CID_TAG_HEADER = 0xd8
const CID_TAG = 42

const INITIAL_BUFFER_SIZE = 64 * 1024
const LARGE_BYTES = 64 * 1024
const RETAINED_BUFFER_LIMIT = 1024 * 1024
let buffer = new Uint8Array(INITIAL_BUFFER_SIZE)
let view = new DataView(buffer.buffer)
let position = 0
const utf8 = new TextEncoder()
/** A string holding one has no UTF-8 form: the library's replacement is its own business. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
/** Encoded map keys, by key: object keys repeat on every write (`p`, `h`, `d`, `_id`, a document's fields). */
const keyCache = new Map<string, Uint8Array>()
const KEY_CACHE_LIMIT = 4096
const CACHED_KEY_MAX_LENGTH = 64

function reserve(bytes: number): void {
  if (position + bytes <= buffer.length) return
  let size = buffer.length * 2
  while (size < position + bytes) size *= 2
  const grown = new Uint8Array(size)
  grown.set(buffer.subarray(0, position))
  buffer = grown
  view = new DataView(buffer.buffer)
}

function writeHead(major: number, length: number): void {
  reserve(9)
  const m = major << 5
  if (length < 24) {
    buffer[position++] = m | length
  } else if (length < 0x100) {
    buffer[position++] = m | 24
    buffer[position++] = length
  } else if (length < 0x10000) {
    buffer[position++] = m | 25
    view.setUint16(position, length)
    position += 2
  } else if (length < 0x100000000) {
    buffer[position++] = m | 26
    view.setUint32(position, length)
    position += 4
  } else {
    buffer[position++] = m | 27
    view.setUint32(position, Math.floor(length / 0x100000000))
    view.setUint32(position + 4, length >>> 0)
    position += 8
  }
}

function writeBytes(bytes: Uint8Array): void {
  reserve(bytes.length)
  buffer.set(bytes, position)
  position += bytes.length
}

function writeString(text: string): void {
  const length = text.length
  // ASCII, the common case, is one byte per code unit: write it in place, header first.
  reserve(9 + length)
  const start = position
  writeHead(3, length)
  let i = 0
  for (; i < length; i++) {
    const code = text.charCodeAt(i)
    if (code > 0x7f) break
    buffer[position++] = code
  }
  if (i === length) return
  position = start
  if (LONE_SURROGATE.test(text)) throw UNSUPPORTED
  // At most 3 bytes per UTF-16 code unit.
  reserve(9 + length * 3)
  const headerAt = position
  const headerBytes = length * 3 < 24 ? 1 : length * 3 < 0x100 ? 2 : length * 3 < 0x10000 ? 3 : 5
  const { written } = utf8.encodeInto(text, buffer.subarray(headerAt + headerBytes))
  const needed = written < 24 ? 1 : written < 0x100 ? 2 : written < 0x10000 ? 3 : 5
  if (needed !== headerBytes) buffer.copyWithin(headerAt + needed, headerAt + headerBytes, headerAt + headerBytes + written)
  position = headerAt
  writeHead(3, written)
  position += written
}

function encodedKey(key: string): Uint8Array {
  let bytes = keyCache.get(key)
  if (bytes === undefined) {
    const saved = position
    writeString(key)
    bytes = buffer.slice(saved, position)
    position = saved
    if (keyCache.size < KEY_CACHE_LIMIT && key.length <= CACHED_KEY_MAX_LENGTH) keyCache.set(key, bytes)
  }
  return bytes
}

/** dag-cbor's map order: shorter encoded keys first, then bytewise. */
function compareEncodedKeys(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return a.length - b.length
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return 0
}

function write(value: unknown, depth: number): void {
  switch (typeof value) {
    case 'string':
      writeString(value)
      return
    case 'number':
      if (Number.isSafeInteger(value)) {
        if (value >= 0) writeHead(0, value)
        else writeHead(1, -1 - value)
      } else if (Number.isFinite(value)) {
        reserve(9)
        buffer[position++] = 0xfb
        view.setFloat64(position, value)
        position += 8
      } else {
        throw UNSUPPORTED
      }
      return
    case 'boolean':
      reserve(1)
      buffer[position++] = value ? 0xf5 : 0xf4
      return
    case 'object':
      break
    default:
      throw UNSUPPORTED
  }
  if (value === null) {
    reserve(1)
    buffer[position++] = 0xf6
    return
  }
  if (depth > MAX_DEPTH) throw UNSUPPORTED
  if (Array.isArray(value)) {
    writeHead(4, value.length)
    for (let i = 0; i < value.length; i++) write(value[i], depth + 1)
    return
  }
  if (value instanceof Uint8Array) {
    // An attachment chunk (1 MiB) is left to the library, which writes it without a scratch copy: through the
    // scratch buffer, two more chunks were alive while one was stored (attachments-memory.test.ts).
    if (value.length > LARGE_BYTES) throw UNSUPPORTED
    writeHead(2, value.length)
    writeBytes(value)
    return
  }
  const prototype = Object.getPrototypeOf(value)
  if (prototype === Object.prototype || prototype === null) {
    // The library takes a plain object shaped like a CID (`asCID` itself, or `'/'` holding `bytes`) for one.
    const shape = value as { asCID?: unknown; '/'?: unknown; bytes?: unknown }
    if (shape.asCID === value || (shape['/'] != null && shape['/'] === shape.bytes)) throw UNSUPPORTED
    writeMap(value as Record<string, unknown>, depth)
    return
  }
  const cid = CID.asCID(value)
  if (cid === null) throw UNSUPPORTED
  reserve(2)
  buffer[position++] = CID_TAG_HEADER
  buffer[position++] = CID_TAG
  writeHead(2, cid.bytes.length + 1)
  reserve(1)
  buffer[position++] = 0
  writeBytes(cid.bytes)
}

function writeMap(map: Record<string, unknown>, depth: number): void {
  const keys = Object.keys(map)
  const count = keys.length
  writeHead(5, count)
  if (count === 0) return
  const encoded = new Array<Uint8Array>(count)
  for (let i = 0; i < count; i++) encoded[i] = encodedKey(keys[i]!)
  // Insertion sort of the two arrays together: objects have few keys, and this allocates nothing.
  for (let i = 1; i < count; i++) {
    const key = keys[i]!
    const bytes = encoded[i]!
    let j = i - 1
    while (j >= 0 && compareEncodedKeys(encoded[j]!, bytes) > 0) {
      keys[j + 1] = keys[j]!
      encoded[j + 1] = encoded[j]!
      j--
    }
    keys[j + 1] = key
    encoded[j + 1] = bytes
  }
  for (let i = 0; i < count; i++) {
    writeBytes(encoded[i]!)
    write(map[keys[i]!], depth + 1)
  }
}
