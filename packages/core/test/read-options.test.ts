import { describe, expect, it } from 'vitest'
import { database, type ChangesResult } from '../src/index.js'

async function letters() {
  const db = database('read', { storage: 'memory' })
  await db.bulk(['a', 'b', 'c', 'd', 'e', 'f'].map((id, i) => ({ _id: id, i })))
  await db.del('c')
  return db
}

const keysOf = (result: { rows: { key: string }[] }) => result.rows.map((row) => row.key)

describe('allDocs options', () => {
  it('limit, descending and keys', async () => {
    const db = await letters()
    expect(keysOf(await db.allDocs())).toEqual(['a', 'b', 'd', 'e', 'f'])
    expect(keysOf(await db.allDocs({ limit: 2 }))).toEqual(['a', 'b'])
    expect(keysOf(await db.allDocs({ descending: true }))).toEqual(['f', 'e', 'd', 'b', 'a'])
    expect(keysOf(await db.allDocs({ descending: true, limit: 3 }))).toEqual(['f', 'e', 'd'])
    expect(keysOf(await db.allDocs({ limit: 0 }))).toEqual([])
    // keys: in the order given, missing and deleted ids left out.
    expect((await db.allDocs({ keys: ['e', 'nope', 'c', 'a'] })).rows).toEqual([
      { key: 'e', value: { _id: 'e', i: 4 } },
      { key: 'a', value: { _id: 'a', i: 0 } },
    ])
    expect(keysOf(await db.allDocs({ keys: ['e', 'b', 'a'], descending: true, limit: 2 }))).toEqual(['a', 'b'])
    const past = await db.at(await db.clock())
    expect(keysOf(await past.allDocs({ descending: true, limit: 2 }))).toEqual(['f', 'e'])
    await db.close()
  })

  it('rejects bad options with a TypeError naming the value', async () => {
    const db = await letters()
    await expect(db.allDocs({ descending: 'yes' as never })).rejects.toThrow('allDocs(): descending must be true or false, got the string "yes"')
    await expect(db.allDocs({ limit: -1 })).rejects.toThrow('allDocs(): limit must be a non-negative integer, got number -1')
    await expect(db.allDocs({ limit: 1.5 })).rejects.toThrow('got number 1.5')
    await expect(db.allDocs({ keys: 'a' as never })).rejects.toThrow('allDocs(): keys must be an array of ids, got the string "a"')
    await expect(db.allDocs({ keys: ['a', 3] as never })).rejects.toThrow('allDocs(): keys[1]: _id must be a non-empty string, got number 3')
    await expect(db.allDocs({ include_docs: true } as never)).rejects.toThrow('allDocs(): unknown option "include_docs"')
    await expect(db.allDocs('a' as never)).rejects.toThrow('allDocs() options must be an object, got the string "a"')
    await db.close()
  })
})

describe('changes options', () => {
  it('limit pages through the changes with a cursor, and no change is skipped', async () => {
    const db = await letters()
    const since = (await db.put({ _id: 'g', i: 6 })).clock
    await db.bulk([{ _id: 'a', i: 10 }, { _id: 'z', i: 26 }, { _id: 'm', i: 13 }, { _id: 'e', _deleted: true }])
    const all = await db.changes(since)
    expect(keysOf(all)).toEqual(['a', 'e', 'm', 'z'])
    expect(all.next).toBeUndefined()

    const first = await db.changes(since, { limit: 3 })
    expect(keysOf(first)).toEqual(['a', 'e', 'm'])
    expect(first.rows[1]).toEqual({ key: 'e', value: { _id: 'e' }, deleted: true })
    expect(first.next).toEqual({ since, clock: all.clock, after: 'm' })
    // A write between pages does not disturb the pages: they read the clock of the first one.
    await db.put({ _id: 'b', i: 11 })
    const second: ChangesResult = await db.changes(JSON.parse(JSON.stringify(first.next)), { limit: 3 })
    expect(keysOf(second)).toEqual(['z'])
    expect(second.next).toBeUndefined()
    expect(second.clock).toEqual(all.clock)
    // ...and the write shows up when continuing from the clock the pages ended at.
    expect(keysOf(await db.changes(second.clock))).toEqual(['b'])

    // Without since: every id (deletions marked), page by page.
    const seen: string[] = []
    let page = await db.changes(undefined, { limit: 2 })
    for (;;) {
      expect(page.rows.length).toBeLessThanOrEqual(2)
      seen.push(...keysOf(page))
      if (!page.next) break
      page = await db.changes(page.next, { limit: 2 })
    }
    expect(seen).toEqual(keysOf(await db.changes()))
    expect(seen).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'm', 'z'])
    expect(keysOf(await db.changes(since, { limit: 0 }))).toEqual([])
    await db.close()
  })

  it('rejects bad options and cursors with a TypeError', async () => {
    const db = await letters()
    await expect(db.changes(undefined, { limit: -2 })).rejects.toThrow('changes(): limit must be a non-negative integer, got number -2')
    await expect(db.changes([], { since: [] } as never)).rejects.toThrow('changes(): unknown option "since"')
    await expect(db.changes('x' as never)).rejects.toThrow('changes(since) must be a clock (an array of CID strings), got the string "x"')
    await expect(db.changes({ since: [], clock: [], after: 5 } as never)).rejects.toThrow("the cursor's after must be a string, got number 5")
    // Options in place of since: said as such, with the call that works.
    await expect(db.changes({ limit: 5 } as never)).rejects.toThrow(/^changes\(\) takes \(since, options\): got .* as since; for the changes from the start call changes\(undefined, /)
    await db.close()
  })
})
