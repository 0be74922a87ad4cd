import { CorruptRecordError, FormatVersionError } from '../errors.js'

/**
 * The write log of Node file storage (`<dir>/<name>/log`) and its sealed segments (`segments/<n>.log`): an
 * append-only sequence of stored files and record changes.
 *
 * Version 2 (the one written). Header (8 bytes): ASCII `projlog` then the version byte. Then entries, each:
 *   kind u8 (1 file, 2 record written, 3 record deleted, 4 file deleted) ‖ name length u16 BE ‖ name (UTF-8: a
 *   file CID or a record name) ‖ body length u32 BE ‖ body (empty for kinds 3 and 4) ‖ CRC-32 (IEEE) u32 BE of
 *   all bytes before it.
 * Version 1 (read, then migrated: its entries are moved into `files/` and `records/`) has kinds 1 to 3 only.
 * A crash can leave the last entry cut off or half written: decoding stops at the first entry that is short
 * or whose CRC does not match, and reports where the good entries end (the tail is dropped, never fatal).
 *
 * Segment index (`segments/<n>.index`, version 1), written when a log is sealed into segment n and rewritten
 * when files in it are deleted: ASCII `projidx` ‖ version u8 (1) ‖ entry count u32 BE ‖ entries, each: name
 * length u16 BE ‖ name (a file CID, UTF-8) ‖ body offset u32 BE ‖ body length u32 BE (where the file's bytes lie
 * in the segment) ‖ CRC-32 (IEEE) u32 BE of all bytes before it. It lists the segment's live files only.
 */
export const WRITE_LOG_VERSION = 2
const MAGIC = new TextEncoder().encode('projlog')
export const WRITE_LOG_HEADER = Uint8Array.of(...MAGIC, WRITE_LOG_VERSION)
/** The header of a version 1 log (written by earlier versions; read for migration and in tests). */
export const WRITE_LOG_V1_HEADER = Uint8Array.of(...MAGIC, 1)

export type WriteLogEntry =
  | { kind: 'file'; name: string; body: Uint8Array }
  | { kind: 'record'; name: string; body: Uint8Array }
  | { kind: 'deleted'; name: string }
  | { kind: 'file-deleted'; name: string }

const KIND_CODES = { file: 1, record: 2, deleted: 3, 'file-deleted': 4 } as const
const KINDS = [undefined, 'file', 'record', 'deleted', 'file-deleted'] as const

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

export function encodeWriteLogEntry(entry: WriteLogEntry): Uint8Array {
  const name = encoder.encode(entry.name)
  if (name.length > 0xffff) throw new TypeError(`write log: the name ${JSON.stringify(entry.name.slice(0, 40))}… is too long`)
  const body = 'body' in entry ? entry.body : new Uint8Array(0)
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

/** The bytes encodeWriteLogEntry gives an entry named `name` (UTF-8) whose body holds `bodyLength` bytes. */
export function writeLogEntryLength(name: string, bodyLength: number): number {
  return 1 + 2 + encoder.encode(name).length + 4 + bodyLength + 4
}

/**
 * Turns the record entry at `at` in `bytes` (as read from a log) into what encodeWriteLogEntry gives for the same
 * name and an all-zero body of the same length: its body zeroed, its CRC recomputed. In place, so that a seal
 * blanking every record entry of a log allocates nothing per entry. Returns where the entry ends.
 */
export function blankRecordEntryAt(bytes: Uint8Array, at: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (bytes[at] !== KIND_CODES.record) throw new Error(`write log: the entry at ${at} is not a record entry (kind ${bytes[at]})`)
  const bodyStart = at + 7 + view.getUint16(at + 1)
  const end = bodyStart + view.getUint32(bodyStart - 4) + 4
  if (end > bytes.length) throw new Error(`write log: the record entry at ${at} ends past the ${bytes.length} bytes given`)
  bytes.fill(0, bodyStart, end - 4)
  view.setUint32(end - 4, crc32(bytes.subarray(at, end - 4)))
  return end
}

export interface DecodedWriteLog {
  /** Each entry with where its body lies in the log (files are read back from there, not kept in memory). */
  entries: { entry: WriteLogEntry; bodyOffset: number }[]
  /** Bytes up to the end of the last whole entry: the log is cut back to this. */
  validLength: number
  /** The header's version (0 for a log cut off inside its header). */
  version: number
}

/**
 * The whole entries of a log. `where` names the log in errors. A header from a newer version is a
 * FormatVersionError; a header that is not a write log's is a CorruptRecordError (a log shorter than its header
 * was cut off while it was being created, and holds nothing).
 */
export function decodeWriteLog(bytes: Uint8Array, where: string): DecodedWriteLog {
  if (bytes.length < WRITE_LOG_HEADER.length) return { entries: [], validLength: 0, version: 0 }
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
    if (!kind || (kind === 'file-deleted' && version < 2)) break
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
    entries.push({ entry: kind === 'deleted' || kind === 'file-deleted' ? { kind, name } : { kind, name, body }, bodyOffset })
    at = end
  }
  return { entries, validLength: at, version }
}

