import type { CID } from '../blockstore/block.js'
import type { Entry } from '../crdt/entry.js'
import { endsNode, makeNode, type NewBlock, type Ref } from '../crdt/tree.js'

/** Where a builder hands each node it finishes, children always before their parent. */
export type BlockSink = (block: NewBlock) => void | Promise<void>

interface Level {
  /** The items of the node being filled: entries at level 0, child refs above. */
  items: (Entry | Ref)[]
  /** Items that arrived at this level so far. */
  arrived: number
  /** A node closed by the first item of its level, held back: if no second item arrives, that item is the root. */
  held: Ref[] | undefined
}

/**
 * Builds a prolly tree bottom-up from entries given in strictly increasing key order, holding only the node
 * being filled at each level (O(height × node width) entries whatever the number of entries).
 *
 * Because a prolly tree's node boundaries depend only on its keys (crdt/tree.ts), this yields the very tree,
 * root CID included, that `applyEntries` makes from the same entries on an empty tree: nodes close at the same
 * keys level by level, and, as there, a level is only chunked when more than one node arrives at it.
 */
export class TreeBuilder {
  readonly #sink: BlockSink
  readonly #levels: Level[] = []
  #last: string | undefined

  constructor(sink: BlockSink) {
    this.#sink = sink
  }

  /** Adds the next entry; a promise only when it ends a leaf (await it before the next add). */
  add(entry: Entry): Promise<void> | undefined {
    if (this.#last !== undefined && !(entry[0] > this.#last)) {
      throw new Error(`TreeBuilder: key ${JSON.stringify(entry[0])} does not follow ${JSON.stringify(this.#last)}`)
    }
    this.#last = entry[0]
    // Most entries only join the leaf being filled: no promise for them (a build adds millions).
    const leaf = this.#levels[0]
    if (leaf && !endsNode(entry[0], 0)) {
      leaf.arrived++
      leaf.items.push(entry)
      return undefined
    }
    return this.#push(0, entry)
  }

  /** The root of the tree built, or undefined when no entry was added (the caller's empty tree stands). */
  async finish(): Promise<CID | undefined> {
    for (let level = 0; level < this.#levels.length; level++) {
      const at = this.#levels[level]!
      if (level > 0 && at.arrived === 1) return ((at.held ?? at.items)[0] as Ref)[1]
      if (at.items.length) {
        const items = at.items
        at.items = []
        await this.#push(level + 1, await this.#close(level, items))
      }
    }
    return undefined
  }

  async #push(level: number, item: Entry | Ref): Promise<void> {
    const at = (this.#levels[level] ??= { items: [], arrived: 0, held: undefined })
    at.arrived++
    if (at.held) {
      // A second item arrived: the level is chunked after all, so the node held back is one of its nodes.
      const held = at.held
      at.held = undefined
      await this.#push(level + 1, await this.#close(level, held))
    }
    at.items.push(item)
    if (!endsNode(item[0], level)) return
    const items = at.items
    at.items = []
    if (level > 0 && at.arrived === 1) at.held = items as Ref[]
    else await this.#push(level + 1, await this.#close(level, items))
  }

  async #close(level: number, items: (Entry | Ref)[]): Promise<Ref> {
    const out: NewBlock[] = []
    const ref = await makeNode(level === 0 ? { l: 0, e: items as Entry[] } : { l: level, e: items as Ref[] }, out)
    for (const block of out) await this.#sink(block)
    return ref
  }
}
