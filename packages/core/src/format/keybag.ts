import { CID } from 'multiformats/cid'
import { CorruptRecordError } from '../errors.js'
import { decodeRecordMap, encodeRecord } from './record.js'
import { recordVersion } from './version.js'

/**
 * The local keybag record `keybag`.
 * - Version 1: `{ v: 1, key: <32 bytes> }`, the raw AES-256 database key. A keybag written before the version
 *   field existed (`{ key }`) reads as version 1. Written by every database whose key was never rotated.
 * - Version 2, after a rotation: `{ v: 2, key, earlier: [<32 bytes>…], epochs: <CID> }`: the current key, the
 *   keys it replaced (oldest first: `earlier.length` is the key epoch), and the key-epoch file that carries
 *   those keys to other devices, sealed by the current key (format/key-epoch.ts). The earlier keys are kept
 *   here beside the current one: whoever reads this record holds the current key, which opens that file anyway.
 * Written if absent, and replaced (atomically) by a rotation or when a device learns the earlier keys.
 */
export const KEYBAG_VERSION = 2
const KEY_LENGTH = 32

export interface KeybagContent {
  key: Uint8Array
  /** Oldest first; empty for a key that was never rotated. */
  earlier: Uint8Array[]
  /** The key-epoch file (its CID); present exactly when `earlier` is not empty. */
  epochFile?: string
}

export function encodeKeybag(key: Uint8Array): Uint8Array {
  return encodeRecord({ v: 1, key })
}

/** Version 1 for a key never rotated (the same bytes as always), version 2 otherwise. */
export function encodeKeyRing({ key, earlier, epochFile }: KeybagContent): Uint8Array {
  if (earlier.length === 0) return encodeKeybag(key)
  if (!epochFile) throw new RangeError('a rotated keybag names its key-epoch file')
  return encodeRecord({ v: KEYBAG_VERSION, key, earlier, epochs: CID.parse(epochFile) })
}

/** The current key. */
export function decodeKeybag(bytes: Uint8Array, where: string): Uint8Array {
  return decodeKeyRing(bytes, where).key
}

export function decodeKeyRing(bytes: Uint8Array, where: string): KeybagContent {
  const value = decodeRecordMap(bytes, where)
  const version = recordVersion(value, where, KEYBAG_VERSION)
  const key = value.key
  if (!isKey(key)) throw new CorruptRecordError(where, `it holds no ${KEY_LENGTH}-byte key`)
  if (version === 1) return { key, earlier: [] }
  const { earlier, epochs } = value
  if (!Array.isArray(earlier) || earlier.length === 0 || !earlier.every(isKey)) {
    throw new CorruptRecordError(where, `its earlier keys are not one or more ${KEY_LENGTH}-byte keys`)
  }
  const epochFile = CID.asCID(epochs)
  if (!epochFile) throw new CorruptRecordError(where, 'it names no key-epoch file')
  return { key, earlier: earlier as Uint8Array[], epochFile: epochFile.toString() }
}

function isKey(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length === KEY_LENGTH
}
