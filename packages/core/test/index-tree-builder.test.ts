// A prolly tree's shape depends only on its entries, so the bottom-up build of a first index must make the very
// tree (same root CID, same blocks) that applyEntries makes from the same sorted entries on an empty tree.
import { describe, expect, it } from 'vitest'
import type { CID } from '../src/blockstore/block.js'
import type { Entry } from '../src/crdt/entry.js'
import { applyEntries, emptyTree, endsNode, scan, type NewBlock } from '../src/crdt/tree.js'
import { TreeBuilder } from '../src/index/tree-builder.js'
import { BlockMap } from './block-map.js'
import { seededRandom } from './helpers.js'

const ALPHABET = ['a', 'b', 'z', '0', '9', 'é', 'ß', '中', '😀', '\u0001', ' ']

function randomEntries(random: () => number, count: number): Entry[] {
  const keys = new Set<string>()
  while (keys.size < count) {
    let key = ''
    const length = 1 + Math.floor(random() * 12)
    for (let i = 0; i < length; i++) key += ALPHABET[Math.floor(random() * ALPHABET.length)]
    keys.add(key)
  }
  return [...keys].sort().map((key, i) => [key, 0, i % 3 === 0 ? {} : { v: i % 5 === 0 ? [key, i] : i }])
}

async function viaApplyEntries(entries: Entry[]): Promise<{ root: CID; blocks: string[] }> {
  const store = new BlockMap()
  const initial: NewBlock[] = []
  const empty = await emptyTree(initial)
  store.keep(initial)
  const { root, blocks } = await applyEntries(store, empty, entries, () => true)
  return { root, blocks: blocks.map(({ block }) => block.cid.toString()).sort() }
}

async function viaBuilder(entries: Entry[]): Promise<{ root: CID | undefined; blocks: string[]; store: BlockMap }> {
  const store = new BlockMap()
  const builder = new TreeBuilder((block) => store.keep([block]))
  for (const entry of entries) await builder.add(entry)
  const root = await builder.finish()
  return { root, blocks: [...store.blocks.keys()].sort(), store }
}

describe('TreeBuilder (bottom-up build of sorted entries)', () => {
  it('makes the same root and blocks as applyEntries on an empty tree, for random entry sets of every size', async () => {
    const random = seededRandom(14)
    // Around the node width (~32) and its square, where levels appear and a top level of one node ends the tree.
    const sizes = [1, 2, 3, 31, 32, 33, 64, 200, 1023, 1024, 1025, 3000, 20_000]
    for (let round = 0; round < 12; round++) sizes.push(1 + Math.floor(random() * 5000))
    for (const size of sizes) {
      const entries = randomEntries(random, size)
      const expected = await viaApplyEntries(entries)
      const built = await viaBuilder(entries)
      expect(built.root?.toString(), `${size} entries`).toBe(expected.root.toString())
      expect(built.blocks, `${size} entries`).toEqual(expected.blocks)
      const read: Entry[] = []
      for await (const entry of scan(built.store, built.root!)) read.push(entry)
      expect(read).toEqual(entries)
    }
  })

  it('makes the same tree when the last key also ends a node one or two levels up (a top level of one child is no node)', async () => {
    const random = seededRandom(41)
    for (const level of [1, 2]) {
      // The first key past every random key (they start below U+FFFF) whose hash ends a node at `level`.
      let n = 0
      while (!endsNode(`\uffff${n}`, level)) n++
      for (const size of [0, 1, 4, 40, 700]) {
        const entries = [...randomEntries(random, size), [`\uffff${n}`, 0, {}] as Entry]
        const expected = await viaApplyEntries(entries)
        const built = await viaBuilder(entries)
        expect(built.root?.toString(), `${size} + 1 entries, level ${level}`).toBe(expected.root.toString())
        expect(built.blocks).toEqual(expected.blocks)
      }
    }
  })

  it('has no root without entries (the empty tree stands) and refuses keys out of order', async () => {
    expect(await new TreeBuilder(() => {}).finish()).toBeUndefined()
    const builder = new TreeBuilder(() => {})
    await builder.add(['b', 0, {}])
    expect(() => builder.add(['a', 0, {}])).toThrow(/"a" does not follow "b"/)
    expect(() => builder.add(['b', 0, {}])).toThrow(/does not follow/)
  })
})
