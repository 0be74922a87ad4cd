import { decodeCompactionRecord, encodeCompactionRecord, type CompactionRecord } from '../format/compaction-record.js'
import { decodeCompactionSummary, encodeCompactionSummary, type CompactionSummary } from '../format/compaction-summary.js'
import type { Storage } from '../storage/api.js'
import type { BlockStore } from './store.js'

export type { CompactionRecord, CompactionSummary }

const RECORD = 'compaction'
const SUMMARY = 'compaction-summary'

const where = (storage: Storage, name: string) => `The ${name === RECORD ? 'compaction record' : 'compaction summary record'} of ${JSON.stringify(storage.location)}`

export async function readCompaction(storage: Storage): Promise<CompactionRecord | undefined> {
  const bytes = await storage.readRecord(RECORD)
  return bytes ? decodeCompactionRecord(bytes, where(storage, RECORD)) : undefined
}

export async function readCompactionSummary(storage: Storage): Promise<CompactionSummary | undefined> {
  const bytes = await storage.readRecord(SUMMARY)
  return bytes ? decodeCompactionSummary(bytes, where(storage, SUMMARY)) : undefined
}

/** A compaction's record and summary, encoded while it rewrites, stored at its swap (`writeCompaction`). */
export interface EncodedCompaction {
  record: Uint8Array
  summary: Uint8Array
}

export function encodeCompaction(record: CompactionRecord & { bytes: number }): EncodedCompaction {
  return { record: encodeCompactionRecord(record), summary: encodeCompactionSummary({ files: record.files, bytes: record.bytes }) }
}

/**
 * The full record first (the summary only stands for it), then the summary. It replaces the previous
 * compaction's record, which the stored head may still need (see Compactor: only once the head is the
 * compaction's state, before it deletes anything).
 */
export async function writeCompaction(storage: Storage, encoded: EncodedCompaction): Promise<void> {
  await storage.writeRecord(RECORD, encoded.record)
  await storage.writeRecord(SUMMARY, encoded.summary)
}

/**
 * What opening needs of the last compaction. With a summary, the block locations of the full record are
 * handed to the store to read when a block is not where the headers it knows say (lazily: the record grows
 * with the database, ~0.4 MB and ~0.5 s to decode and apply at 300k documents); without one (a database
 * compacted before summaries existed) the record is read and applied now, as it always was.
 */
export async function openCompaction(storage: Storage, store: BlockStore): Promise<CompactionSummary | undefined> {
  const summary = await readCompactionSummary(storage)
  if (!summary) {
    const record = await readCompaction(storage)
    if (!record) return undefined
    applyCompaction(store, record)
    return { files: record.files, bytes: record.bytes ?? 0 }
  }
  store.deferLocations(async () => {
    const record = await readCompaction(storage)
    const located: [string, string][] = []
    if (!record) return located
    for (const [cid, index] of record.blocks) located.push([cid.toString(), record.files[index]!])
    for (const [cid, file] of record.history) located.push([cid.toString(), file])
    return located
  })
  return summary
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
