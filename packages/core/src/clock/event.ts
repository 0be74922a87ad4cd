import { CID, encodeBlock, type Block } from '../blockstore/block.js'
import type { BlockStore } from '../blockstore/store.js'

/**
 * A Merkle clock event: its parents (the heads it saw), its height (1 + the highest parent's), and the root
 * of the document tree after it. Heights order writes causally: a write that saw another has a higher one.
 */
export interface ClockEvent {
  p: CID[]
  h: number
  r: CID
}

export async function makeEvent(parents: CID[], height: number, root: CID): Promise<{ block: Block<ClockEvent>; links: CID[] }> {
  const p = [...parents].sort(compareCids)
  const block = await encodeBlock<ClockEvent>({ p, h: height, r: root })
  return { block, links: [...p, root] }
}

export async function loadEvent(store: BlockStore, cid: CID): Promise<ClockEvent> {
  return (await store.get<ClockEvent>(cid)).value
}

export function compareCids(a: CID, b: CID): number {
  const x = a.toString()
  const y = b.toString()
  return x < y ? -1 : x > y ? 1 : 0
}

export { CID }
