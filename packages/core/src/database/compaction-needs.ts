import type { CID } from '../blockstore/block.js'
import type { BlockStore } from '../blockstore/store.js'
import { isDelta, loadEvent } from '../clock/event.js'
import { load, type BranchNode, type LeafNode } from '../crdt/tree.js'
import { attachmentLinks, decodeManifest } from '../format/attachment.js'
import { isLinklessLeaf } from '../format/tree-node.js'
import type { Pace } from './next-turn.js'
import type { HeadState } from './head.js'

/** Delta events walked back from a head before the walk gives up and the head is anchored instead. */
const CHAIN_LIMIT = 64

/**
 * What the state written while a compaction ran (after its snapshot) needs of the files the compaction is
 * about to delete. A compaction rewrites the snapshot's blocks (`compacted`); the blocks written since are in
 * new files, which it keeps; what those may still link in an old file (`isOld`) is a block the snapshot did
 * not hold: a remote tree downloaded before the snapshot and merged after it, a tree node or attachment
 * manifest equal to an older one. Walks only what is not compacted, so it costs what was written since.
 */
export class CompactionNeeds {
  /** Old files that must stay. */
  readonly files = new Set<string>()
  /**
   * Blocks walked, each once: a walk made outside the write queue (while writes go on) leaves the one in the
   * queue only what was written since.
   */
  readonly #seen = new Set<string>()
  /** Blocks the last walk visited. */
  visited = 0
  /** Outside the write queue: lets writes have their turns. */
  pace: Pace | undefined
  /**
   * Walks only blocks held in memory or located in an old file (the others are read from their files when
   * needed, which a source stores again if need be): a lazy device's merge downloads nothing to be walked.
   */
  onlyHeld = false

  constructor(
    private readonly store: BlockStore,
    private readonly compacted: { has(cid: string): boolean },
    private readonly isOld: (file: string) => boolean,
  ) {}

  /**
   * Walks the head's chain of delta events back to the tree it derives from, noting what they need.
   * Returns false when the head cannot be derived without a deleted file after a reopen (a chain that reaches
   * a delta event of the snapshot, whose own chain goes, or an event older than the snapshot): the compaction
   * then writes the head's tree and links the head to it (an anchor), as it does for the snapshot's head.
   */
  async derivable(head: HeadState): Promise<boolean> {
    this.visited = 0
    if (head.heads.length !== 1) return false
    let at = head.heads[0]!
    for (let step = 0; step < CHAIN_LIMIT; step++) {
      const key = at.toString()
      const event = await loadEvent(this.store, at)
      if (this.compacted.has(key)) return !isDelta(event)
      if (this.store.locationsOf(at).some(this.isOld)) return false
      if (!isDelta(event)) {
        await this.tree(event.r)
        return true
      }
      // The manifests its entries name: the head's derived leaves link those still current (its tree is not
      // walked: it is derived from these entries and the checkpoint's tree below).
      for (const manifest of attachmentLinks(event.d)) await this.#manifest(manifest)
      at = event.p[0]
    }
    return false
  }

  /**
   * Notes the old files the state at `heads` needs that no earlier walk noted: each head's chain of delta
   * events back to its checkpoint (or to an event walked before, or compacted), that checkpoint's tree, and
   * the tree under `root` when given, the attachment `manifests` given. Made for states that come after the
   * swap (see DeletedFiles). `known` are events whose state needs nothing more (the local head: a chain stops
   * there). A walk that fails leaves nothing marked as walked: the next one starts over.
   */
  async reaches(heads: readonly CID[], root: CID | undefined, known: readonly CID[], manifests: readonly CID[] = []): Promise<void> {
    for (const cid of known) this.#seen.add(cid.toString())
    try {
      for (const manifest of manifests) await this.#manifest(manifest)
      for (const head of heads) {
        let at: CID | undefined = head
        while (at && this.#walks(at) && this.#visit(at)) {
          const event = await loadEvent(this.store, at)
          if (!isDelta(event)) {
            await this.tree(event.r)
            break
          }
          for (const manifest of attachmentLinks(event.d)) await this.#manifest(manifest)
          at = event.p[0]
        }
      }
      if (root) await this.tree(root)
    } catch (error) {
      this.#seen.clear()
      throw error
    }
  }

  /** Notes the old files holding blocks of the tree under `root` that the compaction did not rewrite. */
  async tree(root: CID): Promise<void> {
    const stack = [root]
    while (stack.length) {
      const cid = stack.pop()!
      if (!this.#walks(cid) || !this.#visit(cid)) continue
      const turn = this.pace?.due()
      if (turn) await turn
      // Most leaves link nothing: told from their bytes, never decoded (see isLinklessLeaf).
      if (isLinklessLeaf((await this.store.getUndecoded(cid)).bytes)) continue
      const node = await load(this.store, cid)
      if (node.l === 0) {
        for (const manifest of attachmentLinks((node as LeafNode).e)) await this.#manifest(manifest)
      } else {
        for (const [, child] of (node as BranchNode).e) stack.push(child)
      }
    }
  }

  async #manifest(cid: CID): Promise<void> {
    if (!this.#walks(cid) || !this.#visit(cid)) return
    const block = await this.store.get(cid)
    // The chunk files stay where they are (a compaction keeps every file its own files name): an old one a
    // new manifest names must stay too.
    for (const [, chunk] of decodeManifest(block.value, cid).chunks) this.#visit(chunk)
  }

  #walks(cid: CID): boolean {
    return !this.onlyHeld || this.store.has(cid) || this.store.locationsOf(cid).some(this.isOld)
  }

  /** Notes the old files of a block the compaction did not rewrite; false when there is nothing to walk. */
  #visit(cid: CID): boolean {
    const key = cid.toString()
    if (this.compacted.has(key) || this.#seen.has(key)) return false
    this.#seen.add(key)
    this.visited++
    for (const file of this.store.locationsOf(key)) if (this.isOld(file)) this.files.add(file)
    return true
  }
}
