import { decodeIndexRecord, encodeIndexRecord, type IndexState } from '../format/index-record.js'
import type { Storage } from '../storage/api.js'

/**
 * Persisted indexes (layout: format/index-record.ts), kept in a small local record per branch: indexes are a
 * replica's own (they depend on the queries it runs), so they are not part of the synced clock.
 */
export type { IndexState }

const record = (branch: string) => `indexes.${branch}`

export async function readIndexes(storage: Storage, branch: string): Promise<Map<string, IndexState>> {
  const bytes = await storage.readRecord(record(branch))
  const out = new Map<string, IndexState>()
  if (!bytes) return out
  const where = `The index record ${JSON.stringify(record(branch))} of ${JSON.stringify(storage.location)}`
  // Earlier versions also persisted unnamed map functions by source text (`map:…`); those are never read.
  for (const index of decodeIndexRecord(bytes, where)) if (!index.name.startsWith('map:')) out.set(index.name, index)
  return out
}

export async function writeIndexes(storage: Storage, branch: string, indexes: Map<string, IndexState>): Promise<void> {
  await storage.writeRecord(record(branch), encodeIndexRecord(indexes.values()))
}
