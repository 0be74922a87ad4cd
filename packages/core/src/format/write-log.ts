import { CorruptRecordError, FormatVersionError } from '../errors.js'

/**
 * The write log of Node file storage (`<dir>/<name>/log`, durability 'process'): an append-only sequence of
 * the stored files and record changes not yet moved into `files/` and `records/`.
 *
 * Version 1. Header (8 bytes): ASCII `projlog` then the version byte 0x01. Then entries, each:
 *   kind u8 (1 file, 2 record written, 3 record deleted) ‖ name length u16 BE ‖ name (UTF-8: a file CID or
 *   a record name) ‖ body length u32 BE ‖ body (empty for kind 3) ‖ CRC-32 (IEEE) u32 BE of all bytes before it.
 * A crash can leave the last entry cut off or half written: decoding stops at the first entry that is short
 * or whose CRC does not match, and reports where the good entries end (the tail is dropped, never fatal).
 */
export const WRITE_LOG_VERSION = 1
const MAGIC = new TextEncoder().encode('projlog')
export const WRITE_LOG_HEADER = Uint8Array.of(...MAGIC, WRITE_LOG_VERSION)

export type WriteLogEntry =
  | { kind: 'file'; name: string; body: Uint8Array }
  | { kind: 'record'; name: string; body: Uint8Array }
  | { kind: 'deleted'; name: string }

const KIND_CODES = { file: 1, record: 2, deleted: 3 } as const
const KINDS = [undefined, 'file', 'record', 'deleted'] as const

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

export function encodeWriteLogEntry(entry: WriteLogEntry): Uint8Array {
  const name = encoder.encode(entry.name)
  if (name.length > 0xffff) throw new TypeError(`write log: the name ${JSON.stringify(entry.name.slice(0, 40))}… is too long`)
  const body = entry.kind === 'deleted' ? new Uint8Array(0) : entry.body
  const bytes = new Uint8Array(1 + 2 + name.length + 4 + body.length + 4)
  const view = new DataView(bytes.buffer)
  bytes[0] = KIND_CODES[entry.kind]
  view.setUint16(1, name.length)
  bytes.set(name, 3)
  view.setUint32(3 + name.length, body.length)
  bytes.set(body, 7 + name.length)
  view.setUint32(bytes.length - 4, crc32(bytes.subarray(0, bytes.length - 4)))
  return bytes
}

export interface DecodedWriteLog {
  /** Each entry with where its body lies in the log (files are read back from there, not kept in memory). */
  entries: { entry: WriteLogEntry; bodyOffset: number }[]
  /** Bytes up to the end of the last whole entry: the log is cut back to this. */
  validLength: number
}

/**
 * The whole entries of a log. `where` names the log in errors. A header from a newer version is a
 * FormatVersionError; a header that is not a write log's is a CorruptRecordError (a log shorter than its header
 * was cut off while it was being created, and holds nothing).
 */
export function decodeWriteLog(bytes: Uint8Array, where: string): DecodedWriteLog {
  if (bytes.length < WRITE_LOG_HEADER.length) return { entries: [], validLength: 0 }
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) throw new CorruptRecordError(where, 'it does not start with the write log header')
  }
  const version = bytes[MAGIC.length]!
  if (version > WRITE_LOG_VERSION) throw new FormatVersionError(where, version, WRITE_LOG_VERSION)
  if (version < 1) throw new CorruptRecordError(where, `its version is ${version}, not a positive integer`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const entries: DecodedWriteLog['entries'] = []
  let at = WRITE_LOG_HEADER.length
  for (;;) {
    if (at + 3 > bytes.length) break
    const kind = KINDS[bytes[at]!]
    if (!kind) break
    const nameLength = view.getUint16(at + 1)
    if (at + 7 + nameLength > bytes.length) break
    const bodyLength = view.getUint32(at + 3 + nameLength)
    const end = at + 7 + nameLength + bodyLength + 4
    if (end > bytes.length) break
    if (view.getUint32(end - 4) !== crc32(bytes.subarray(at, end - 4))) break
    let name: string
    try {
      name = decoder.decode(bytes.subarray(at + 3, at + 3 + nameLength))
    } catch {
      break
    }
    const bodyOffset = at + 7 + nameLength
    const body = bytes.subarray(bodyOffset, bodyOffset + bodyLength)
    entries.push({ entry: kind === 'deleted' ? { kind, name } : { kind, name, body }, bodyOffset })
    at = end
  }
  return { entries, validLength: at }
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    table[n] = c >>> 0
  }
  return table
})()

/** CRC-32 (IEEE 802.3, as zlib's), enough to tell a torn or half-written entry from a whole one. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}
