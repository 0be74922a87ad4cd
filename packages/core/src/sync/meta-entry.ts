import { fileCid, verifyFile } from '../blockstore/car-file.js'
import { open, seal } from '../crypto/envelope.js'
import type { DatabaseKey } from '../crypto/key.js'
import type { MetaEntry } from '../connector/api.js'
import { decodeMetaEntry, encodeMetaEntry, type HeadState } from '../format/head.js'

/** A remote meta entry: the head state, sealed with the database key, named by the CID of its sealed bytes. */
export async function sealHead(key: DatabaseKey, head: HeadState): Promise<MetaEntry> {
  const bytes = await seal(key, encodeMetaEntry(head))
  return { cid: (await fileCid(bytes)).toString(), bytes }
}

/** Verifies the entry's bytes against its CID, then opens it (IntegrityError / KeyMismatchError otherwise). */
export async function openHead(key: DatabaseKey, entry: MetaEntry, database: string): Promise<HeadState> {
  await verifyFile(entry.cid, entry.bytes)
  const plain = await open(key, entry.bytes, `meta entry ${entry.cid}`, database)
  return decodeMetaEntry(plain, `The meta entry ${entry.cid} of database ${JSON.stringify(database)}`)
}
