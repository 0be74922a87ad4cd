import { storeAttachments } from '../attachments/write.js'
import type { Body, Entry } from '../crdt/entry.js'
import { compareKeys, writeEntry } from '../crdt/entry.js'
import { ClockChangedError, isPermanentError, NotDownloadedError, NotFoundError } from '../errors.js'
import type { Clock } from './api.js'
import type { LocalHead } from './head-state.js'
import { lookupAtHead, lookupHeldAtHead } from './head-tree.js'
import type { OpenState } from './open.js'
import { toRow } from './view.js'
import type { Op, PendingWrite } from './write-queue.js'

/**
 * Reads what each queued write needs before the batch commits, so that one write that cannot be made
 * rejects alone and the others go through:
 * - a write needs the current entry of each id it writes (a local write supersedes it). On a device that
 *   started lazily, the part of the tree holding it may never have been downloaded; when no backend serves
 *   it now, the write is rejected with NotDownloadedError (transient: the same write succeeds once a
 *   backend is reachable) and nothing is written;
 * - a delete names a version this replica holds, as PouchDB's `remove` needs a rev: deleting an id with no
 *   live version here (never seen, or already deleted) rejects with NotFoundError, so a device can never
 *   erase another's write it has not observed;
 * - the attachments of an accepted write are stored (new content as chunk files; a kept one must name an
 *   attachment of this database, else that write rejects with a TypeError).
 * Later writes of the batch see earlier ones. Returns the accepted writes and the entries read.
 */
export async function screenWrites(
  name: string,
  state: OpenState,
  batch: PendingWrite[],
): Promise<{ accepted: PendingWrite[]; previous: Map<string, Entry | undefined> }> {
  const previous = new Map<string, Entry | undefined>()
  const live = new Map<string, boolean>()
  const accepted: PendingWrite[] = []
  // Indexed loops and no array destructuring: a single put runs this before the JIT has optimized it, and
  // unoptimized code allocates an iterator result per element of either (sequential-puts.ts).
  for (let w = 0; w < batch.length; w++) {
    const write = batch[w]!
    const ops = write.ops
    // A conditional write commits only on the state it was made against: the head it names, and no write
    // accepted before it in this transaction (which moves that state too).
    if (write.ifClock) {
      const current = (state.head?.heads.map(String) ?? []).sort()
      if (accepted.length > 0 || current.length !== write.ifClock.length || current.some((head, i) => head !== write.ifClock![i])) {
        write.reject(new ClockChangedError(write.ifClock, current))
        continue
      }
    }
    let unreadable: string[] | undefined
    let cause: unknown
    for (let i = 0; i < ops.length; i++) {
      const id = ops[i]![0]
      if (previous.has(id) || !state.head) continue
      try {
        previous.set(id, await lookupAtHead(state, id))
      } catch (error) {
        // Not stored here, and no backend serves it now (offline, or no sync connected).
        if (isPermanentError(error)) throw error
        ;(unreadable ??= []).push(id)
        cause ??= error
      }
    }
    if (unreadable) {
      write.reject(new NotDownloadedError(name, unreadable, cause))
      continue
    }
    const after = new Map<string, boolean>()
    let unseen: string | undefined
    let unseenDeleted = false
    for (let i = 0; i < ops.length; i++) {
      const id = ops[i]![0]
      const body = ops[i]![1]
      const entry = previous.get(id)
      const known = after.get(id) ?? live.get(id)
      const isLive = known ?? (entry !== undefined && entry[2] !== null)
      if (body === null && !isLive) {
        unseen = id
        // Deleted (earlier in this transaction, or a tombstone) rather than never written.
        unseenDeleted = known === false || (known === undefined && entry !== undefined)
        break
      }
      after.set(id, body !== null)
    }
    if (unseen !== undefined) {
      write.reject(new NotFoundError(unseen, unseenDeleted))
      continue
    }
    try {
      // New attachment content becomes chunk files now; a kept one must be an attachment of this database.
      for (let i = 0; i < ops.length; i++) {
        const body = ops[i]![1]
        const id = ops[i]![0]
        // Only a document with `_files` can hold attachments (most have none: no await, no message string).
        if (body?._files !== undefined) await storeAttachments(state.store, body, `document ${JSON.stringify(id)}`)
      }
    } catch (error) {
      write.reject(error)
      continue
    }
    if (batch.length > 1) for (const [id, value] of after) live.set(id, value)
    accepted.push(write)
  }
  return { accepted, previous }
}

/** Commits `ops` (later ones win for an id) as one file and one clock event (see LocalHead.advance). */
export async function commitOps(
  state: OpenState,
  head: LocalHead,
  ops: Op[],
  previous = new Map<string, Entry | undefined>(),
): Promise<Clock> {
  const height = (state.head?.height ?? 0) + 1
  // A local write supersedes every version the id holds (it resolves its conflicts), so it carries them.
  const entries: Entry[] = []
  const latest = latestById(ops)
  for (let i = 0; i < latest.length; i++) {
    const id = latest[i]![0]
    const before = previous.has(id) || !state.head ? previous.get(id) : await lookupAtHead(state, id)
    entries.push(writeEntry(id, height, latest[i]![1], before))
  }
  // The rows only for subscribers (each is a copy of its document).
  await head.advance(state, entries, height, () => entries.map((entry) => toRow(entry, state.store)))
  return state.head!.heads.map(String)
}

/**
 * The common transaction done before returning: one write of one document, whose current entry is held in
 * memory, as a delta (LocalHead.advanceNow). Its clock, or undefined with nothing written when it needs
 * anything more (a read, a refusal, an attachment, a checkpoint): the write queue commits it then, through
 * screenWrites and commitOps, which this does in one synchronous step for the case they find most.
 */
export function commitNow(state: OpenState, head: LocalHead, id: string, body: Body): Clock | undefined {
  const at = state.head
  if (state.damagedHead || (body !== null && body._files !== undefined)) return undefined
  let previous: Entry | undefined | { notHeld: unknown }
  try {
    previous = lookupHeldAtHead(state, id)
  } catch {
    // A damaged node: the write queue's read reports it as it reports any other.
    return undefined
  }
  if (previous && 'notHeld' in previous) return undefined
  // Deleting an id with no live version here is refused by screenWrites.
  if (body === null && (previous === undefined || previous[2] === null)) return undefined
  const height = (at?.height ?? 0) + 1
  const entry = writeEntry(id, height, body, previous)
  // The clock of this write's head, not of state.head: a subscriber may have written again since.
  return head.advanceNow(state, [entry], height, () => [toRow(entry, state.store)])?.heads.map(String)
}

/** The last op of each id, sorted by id (a single op, the common transaction, as it is). */
function latestById(ops: Op[]): Op[] {
  if (ops.length === 1) return ops
  const latest = new Map<string, Body>()
  for (const [id, body] of ops) latest.set(id, body)
  return [...latest].sort(([a], [b]) => compareKeys(a, b))
}
