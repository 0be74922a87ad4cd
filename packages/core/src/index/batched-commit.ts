import type { CID } from '../blockstore/block.js'
import type { BlockStore } from '../blockstore/store.js'
import type { NewBlock } from '../crdt/tree.js'

/** Block bytes of an index build held before they are committed: bounds its memory, ~1 commit per MiB. */
const INDEX_BATCH_BYTES = 1024 * 1024

/**
 * Commits the nodes of an index build as they are made, a batch of about INDEX_BATCH_BYTES per commit, instead
 * of holding the whole index for one commit. Nodes come children first, so each commit links only into itself
 * and earlier files, whose headers locate the blocks it links to: the index reads as one tree from its root's
 * file, as a single commit's would.
 */
export class BatchedCommit {
  #pending: NewBlock[] = []
  #bytes = 0

  constructor(
    private readonly store: BlockStore,
    private readonly heads: CID[],
    private readonly batchBytes = INDEX_BATCH_BYTES,
  ) {}

  readonly add = async (block: NewBlock): Promise<void> => {
    this.#pending.push(block)
    this.#bytes += block.block.bytes.length
    if (this.#bytes >= this.batchBytes) await this.flush()
  }

  readonly flush = async (): Promise<void> => {
    if (this.#pending.length === 0) return
    const pending = this.#pending
    this.#pending = []
    this.#bytes = 0
    await this.store.commit(pending, this.heads)
  }
}
