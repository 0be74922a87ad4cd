import * as dagCbor from '@ipld/dag-cbor'
import { KeyMismatchError } from '../errors.js'
import type { Storage } from '../storage/api.js'
import { generateKeyBytes, importKey, keyFromString, type DatabaseKey } from './key.js'

const RECORD = 'keybag'

/**
 * The local keybag: the database key, kept in its own local record, never in a data file or the meta.
 * A key passed by the user must match the one this device already keeps for the database.
 */
export async function loadKey(storage: Storage, database: string, given: string | undefined): Promise<DatabaseKey> {
  const givenRaw = given === undefined ? undefined : keyFromString(given)
  const stored = await storage.readRecord(RECORD)
  if (stored) {
    const { key } = dagCbor.decode(stored) as { key: Uint8Array }
    if (givenRaw && !equal(givenRaw, key)) {
      throw new KeyMismatchError(database, 'this device already keeps a different key for it')
    }
    return importKey(key)
  }
  const raw = givenRaw ?? generateKeyBytes()
  await storage.writeRecord(RECORD, dagCbor.encode({ key: raw }))
  return importKey(raw)
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i])
}
