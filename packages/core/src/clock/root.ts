import type { BlockStore } from '../blockstore/store.js'
import type { Entry } from '../crdt/entry.js'
import { applyEntries } from '../crdt/tree.js'
import { CID, isDelta, loadEvent, type DeltaEvent } from './event.js'

/**
 * The document tree after clock event `cid`: a checkpoint names it; a delta's is its parent's tree with the
 * delta's entries applied, exactly as the writer applied them (`applyDelta`), so every replica derives the
 * same root. Walks back to the nearest event whose root is known (a checkpoint, or one derived or committed
 * this session), then applies the deltas forward; the derived nodes stay unsaved in the store.
 */
export async function rootOf(store: BlockStore, cid: CID): Promise<CID> {
  const chain: [CID, DeltaEvent][] = []
  let at = cid
  let root: CID
  for (;;) {
    const known = store.eventRoot(at)
    if (known) {
      root = known
      break
    }
    const event = await loadEvent(store, at)
    if (!isDelta(event)) {
      root = event.r
      break
    }
    chain.push([at, event])
    at = event.p[0]
  }
  for (let i = chain.length - 1; i >= 0; i--) {
    const [event, { d }] = chain[i]!
    root = await applyDelta(store, root, d)
    store.noteEventRoot(event, root)
  }
  return root
}

/**
 * Applies a delta's entries (sorted by id) to `root`: each replaces the entry of its id, which is how a local
 * write builds them (crdt/entry.ts writeEntry). The new nodes are kept as derived blocks.
 */
export async function applyDelta(store: BlockStore, root: CID, entries: Entry[]): Promise<CID> {
  const { root: next, blocks } = await applyEntries(store, root, entries, () => true)
  for (const { block, links } of blocks) store.putDerived(block, links)
  return next
}

/**
 * The root a head (local record, meta entry, another tab's record) claims, checked against its events when
 * its blocks are nowhere to be found (a delta head: the tree was derived, never written), so a reader never
 * walks a root it cannot read; a head that names no root (format/head.ts version 2) gets the derived one.
 * `derive` resolves the head's clock to a tree; `mismatch` makes the error for a head whose root is not that
 * tree (the caller knows what kind of record it read).
 */
export async function checkedHeadRoot(
  store: BlockStore,
  head: { heads: CID[]; root?: CID },
  derive: () => Promise<CID>,
  mismatch: (derived: CID) => Error,
): Promise<CID> {
  if (head.root && (store.has(head.root) || store.locationOf(head.root))) return head.root
  const root = await derive()
  if (head.root && !root.equals(head.root)) throw mismatch(root)
  return root
}
