import type { CID } from '../blockstore/block.js'
import type { BlockStore } from '../blockstore/store.js'
import { wins } from './entry.js'
import { applyEntries, diff, type NewBlock } from './tree.js'

/**
 * Merges two document trees: every id takes the winning version of the two (see `wins`). The result depends
 * only on the two trees, not on their order, so replicas that merge in any order reach the same root.
 */
export async function mergeTrees(store: BlockStore, a: CID, b: CID): Promise<{ root: CID; blocks: NewBlock[] }> {
  if (a.equals(b)) return { root: a, blocks: [] }
  const incoming = (await diff(store, a, b)).map(({ entry }) => entry)
  return applyEntries(store, a, incoming, (mine, theirs) => wins(mine, theirs))
}
