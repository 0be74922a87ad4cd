import type { Block, BlockFetcher } from '../blockstore/block.js'
import { CID } from '../format/block.js'
import { compareCids, decodeEvent, encodeEvent, type ClockEvent } from '../format/event.js'

export type { ClockEvent }
export { CID, compareCids }

/**
 * A Merkle clock event (layout: format/event.ts): its parents (the heads it saw), its height (1 + the highest
 * parent's), and the root of the document tree after it. Heights order writes causally: a write that saw
 * another has a higher one.
 */
export async function makeEvent(parents: CID[], height: number, root: CID): Promise<{ block: Block<ClockEvent>; links: CID[] }> {
  const block = await encodeEvent(parents, height, root)
  return { block, links: [...block.value.p, root] }
}

export async function loadEvent(store: BlockFetcher, cid: CID): Promise<ClockEvent> {
  return decodeEvent((await store.get(cid)).value, cid)
}
