import { decodeCompactionRecord, encodeCompactionRecord, type CompactionRecord } from '../format/compaction-record.js'
import type { Storage } from '../storage/api.js'
import type { BlockStore } from './store.js'

export type { CompactionRecord }

const RECORD = 'compaction'

export async function readCompaction(storage: Storage): Promise<CompactionRecord | undefined> {
  const bytes = await storage.readRecord(RECORD)
  return bytes ? decodeCompactionRecord(bytes, `The compaction record of ${JSON.stringify(storage.location)}`) : undefined
}

export async function writeCompaction(storage: Storage, record: CompactionRecord): Promise<void> {
  await storage.writeRecord(RECORD, encodeCompactionRecord(record))
}

/**
 * Applied when a database opens, before any file is read: a header written before the compaction (or by a
 * concurrent replica) may still name a deleted file for a block; the first location recorded wins, so these
 * come first.
 */
export function applyCompaction(store: BlockStore, record: CompactionRecord): void {
  for (const [cid, index] of record.blocks) store.locate(cid, record.files[index]!)
  for (const [cid, file] of record.history) store.locate(cid, file)
}
