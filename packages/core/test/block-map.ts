import type { Block, BlockFetcher, CID } from '../src/blockstore/block.js'
import type { NewBlock } from '../src/crdt/tree.js'

/** Decoded blocks by CID: what tree code reads through in a test, with no key or storage. */
export class BlockMap implements BlockFetcher {
  readonly blocks = new Map<string, Block>()
  async get(cid: CID): Promise<Block> {
    const block = this.blocks.get(cid.toString())
    if (!block) throw new Error(`no block ${cid}`)
    return block
  }
  has(cid: CID): boolean {
    return this.blocks.has(cid.toString())
  }
  keep(blocks: NewBlock[]): void {
    for (const { block } of blocks) this.blocks.set(block.cid.toString(), block)
  }
}
