import { CID } from 'multiformats/cid'
import { CorruptRecordError } from '../errors.js'
import { decodeRecordMap, encodeRecord } from './record.js'
import { recordVersion } from './version.js'

/**
 * The local record `compaction` of the last compaction: `{ v: 1, files, blocks, history, bytes? }`. `files`
 * are the files it wrote; `blocks` pairs each block it wrote with the index of its file in `files`; `history`
 * pairs older clock events with a file holding them; `bytes` (optional, added later in version 1: earlier
 * readers ignore it) is the size of its files, which paces automatic compaction. Records written before the
 * version field existed have no `v` and read as version 1.
 */
export const COMPACTION_RECORD_VERSION = 1

export interface CompactionRecord {
  files: string[]
  blocks: [CID, number][]
  history: [CID, string][]
  bytes?: number
}

export function encodeCompactionRecord(record: CompactionRecord): Uint8Array {
  const { files, blocks, history, bytes } = record
  return encodeRecord({ v: COMPACTION_RECORD_VERSION, files, blocks, history, ...(bytes === undefined ? {} : { bytes }) })
}

export function decodeCompactionRecord(encoded: Uint8Array, where: string): CompactionRecord {
  const value = decodeRecordMap(encoded, where)
  recordVersion(value, where, COMPACTION_RECORD_VERSION)
  const { files, blocks, history, bytes } = value as Partial<CompactionRecord>
  const ok =
    Array.isArray(files) &&
    files.every((file) => typeof file === 'string') &&
    Array.isArray(blocks) &&
    blocks.every((pair) => isPair(pair) && CID.asCID(pair[0]) !== null && Number.isInteger(pair[1]) && pair[1] >= 0 && pair[1] < files.length) &&
    Array.isArray(history) &&
    history.every((pair) => isPair(pair) && CID.asCID(pair[0]) !== null && typeof pair[1] === 'string') &&
    (bytes === undefined || (Number.isSafeInteger(bytes) && bytes >= 0))
  if (!ok) throw new CorruptRecordError(where, 'not a compaction record { files, blocks: [[cid, file index]…], history: [[cid, file]…], bytes? }')
  return bytes === undefined ? { files, blocks, history } : { files, blocks, history, bytes }
}

function isPair(value: unknown): value is [unknown, unknown] {
  return Array.isArray(value) && value.length === 2
}
