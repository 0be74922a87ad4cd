import { CorruptRecordError, FormatVersionError } from '../errors.js'

/**
 * The local record `replicated`, present once a sync was connected to the database (automatic compaction
 * then waits for a connected sync). Its presence is the information; its one byte is its version (1).
 */
export const REPLICATED_RECORD_VERSION = 1

export function encodeReplicatedRecord(): Uint8Array {
  return new Uint8Array([REPLICATED_RECORD_VERSION])
}

/** Checks a stored `replicated` record (any stored one means "replicates"). */
export function decodeReplicatedRecord(bytes: Uint8Array, where: string): true {
  if (bytes.length !== 1) throw new CorruptRecordError(where, `expected one version byte, found ${bytes.length} bytes`)
  if (bytes[0] === 0) throw new CorruptRecordError(where, 'its version byte is 0')
  if (bytes[0]! > REPLICATED_RECORD_VERSION) throw new FormatVersionError(where, bytes[0]!, REPLICATED_RECORD_VERSION)
  return true
}
