import type { Block, CID } from '../format/block.js'

export { CID, decodeBlock, encodeBlock, type Block } from '../format/block.js'

/**
 * What tree and clock code reads blocks through: the encrypted BlockStore in a database, any map from CID to
 * decoded block in a test (no key, no storage). `has` says whether a block is at hand without fetching it.
 */
export interface BlockFetcher {
  get(cid: CID): Promise<Block>
  has(cid: CID): boolean
  /** The block when it is at hand decoded, without waiting (undefined: ask `get`). */
  peek?(cid: CID): Block | undefined
}