/** Where one live file of a sealed segment lies in it. */
export interface SegmentIndexEntry {
  name: string
  offset: number
  length: number
}

export const SEGMENT_INDEX_VERSION = 1
const INDEX_MAGIC = new TextEncoder().encode('projidx')

export function encodeSegmentIndex(entries: readonly SegmentIndexEntry[]): Uint8Array {
  const names = entries.map(({ name }) => encoder.encode(name))
  const size = INDEX_MAGIC.length + 1 + 4 + names.reduce((sum, name) => sum + 2 + name.length + 8, 0) + 4
  const bytes = new Uint8Array(size)
  const view = new DataView(bytes.buffer)
  bytes.set(INDEX_MAGIC)
  bytes[INDEX_MAGIC.length] = SEGMENT_INDEX_VERSION
  view.setUint32(INDEX_MAGIC.length + 1, entries.length)
  let at = INDEX_MAGIC.length + 5
  entries.forEach(({ offset, length }, i) => {
    const name = names[i]!
    if (name.length > 0xffff) throw new TypeError(`segment index: the name ${JSON.stringify(entries[i]!.name.slice(0, 40))}… is too long`)
    view.setUint16(at, name.length)
    bytes.set(name, at + 2)
    view.setUint32(at + 2 + name.length, offset)
    view.setUint32(at + 6 + name.length, length)
    at += 10 + name.length
  })
  view.setUint32(at, crc32(bytes.subarray(0, at)))
  return bytes
}

/**
 * A segment index. `where` names it in errors: a newer version is a FormatVersionError, anything cut off,
 * altered (CRC) or not an index is a CorruptRecordError (the storage then reads the segment itself).
 */
export function decodeSegmentIndex(input: Uint8Array, where: string): SegmentIndexEntry[] {
  // A Node Buffer (readFileSync) is read through a plain view: Buffer's own `subarray`, one per entry name, is
  // JavaScript that a cold process compiles and runs; the typed array's is built in.
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength)
  const corrupt = (detail: string) => new CorruptRecordError(where, detail)
  if (bytes.length < INDEX_MAGIC.length + 9) throw corrupt(`it has ${bytes.length} bytes, fewer than an empty index`)
  for (let i = 0; i < INDEX_MAGIC.length; i++) if (bytes[i] !== INDEX_MAGIC[i]) throw corrupt('it does not start with the segment index header')
  const version = bytes[INDEX_MAGIC.length]!
  if (version > SEGMENT_INDEX_VERSION) throw new FormatVersionError(where, version, SEGMENT_INDEX_VERSION)
  if (version < 1) throw corrupt(`its version is ${version}, not a positive integer`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (view.getUint32(bytes.length - 4) !== crc32(bytes.subarray(0, bytes.length - 4))) throw corrupt('its CRC does not match (cut off or altered)')
  const count = view.getUint32(INDEX_MAGIC.length + 1)
  const entries: SegmentIndexEntry[] = []
  let at = INDEX_MAGIC.length + 5
  for (let i = 0; i < count; i++) {
    if (at + 2 > bytes.length - 4) throw corrupt(`it ends inside entry ${i} of ${count}`)
    const nameLength = view.getUint16(at)
    if (at + 10 + nameLength > bytes.length - 4) throw corrupt(`it ends inside entry ${i} of ${count}`)
    let name: string
    try {
      name = decoder.decode(bytes.subarray(at + 2, at + 2 + nameLength))
    } catch {
      throw corrupt(`the name of entry ${i} is not UTF-8`)
    }
    entries.push({ name, offset: view.getUint32(at + 2 + nameLength), length: view.getUint32(at + 6 + nameLength) })
    at += 10 + nameLength
  }
  if (at !== bytes.length - 4) throw corrupt(`${bytes.length - 4 - at} bytes follow its ${count} entries`)
  return entries
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

/**
 * Node's zlib.crc32 (Node 20.15+, 22.2+), where there is one: the same checksum, natively. Looked up without
 * an import, so this module stays loadable anywhere; elsewhere, or on an older Node, the table below.
 */
const nativeCrc32 = (
  globalThis as { process?: { getBuiltinModule?: (id: string) => { crc32?: (bytes: Uint8Array) => number } | undefined } }
).process?.getBuiltinModule?.('node:zlib')?.crc32

/** CRC-32 (IEEE 802.3, as zlib's), enough to tell a torn or half-written entry from a whole one. */
export function crc32(bytes: Uint8Array): number {
  // A cold open checks the CRC of every segment index and log entry it reads: a loop over each byte in a
  // process whose JIT has not warmed up cost more than reading them.
  return nativeCrc32 ? nativeCrc32(bytes) : tableCrc32(bytes)
}

/** CRC-32 in JavaScript (exported for the test that it is Node's). */
export function tableCrc32(bytes: Uint8Array): number {
  let c = 0xffffffff
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}
