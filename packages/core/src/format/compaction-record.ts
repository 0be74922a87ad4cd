import { CID } from 'multiformats/cid'
import { CorruptRecordError } from '../errors.js'
import { decodeRecordMap, encodeRecord } from './record.js'
import { recordVersion } from './version.js'

/**
 * The local record `compaction` of the last compaction: `{ v: 1, files, blocks, history }`. `files` are the
 * files it wrote; `blocks` pairs each block it wrote with the index of its file in `files`; `history` pairs
 * older clock events with a file holding them. Records written before the version field existed have no `v`
 * and read as version 1.
 */
export const COMPACTION_RECORD_VERSION = 1

export interface CompactionRecord {
  files: string[]
  blocks: [CID, number][]
  history: [CID, string][]
}

export function encodeCompactionRecord(record: CompactionRecord): Uint8Array {
  return encodeRecord({ v: COMPACTION_RECORD_VERSION, files: record.files, blocks: record.blocks, history: record.history })
}

export function decodeCompactionRecord(bytes: Uint8Array, where: string): CompactionRecord {
  const value = decodeRecordMap(bytes, where)
  recordVersion(value, where, COMPACTION_RECORD_VERSION)
  const { files, blocks, history } = value as Partial<CompactionRecord>
  const ok =
    Array.isArray(files) &&
    files.every((file) => typeof file === 'string') &&
    Array.isArray(blocks) &&
    blocks.every((pair) => isPair(pair) && CID.asCID(pair[0]) !== null && Number.isInteger(pair[1]) && pair[1] >= 0 && pair[1] < files.length) &&
    Array.isArray(history) &&
    history.every((pair) => isPair(pair) && CID.asCID(pair[0]) !== null && typeof pair[1] === 'string')
  if (!ok) throw new CorruptRecordError(where, 'not a compaction record { files, blocks: [[cid, file index]…], history: [[cid, file]…] }')
  return { files, blocks, history }
}

function isPair(value: unknown): value is [unknown, unknown] {
  return Array.isArray(value) && value.length === 2
}
