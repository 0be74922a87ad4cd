import { fileCid, verifyFile } from '../blockstore/car-file.js'
import { openCurrent, seal } from '../crypto/envelope.js'
import type { DatabaseKey } from '../crypto/key.js'
import { KeyRing } from '../crypto/key-epochs.js'
import type { MetaEntry } from '../connector/api.js'
import { decodeMetaEntryWithKeys, encodeMetaEntry, type HeadState } from '../format/head.js'

/**
 * A remote meta entry: the head state, sealed with the current database key, named by the CID of its sealed
 * bytes. After a rotation it names the key-epoch file, so a device given only the new key finds the old ones.
 */
export async function sealHead(key: DatabaseKey, head: HeadState): Promise<MetaEntry> {
  const epochFile = key instanceof KeyRing ? (key.epochFile ?? key.notedEpochFile) : undefined
  const bytes = await seal(key, encodeMetaEntry(head, epochFile))
  return { cid: (await fileCid(bytes)).toString(), bytes }
}

/**
 * Verifies the entry's bytes against its CID, then opens it with the current key only (IntegrityError /
 * KeyMismatchError otherwise, KeyRevokedError when a newer key that replaced this device's sealed it).
 */
export async function openHead(key: DatabaseKey, entry: MetaEntry, database: string): Promise<HeadState> {
  await verifyFile(entry.cid, entry.bytes)
  const plain = await openCurrent(key, entry.bytes, `meta entry ${entry.cid}`, database)
  const { head, keyEpochFile } = decodeMetaEntryWithKeys(plain, `The meta entry ${entry.cid} of database ${JSON.stringify(database)}`)
  if (keyEpochFile && key instanceof KeyRing) key.note(keyEpochFile)
  return head
}
