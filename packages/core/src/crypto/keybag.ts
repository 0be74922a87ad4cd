import * as dagCbor from '@ipld/dag-cbor'
import { CorruptRecordError, KeyMismatchError } from '../errors.js'
import type { Storage } from '../storage/api.js'
import { generateKeyBytes, importKey, keyFromString, type DatabaseKey } from './key.js'

const RECORD = 'keybag'

/**
 * The local keybag: the database key, kept in its own local record, never in a data file or the meta.
 * A key passed by the user must match the one this device already keeps for the database.
 * A new key is written only if none exists, in one atomic read-and-write (`updateRecord`): when two tabs
 * create the same database at once, one key wins and the other tab adopts it.
 */
export async function loadKey(storage: Storage, database: string, given: string | undefined): Promise<DatabaseKey> {
  const givenRaw = given === undefined ? undefined : keyFromString(given)
  const fresh = givenRaw ?? generateKeyBytes()
  const stored = await storage.updateRecord(RECORD, (current) => (current ? undefined : dagCbor.encode({ key: fresh })))
  const key = decodeKeybag(stored, storage.location)
  if (givenRaw && !equal(givenRaw, key)) {
    throw new KeyMismatchError(database, 'this device already keeps a different key for it')
  }
  return importKey(key)
}

function decodeKeybag(bytes: Uint8Array | undefined, location: string): Uint8Array {
  let value: unknown
  try {
    value = bytes && dagCbor.decode(bytes)
  } catch (error) {
    throw new CorruptRecordError(`The keybag record of ${JSON.stringify(location)}`, `not dag-cbor (${(error as Error).message})`)
  }
  const key = (value as { key?: unknown } | undefined)?.key
  if (!(key instanceof Uint8Array) || key.length !== 32) {
    throw new CorruptRecordError(`The keybag record of ${JSON.stringify(location)}`, 'it holds no 32-byte key')
  }
  return key
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i])
}
