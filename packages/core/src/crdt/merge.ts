import type { CID, BlockFetcher } from '../blockstore/block.js'
import { joinEntries } from './entry.js'
import { applyEntries, diff, type NewBlock } from './tree.js'

/**
 * Merges two document trees: every id present on both sides becomes the join of its two entries (the winning
 * version, see `wins`, plus the concurrent versions that lost, see `joinEntries`). The result depends only on
 * the two trees, not on their order, so replicas that merge in any order reach the same root.
 */
export async function mergeTrees(store: BlockFetcher, a: CID, b: CID): Promise<{ root: CID; blocks: NewBlock[] }> {
  if (a.equals(b)) return { root: a, blocks: [] }
  const incoming = (await diff(store, a, b)).map(({ entry }) => entry)
  return applyEntries(store, a, incoming, (mine, theirs) => joinEntries(mine, theirs))
}
