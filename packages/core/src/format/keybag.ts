import { CorruptRecordError } from '../errors.js'
import { decodeRecordMap, encodeRecord } from './record.js'
import { recordVersion } from './version.js'

/**
 * The local keybag record `keybag`: `{ v: 1, key: <32 bytes> }`, the raw AES-256 database key. Written once
 * (write-if-absent); a keybag written before the version field existed (`{ key }`) reads as version 1 and
 * is never rewritten.
 */
export const KEYBAG_VERSION = 1
const KEY_LENGTH = 32

export function encodeKeybag(key: Uint8Array): Uint8Array {
  return encodeRecord({ v: KEYBAG_VERSION, key })
}

export function decodeKeybag(bytes: Uint8Array, where: string): Uint8Array {
  const value = decodeRecordMap(bytes, where)
  recordVersion(value, where, KEYBAG_VERSION)
  const key = value.key
  if (!(key instanceof Uint8Array) || key.length !== KEY_LENGTH) {
    throw new CorruptRecordError(where, `it holds no ${KEY_LENGTH}-byte key`)
  }
  return key
}
