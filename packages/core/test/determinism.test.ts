// Replicas on one block map (pail's alice/bob/carol style): concurrent writes, merged in every order, end in
// the same tree root. Tree and merge code read blocks through BlockFetcher, so no key or storage is needed.
import { describe, expect, it } from 'vitest'
import type { Block, BlockFetcher, CID } from '../src/blockstore/block.js'
import { writeEntry, type Entry } from '../src/crdt/entry.js'
import { mergeTrees } from '../src/crdt/merge.js'
import { applyEntries, emptyTree, lookup, scan, type NewBlock } from '../src/crdt/tree.js'

function seeded(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0
    return state / 4294967296
  }
}

class BlockMap implements BlockFetcher {
  readonly #blocks = new Map<string, Block>()
  async get(cid: CID): Promise<Block> {
    const block = this.#blocks.get(cid.toString())
    if (!block) throw new Error(`no block ${cid}`)
    return block
  }
  has(cid: CID): boolean {
    return this.#blocks.has(cid.toString())
  }
  put(block: Block): void {
    this.#blocks.set(block.cid.toString(), block)
  }
}

async function newStore(): Promise<BlockMap> {
  return new BlockMap()
}

function keep(store: BlockMap, blocks: NewBlock[]): void {
  for (const { block } of blocks) store.put(block)
}

/** A replica's writes: `count` random puts/dels at heights above `base`, applied like local transactions. */
async function write(store: BlockMap, root: CID, random: () => number, base: number, count: number): Promise<CID> {
  for (let tx = 1; tx <= count; tx++) {
    const ids = new Set(Array.from({ length: 1 + Math.floor(random() * 20) }, () => `doc-${Math.floor(random() * 300)}`))
    const entries: Entry[] = []
    for (const id of [...ids].sort()) {
      const previous = await lookup(store, root, id)
      const body = random() < 0.2 ? null : { v: Math.floor(random() * 1000), by: base }
      entries.push(writeEntry(id, base + tx, body, previous))
    }
    const result = await applyEntries(store, root, entries, () => true)
    keep(store, result.blocks)
    root = result.root
  }
  return root
}

async function merge(store: BlockMap, a: CID, b: CID): Promise<CID> {
  const result = await mergeTrees(store, a, b)
  keep(store, result.blocks)
  return result.root
}

async function contents(store: BlockMap, root: CID): Promise<string> {
  const rows: unknown[] = []
  for await (const entry of scan(store, root)) rows.push(entry)
  return JSON.stringify(rows)
}

describe('deterministic merge', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`alice, bob and carol converge to one root in every merge order (seed ${seed})`, async () => {
      const random = seeded(seed)
      const store = await newStore()
      const scratch: NewBlock[] = []
      const empty = await emptyTree(scratch)
      keep(store, scratch)
      const shared = await write(store, empty, random, 0, 5)
      const alice = await write(store, shared, random, 10, 8)
      const bob = await write(store, shared, random, 10, 6)
      const carol = await write(store, shared, random, 20, 4)

      const orders: [CID, CID, CID][] = [
        [alice, bob, carol],
        [alice, carol, bob],
        [bob, alice, carol],
        [bob, carol, alice],
        [carol, alice, bob],
        [carol, bob, alice],
      ]
      const roots = new Set<string>()
      for (const [x, y, z] of orders) roots.add((await merge(store, await merge(store, x, y), z)).toString())
      // Associativity too: x + (y + z).
      roots.add((await merge(store, alice, await merge(store, bob, carol))).toString())
      expect(roots.size).toBe(1)

      // Idempotent: merging again, or merging a replica into the result, changes nothing.
      const [root] = [...roots]
      const merged = orders[0]!
      const all = await merge(store, await merge(store, merged[0], merged[1]), merged[2])
      expect((await merge(store, all, all)).toString()).toBe(root)
      expect((await merge(store, all, bob)).toString()).toBe(root)
      expect(await contents(store, await merge(store, bob, all))).toBe(await contents(store, all))
    })
  }
})
