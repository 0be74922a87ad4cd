import { describe, expect, it } from 'vitest'
import { database, DatabaseInUseError } from '../src/index.js'
import { bulkLoad, tempDir } from './helpers.js'

const DOCS = 4000
const doc = (i: number, v: number) => ({ _id: `d${String(i).padStart(5, '0')}`, v, text: 'r'.repeat(300) })
type Doc = ReturnType<typeof doc>

/** One turn of the event loop after compact(): its start (on microtasks) has passed, its rewrite has not ended. */
const pastTheStart = () => new Promise((resolve) => setImmediate(resolve))

/**
 * The compaction record relocates the blocks a compaction rewrote; headers of files written during that
 * rewrite (a checkpoint) still name the files it deleted for the tree nodes they share with it, so the head
 * then depends on the record. A later compaction must not replace that record until its own state is the
 * head: a crash (or a dropped swap) in between left a head whose tree could no longer be derived.
 */
describe('the compaction record and the head it serves', () => {
  it('a compaction dropped at its swap (another instance open) leaves the delta head derivable after a reopen', async () => {
    const dir = tempDir()
    const a = database('rec', { dir, compactEvery: 0 })
    const model = new Map<string, Doc>()
    await bulkLoad(a, DOCS, (i) => doc(i, 0), (d) => model.set(d._id, d))

    // A write during the first compaction's rewrite (queued after its snapshot): a checkpoint whose header
    // names the bulk's files, which the compaction deletes, for the subtrees it shares. Then deltas on it (the
    // swap keeps that head: nothing to anchor) that replace some of those subtrees.
    let compacted = false
    const first = a.compact().then(() => (compacted = true))
    await pastTheStart()
    for (let k = 1; k <= 12; k++) {
      const value = doc((k * 331) % DOCS, k)
      await a.put(value)
      model.set(value._id, value)
      if (k === 1) expect(compacted, 'the first write landed during the rewrite').toBe(false)
    }
    await first

    // A second compaction of that head (nothing written since), whose swap is refused: another instance
    // opened during its rewrite and is still open. As a kill -9 before its swap would, it must change nothing.
    const second = a.compact().then(
      () => 'compacted',
      (error: unknown) => error,
    )
    await pastTheStart()
    const b = database('rec', { dir, compactEvery: 0 })
    expect(await b.get(doc(5, 0)._id)).toEqual(model.get(doc(5, 0)._id))
    expect(await second).toBeInstanceOf(DatabaseInUseError)
    await b.close()
    await a.close()

    // Before: MissingBlockError deriving the head's tree (a node the first record relocated, gone with it).
    const reopened = database('rec', { dir, compactEvery: 0 })
    const { rows } = await reopened.allDocs()
    expect(rows.length).toBe(model.size)
    for (const row of rows) expect(row.value, row.key).toEqual(model.get(row.key))
    await reopened.close()
  }, 120_000)
})
