import * as dagCbor from '@ipld/dag-cbor'
import type { CID } from '../blockstore/block.js'
import type { Storage } from '../storage/api.js'

/**
 * A persisted index: its tree root and the file holding it, and the document tree root it reflects (with
 * its file), so a reopened database answers the first query from the stored tree and brings it up to date
 * with a diff from `docRoot` instead of a rebuild. Kept in a small local record per branch: indexes are a
 * replica's own (they depend on the queries it runs), so they are not part of the synced clock.
 */
export interface IndexState {
  /** `field:<field>` or `named:<index name>` (see indexIdentity). */
  name: string
  /** A named index: the source text of the map function that built it (another source rebuilds it). */
  source?: string
  root: CID
  file: string
  docRoot: CID
  docFile: string
}

const record = (branch: string) => `indexes.${branch}`

export async function readIndexes(storage: Storage, branch: string): Promise<Map<string, IndexState>> {
  const bytes = await storage.readRecord(record(branch))
  const out = new Map<string, IndexState>()
  if (!bytes) return out
  const value = dagCbor.decode(bytes) as { v: 1; i: IndexState[] }
  // Earlier versions also persisted unnamed map functions by source text (`map:…`); those are never read.
  for (const index of value.i ?? []) if (!index.name.startsWith('map:')) out.set(index.name, index)
  return out
}

export async function writeIndexes(storage: Storage, branch: string, indexes: Map<string, IndexState>): Promise<void> {
  await storage.writeRecord(record(branch), dagCbor.encode({ v: 1, i: [...indexes.values()] }))
}
