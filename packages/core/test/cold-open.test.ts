import { describe, expect, it } from 'vitest'
import { emptyTree, type NewBlock } from '../src/crdt/tree.js'
import { emptyTreeBlock } from '../src/database/open.js'
import { decodeTreeNode, isEntry } from '../src/format/tree-node.js'
import { CID } from 'multiformats/cid'
import { base32upper } from 'multiformats/bases/base32'
import { IntegrityError } from '../src/errors.js'
import { fileCid, verifyCid } from '../src/kit/cid.js'

describe('cold open', () => {
  it('gives the empty tree that crdt/tree.ts builds: same bytes, CID and value, without encoding or hashing it', async () => {
    const built: NewBlock[] = []
    const root = await emptyTree(built)
    const given = emptyTreeBlock()
    expect(given.cid.toString()).toBe(root.toString())
    expect(given.cid.equals(root)).toBe(true)
    expect(CID.asCID(given.cid)).toBe(given.cid)
    expect([...given.bytes]).toEqual([...built[0]!.block.bytes])
    expect(given.value).toEqual(built[0]!.block.value)
    expect(built[0]!.links).toEqual([])
    // Fresh each time: one database's blocks are not another's.
    expect(emptyTreeBlock().bytes).not.toBe(given.bytes)
  })

  it('checks leaf entries as before: [id, height, body, { c?, s? }?]', () => {
    const cid = emptyTreeBlock().cid
    const good = [
      ['a', 1, {}],
      ['a', 1, null],
      ['a', 1, { x: 1 }, {}],
      ['a', 1, { x: 1 }, { c: [[2, null]], s: [[1, 5]] }],
    ]
    const bad = [
      ['a', 1],
      ['a', 1, {}, {}, 1],
      [1, 1, {}],
      ['a', 1.5, {}],
      ['a', 1, []],
      ['a', 1, new Uint8Array(1)],
      ['a', 1, cid],
      ['a', 1, { '/': cid.bytes, bytes: cid.bytes }],
      ['a', 1, {}, null],
      ['a', 1, {}, { c: [[2]] }],
      ['a', 1, {}, { s: [[1, 'x']] }],
      { 0: 'a', 1: 1, 2: {}, length: 3 },
    ]
    for (const entry of good) expect(isEntry(entry), JSON.stringify(entry)).toBe(true)
    for (const entry of bad) expect(isEntry(entry), String(entry)).toBe(false)
    expect(() => decodeTreeNode({ l: 0, e: [...good, bad[0]] }, 'x')).toThrow('tree leaf entry 4 is not')
  })

  it('verifies a file against its canonical name, and refuses another spelling or other bytes as before', async () => {
    const bytes = new TextEncoder().encode('file')
    const cid = await fileCid(bytes)
    const verified = await verifyCid(cid.toString(), bytes)
    expect(verified.equals(cid)).toBe(true)
    expect(verified.toString()).toBe(cid.toString())
    const upper = cid.toString(base32upper)
    await expect(verifyCid(upper, bytes)).rejects.toThrow(new TypeError(`Invalid CID: "${upper}" (not in its canonical form ${cid})`))
    await expect(verifyCid('../x', bytes)).rejects.toThrow(new TypeError('Invalid CID: "../x"'))
    await expect(verifyCid(cid.toString(), new TextEncoder().encode('other'))).rejects.toThrow(IntegrityError)
    expect((await verifyCid(cid, bytes)).equals(cid)).toBe(true)
  })
})
