import type { CID } from '../blockstore/block.js'
import { resolveRoot } from '../clock/resolve.js'
import { applyDelta } from '../clock/root.js'
import { compareKeys, type Entry } from '../crdt/entry.js'
import { lookup, lookupHeld } from '../crdt/tree.js'
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
  readonly base: CID
  /** The entries of this head's own delta(s), by id: they replace those of `parent` and below. */
  readonly own: ReadonlyMap<string, Entry>
  /** The pending tree of the head before it, down to `base` (undefined: none). */
  readonly parent: PendingTree | undefined
  /** Layers from this one down: lookups walk them, so a chain is flattened past `MAX_LAYERS`. */
  readonly depth: number
}

/**
 * Layers a lookup may walk before the chain is copied into one: a copy every 8 writes keeps lookups short
 * while copying an eighth of what copying on every write did (a writer checkpoints every 32 events).
 */
const MAX_LAYERS = 8

const pendingOf = new WeakMap<HeadState, PendingTree>()

/**
 * Notes that `head` (a delta this writer made, with no root) holds `previous`'s tree plus `entries`. A new
 * layer over the previous head's, not a copy: copying every pending entry on each small write made the
 * writes between two checkpoints quadratic in allocations.
 */
export function notePendingTree(head: HeadState, previous: HeadState | undefined, emptyRoot: CID, entries: Entry[]): void {
  const below = previous && pendingOf.get(previous)
  const base = below?.base ?? previous?.root ?? emptyRoot
  const own = new Map<string, Entry>()
  for (const entry of entries) own.set(entry[0], entry)
  if (below && below.depth < MAX_LAYERS) {
    pendingOf.set(head, { base, own, parent: below, depth: below.depth + 1 })
    return
  }
  const flat = below ? pendingEntries(below) : own
  if (below) for (const [id, entry] of own) flat.set(id, entry)
  pendingOf.set(head, { base, own: flat, parent: undefined, depth: 1 })
}

/** The entries not built into a tree yet under `head` (none when its root is known). */
export function pendingTree(head: HeadState | undefined, emptyRoot: CID): PendingTree {
  const pending = head && !head.root ? pendingOf.get(head) : undefined
  return pending ?? { base: head?.root ?? emptyRoot, own: new Map(), parent: undefined, depth: 1 }
}

/** Whether `head` (with no root) is a delta this writer made, whose tree is its base plus pending entries. */
export function hasPendingTree(head: HeadState): boolean {
  return pendingOf.has(head)
}

/** The newest pending entry of `id`, or undefined. */
export function pendingEntry(pending: PendingTree, id: string): Entry | undefined {
  for (let layer: PendingTree | undefined = pending; layer; layer = layer.parent) {
    const entry = layer.own.get(id)
    if (entry) return entry
  }
  return undefined
}

/** Every pending entry, the newest of each id. */
export function pendingEntries(pending: PendingTree): Map<string, Entry> {
  const layers: PendingTree[] = []
  for (let layer: PendingTree | undefined = pending; layer; layer = layer.parent) layers.push(layer)
  const all = new Map<string, Entry>()
  for (let i = layers.length - 1; i >= 0; i--) for (const [id, entry] of layers[i]!.own) all.set(id, entry)
  return all
}

/** The entry of `id` at the local head (undefined when it has none): the pending entries first, then the tree. */
export function lookupAtHead(state: OpenState, id: string): Promise<Entry | undefined> {
  const pending = pendingTree(state.head, state.emptyRoot)
  const entry = pendingEntry(pending, id)
  return entry ? Promise.resolve(entry) : lookup(state.store, pending.base, id)
}

/** `lookupAtHead` from what is held in memory, with no async step (see crdt/tree.ts `lookupHeld`). */
export function lookupHeldAtHead(state: OpenState, id: string): Entry | undefined | { notHeld: CID } {
  const pending = pendingTree(state.head, state.emptyRoot)
  return pendingEntry(pending, id) ?? lookupHeld(state.store, pending.base, id)
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
    ? await state.store.whilePinned(pending.base, () => applyDelta(state.store, pending.base, sortedEntries(pendingEntries(pending))))
    : await resolveRoot(state.store, head.heads, state.emptyRoot, head.heads.map(String))
  // A root is a fact about the head's clock, whichever head is current by now.
  head.root = root
  pendingOf.delete(head)
  if (head.heads.length === 1) state.store.noteEventRoot(head.heads[0]!, root)
  return root
}
