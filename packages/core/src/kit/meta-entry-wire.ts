import { base64pad } from 'multiformats/bases/base64'
import type { MetaEntry } from '../connector/api.js'

/**
 * A meta entry where only text travels (a JSON listing, a websocket message): the CID as it is, the sealed
 * bytes in padded base64.
 */
export interface WireMetaEntry {
  cid: string
  /** base64, padded */
  bytes: string
}

export function metaEntryToWire(entry: MetaEntry): WireMetaEntry {
  return { cid: entry.cid, bytes: base64pad.baseEncode(entry.bytes) }
}

/**
 * The inverse of metaEntryToWire. A TypeError naming `source` when `value` is not `{ cid: string, bytes:
 * base64 string }`; the CID is left for verifyCid to check against the bytes.
 */
export function metaEntryFromWire(value: unknown, source: string): MetaEntry {
  const item = value as Partial<WireMetaEntry> | null
  if (typeof item?.cid !== 'string' || typeof item.bytes !== 'string') {
    throw new TypeError(`${source} has an invalid entry (expected { cid: string, bytes: base64 string })`)
  }
  let bytes: Uint8Array
  try {
    bytes = base64pad.baseDecode(item.bytes)
  } catch {
    throw new TypeError(`${source} has an entry ${JSON.stringify(item.cid.slice(0, 100))} whose bytes are not valid base64`)
  }
  return { cid: item.cid, bytes }
}
