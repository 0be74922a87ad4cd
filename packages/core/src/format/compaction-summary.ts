import { CorruptRecordError } from '../errors.js'
import { decodeRecordMap, encodeRecord } from './record.js'
import { recordVersion } from './version.js'

/**
 * The local record `compaction-summary`: `{ v: 1, files, bytes }`, what opening a database needs of the last
 * compaction (its files, and their size, which pace automatic compaction) without the `compaction` record's
 * location of every block it wrote: that one grows with the database and is read only when a block is not
 * where a header says (compaction.ts). Written right after the `compaction` record; a database without it
 * (written before it existed) reads the `compaction` record at opening, as before.
 */
export const COMPACTION_SUMMARY_VERSION = 1

export interface CompactionSummary {
  files: string[]
  bytes: number
}

export function encodeCompactionSummary(summary: CompactionSummary): Uint8Array {
  return encodeRecord({ v: COMPACTION_SUMMARY_VERSION, files: summary.files, bytes: summary.bytes })
}

export function decodeCompactionSummary(encoded: Uint8Array, where: string): CompactionSummary {
  const value = decodeRecordMap(encoded, where)
  recordVersion(value, where, COMPACTION_SUMMARY_VERSION)
  const { files, bytes } = value as Partial<CompactionSummary>
  const ok = Array.isArray(files) && files.every((file) => typeof file === 'string') && Number.isSafeInteger(bytes) && bytes! >= 0
  if (!ok) throw new CorruptRecordError(where, 'not a compaction summary { files, bytes }')
  return { files: files!, bytes: bytes! }
}
