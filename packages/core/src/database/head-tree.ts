import type { CID } from '../blockstore/block.js'
import { resolveRoot } from '../clock/resolve.js'
import { applyDelta } from '../clock/root.js'
import { compareKeys, type Entry } from '../crdt/entry.js'
import { lookup } from '../crdt/tree.js'
import type { HeadState } from './head.js'
import type { OpenState } from './open.js'

/**
 * The document tree at a head this writer made from delta events, not built yet: the tree `base` (the root of
 * an earlier event) plus `entries`, the newest entry of each id the deltas since wrote. Building the tree on
 * every small write was a fifth of a single put's CPU (packages/core/bench/sequential-puts.ts); it is built
 * when a reader first needs the root, or by the next checkpoint. The prolly tree's shape depends only on the
 * set of entries (crdt/tree.ts), so applying them at once gives the root a reader derives delta by delta.
 * Immutable: a later delta makes a new one, so a reader holding an older head still sees its own tree.
 */
export interface PendingTree {
  base: CID
  entries: ReadonlyMap<string, Entry>
}

const pendingOf = new WeakMap<HeadState, PendingTree>()

/** Notes that `head` (a delta this writer made, with no root) holds `previous`'s tree plus `entries`. */
export function notePendingTree(head: HeadState, previous: HeadState | undefined, emptyRoot: CID, entries: Entry[]): void {
  const before = previous && pendingOf.get(previous)
  const base = before?.base ?? previous?.root ?? emptyRoot
  const merged = new Map(before?.entries)
  for (const entry of entries) merged.set(entry[0], entry)
  pendingOf.set(head, { base, entries: merged })
}

/** The entries not built into a tree yet under `head` (empty when its root is known). */
export function pendingTree(head: HeadState | undefined, emptyRoot: CID): PendingTree {
  const pending = head && !head.root ? pendingOf.get(head) : undefined
  return pending ?? { base: head?.root ?? emptyRoot, entries: new Map() }
}

/** The entry of `id` at the local head (undefined when it has none): the pending entries first, then the tree. */
export async function lookupAtHead(state: OpenState, id: string): Promise<Entry | undefined> {
  const { base, entries } = pendingTree(state.head, state.emptyRoot)
  return entries.get(id) ?? (await lookup(state.store, base, id))
}

/** The sorted entries of a pending tree, each replacing its id's entry in `base` (as the writer's deltas did). */
export function sortedEntries(entries: ReadonlyMap<string, Entry>): Entry[] {
  return [...entries.values()].sort((a, b) => compareKeys(a[0], b[0]))
}

/**
 * The root of the document tree at `head` (the local head unless given): known, or built now from its
 * pending entries (the new nodes stay derived, unsaved: see clock/root.ts), or derived from its events.
 */
export function rootAt(state: OpenState, head: HeadState | undefined = state.head): Promise<CID> {
  if (!head) return Promise.resolve(state.emptyRoot)
  if (head.root) return Promise.resolve(head.root)
  let building = buildingOf.get(head)
  if (!building) {
    building = buildRoot(state, head).finally(() => buildingOf.delete(head))
    buildingOf.set(head, building)
  }
  return building
}

/** Roots being built now, so that readers arriving meanwhile wait for the same one. */
const buildingOf = new WeakMap<HeadState, Promise<CID>>()

async function buildRoot(state: OpenState, head: HeadState): Promise<CID> {
  const pending = pendingOf.get(head)
  // A checkpoint written meanwhile sweeps derived nodes its tree does not reach: the base may be some.
  const root = pending
    ? await state.store.whilePinned(pending.base, () => applyDelta(state.store, pending.base, sortedEntries(pending.entries)))
    : await resolveRoot(state.store, head.heads, state.emptyRoot, head.heads.map(String))
  // A root is a fact about the head's clock, whichever head is current by now.
  head.root = root
  pendingOf.delete(head)
  if (head.heads.length === 1) state.store.noteEventRoot(head.heads[0]!, root)
  return root
}
