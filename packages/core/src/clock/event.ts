import type { Block, BlockFetcher } from '../blockstore/block.js'
import { attachmentLinks } from '../format/attachment.js'
import { CID } from '../format/block.js'
import {
  compareCids,
  decodeEvent,
  encodeDeltaEvent,
  encodeDeltaEventNow,
  encodeEvent,
  encodeEventNow,
  isDelta,
  type ClockEvent,
  type DeltaEvent,
} from '../format/event.js'
import type { Entry } from '../format/tree-node.js'

export type { ClockEvent, DeltaEvent }
export { CID, compareCids, isDelta }

/**
 * A Merkle clock event (layout: format/event.ts): its parents (the heads it saw), its height (1 + the highest
 * parent's), and either the root of the document tree after it (a checkpoint) or the entries it wrote over
 * its one parent's tree (a delta). Heights order writes causally: a write that saw another has a higher one.
 */
export async function makeEvent(parents: CID[], height: number, root: CID): Promise<{ block: Block<ClockEvent>; links: CID[] }> {
  const block = await encodeEvent(parents, height, root)
  return { block, links: [...block.value.p, root] }
}

/** `makeEvent` done before returning, or undefined where hashing answers with a promise (WebCrypto). */
export function makeEventNow(parents: CID[], height: number, root: CID): { block: Block<ClockEvent>; links: CID[] } | undefined {
  const block = encodeEventNow(parents, height, root)
  return block && { block, links: [...block.value.p, root] }
}

/**
 * A delta event. It links the attachment manifests of its entries (as a leaf holding them would), so the
 * file holding it names where they live and a push carries their chunks.
 */
export async function makeDeltaEvent(parent: CID, height: number, entries: Entry[]): Promise<{ block: Block<DeltaEvent>; links: CID[] }> {
  const block = await encodeDeltaEvent(parent, height, entries)
  return { block, links: [parent, ...attachmentLinks(entries)] }
}

/** `makeDeltaEvent` done before returning, or undefined where hashing answers with a promise (WebCrypto). */
export function makeDeltaEventNow(parent: CID, height: number, entries: Entry[]): { block: Block<DeltaEvent>; links: CID[] } | undefined {
  const block = encodeDeltaEventNow(parent, height, entries)
  return block && { block, links: [parent, ...attachmentLinks(entries)] }
}

export async function loadEvent(store: BlockFetcher, cid: CID): Promise<ClockEvent> {
  return decodeEvent((await store.get(cid)).value, cid)
}
