import { equals } from 'multiformats/bytes'
import { CorruptRecordError, KeyMismatchError } from '../errors.js'
import { decodeKeybag, encodeKeybag } from '../format/keybag.js'
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
  const stored = await storage.updateRecord(RECORD, (current) => (current ? undefined : encodeKeybag(fresh)))
  const where = `The keybag record of ${JSON.stringify(storage.location)}`
  if (!stored) throw new CorruptRecordError(where, 'it holds no 32-byte key')
  const key = decodeKeybag(stored, where)
  if (givenRaw && !equals(givenRaw, key)) {
    throw new KeyMismatchError(database, 'this device already keeps a different key for it')
  }
  return importKey(key)
}
