import { equals } from 'multiformats/bytes'
import { decodeHeadRecord, encodeHeadRecord, type HeadState } from '../format/head.js'
import type { Storage, SynchronousWrites } from '../storage/api.js'

export type { HeadState }

/**
 * The local head record `head.<branch>` is shared by every instance over the same storage (browser tabs,
 * `database()` calls in one process). Each writes its head with a compare-and-set (`updateRecord`): a stored
 * head this instance has not merged is not overwritten but kept in the record's `unmerged` list, so no
 * instance's acknowledged write is ever dropped by another's. Instances merge the list when they open and
 * whenever the record changes (head-state.ts), and a write drops the entries its writer has merged.
 */
const record = (branch: string) => `head.${branch}`

/** Heads each storage instance has merged into its state, per branch (keyed by `headKey`). */
const mergedBy = new WeakMap<Storage, Map<string, Set<string>>>()

function merged(storage: Storage, branch: string): Set<string> {
  let branches = mergedBy.get(storage)
  if (!branches) mergedBy.set(storage, (branches = new Map()))
  let set = branches.get(branch)
  if (!set) branches.set(branch, (set = new Set()))
  return set
}

const headKey = (head: HeadState) => (head.heads.length === 1 ? head.heads[0]!.toString() : head.heads.map(String).sort().join(','))

/** The stored head, or undefined for a new database. */
export async function readHead(storage: Storage, branch: string): Promise<HeadState | undefined> {
  return (await readHeads(storage, branch))[0]
}

/** The stored head first, then the heads other writers stored that the head does not contain yet. */
export async function readHeads(storage: Storage, branch: string): Promise<HeadState[]> {
  const bytes = await storage.readRecord(record(branch))
  return bytes ? decodeHeadRecord(bytes, describeRecord(storage, branch)) : []
}

/** Notes that this instance's state now contains `head`: its next write may drop it from the record. */
export function markMerged(storage: Storage, branch: string, head: HeadState): void {
  merged(storage, branch).add(headKey(head))
}

/**
 * Stores `head` as the head; every stored head that `head` may not contain (not merged by this instance,
 * another clock) stays in the record's `unmerged` list.
 */
export async function writeHead(storage: Storage, branch: string, head: HeadState): Promise<void> {
  await storage.updateRecord(record(branch), headChange(storage, branch, head))
  noteWritten(storage, branch, head)
}

/** `writeHead` through a storage's synchronous writes (see Storage.writeNow). */
export function writeHeadNow(writes: SynchronousWrites, storage: Storage, branch: string, head: HeadState): void {
  writes.updateRecord(record(branch), headChange(storage, branch, head))
  noteWritten(storage, branch, head)
}

function headChange(storage: Storage, branch: string, head: HeadState): (current: Uint8Array | undefined) => Uint8Array {
  const known = merged(storage, branch)
  const key = headKey(head)
  return (current) => {
    const stored = current ? decodeStored(storage, branch, current) : []
    // Usually the record holds only the head this instance wrote last (known): nothing to keep.
    const unmerged = stored.length === 1 && known.has(headKey(stored[0]!)) ? [] : unmergedOf(stored, known, key)
    const bytes = encodeHeadRecord(head, unmerged)
    lastWritten(storage).set(branch, { bytes, heads: unmerged.length ? [head, ...unmerged] : [head] })
    return bytes
  }
}

/** Only the new head can be in the record now; entries other writers add later are judged then. */
function noteWritten(storage: Storage, branch: string, head: HeadState): void {
  const known = merged(storage, branch)
  known.clear()
  known.add(headKey(head))
}

/** The stored heads neither merged by this instance nor the head being written, once each. */
function unmergedOf(stored: HeadState[], known: Set<string>, written: string): HeadState[] {
  return dedupe(stored.filter((other) => !known.has(headKey(other)) && headKey(other) !== written))
}

/**
 * The record this instance wrote last, decoded: a write usually finds exactly those bytes (no other writer
 * came in between), and decoding them again was a tenth of a single put's CPU.
 */
const written = new WeakMap<Storage, Map<string, { bytes: Uint8Array; heads: HeadState[] }>>()

function lastWritten(storage: Storage): Map<string, { bytes: Uint8Array; heads: HeadState[] }> {
  let branches = written.get(storage)
  if (!branches) written.set(storage, (branches = new Map()))
  return branches
}

function decodeStored(storage: Storage, branch: string, bytes: Uint8Array): HeadState[] {
  const last = lastWritten(storage).get(branch)
  if (last && equals(last.bytes, bytes)) return last.heads
  return decodeHeadRecord(bytes, describeRecord(storage, branch))
}

function dedupe(heads: HeadState[]): HeadState[] {
  return [...new Map(heads.map((head) => [headKey(head), head])).values()]
}

export function describeRecord(storage: Storage, branch: string): string {
  return `The head record ${JSON.stringify(record(branch))} of ${JSON.stringify(storage.location)}`
}
