import { CID } from 'multiformats/cid'
import { expect, it } from 'vitest'
import { encodeTreeNode, isLinklessLeaf, type Entry, type TreeNode } from '../src/format/tree-node.js'
import { seededRandom } from './helpers.js'

// A compaction copies a leaf by its bytes when isLinklessLeaf says it links nothing: a leaf that links an
// attachment must never be taken for one (its attachment would be left behind), a branch never for a leaf.
const link = CID.parse('bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy')

it('tells a leaf that links nothing from one that links an attachment, and from a branch, over random nodes', async () => {
  const random = seededRandom(42)
  const text = (length: number) => Array.from({ length }, () => String.fromCharCode(Math.floor(random() * 0x2000))).join('')
  let linkless = 0
  for (let round = 0; round < 300; round++) {
    const count = 1 + Math.floor(random() * 20)
    const withLink = random() < 0.3
    const entries: Entry[] = Array.from({ length: count }, (_, i) => {
      const body: Record<string, unknown> = { t: text(Math.floor(random() * 40)), n: random() * 1e6, b: new Uint8Array([0xd8, 0x2b, 0xd8]) }
      if (withLink && i === count - 1) body._files = { 'a.txt': { v: 1, cid: link, type: 'text/plain', size: 1 } }
      const tombstone = random() < 0.1 && !(withLink && i === count - 1)
      return [`id-${String(i).padStart(4, '0')}`, 1 + Math.floor(random() * 100), tombstone ? null : body]
    })
    const leaf = await encodeTreeNode({ l: 0, e: entries } as TreeNode)
    // A link is never missed; a leaf without one is recognised unless its bytes happen to hold d8 2a.
    if (withLink) expect(isLinklessLeaf(leaf.bytes)).toBe(false)
    else if (isLinklessLeaf(leaf.bytes)) linkless++
    const level = 1 + Math.floor(random() * 30)
    const branch = await encodeTreeNode({ l: level, e: entries.map(([id]) => [id, link]) } as TreeNode)
    expect(isLinklessLeaf(branch.bytes)).toBe(false)
  }
  expect(linkless).toBeGreaterThan(150)
  expect(isLinklessLeaf(new Uint8Array(0))).toBe(false)
})
