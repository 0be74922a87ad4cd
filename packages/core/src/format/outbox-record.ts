import { CorruptRecordError } from '../errors.js'
import { decodeRecordMap, encodeRecord } from './record.js'
import { recordVersion } from './version.js'

/**
 * The local sync record `sync.<connector>.<backend id hash>.<branch>`: what one backend holds.
 * - Version 2: `{ v: 2, complete: [file…], held: [file…] }`, `held` listing the held files that are not
 *   complete.
 * - Version 1 (no `v`): `{ uploaded: [file…] }`, written before the two levels existed; read as held only.
 */
export const OUTBOX_RECORD_VERSION = 2

export interface OutboxRecord {
  complete: string[]
  /** Held but not complete. */
  held: string[]
}

export function encodeOutboxRecord(record: OutboxRecord): Uint8Array {
  return encodeRecord({ v: OUTBOX_RECORD_VERSION, complete: record.complete, held: record.held })
}

export function decodeOutboxRecord(bytes: Uint8Array, where: string): OutboxRecord {
  const value = decodeRecordMap(bytes, where)
  const version = recordVersion(value, where, OUTBOX_RECORD_VERSION)
  if (version === 1) {
    if (!isFileList(value.uploaded)) throw new CorruptRecordError(where, 'not a version 1 sync record { uploaded }')
    return { complete: [], held: value.uploaded.map(String) }
  }
  if (!isFileList(value.complete) || !isFileList(value.held)) {
    throw new CorruptRecordError(where, 'not a version 2 sync record { v, complete, held }')
  }
  return { complete: value.complete.map(String), held: value.held.map(String) }
}

function isFileList(value: unknown): value is unknown[] {
  return Array.isArray(value)
}
