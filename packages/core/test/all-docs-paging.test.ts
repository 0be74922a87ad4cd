import { describe, expect, it } from 'vitest'
import { database } from '@proj/core'
import { tempDir } from './helpers.js'

const id = (i: number) => `doc-${String(i).padStart(4, '0')}`

/** Every page of `size` ids, each page read with `after` = the last key of the previous one. */
async function pages(db: ReturnType<typeof database>, size: number, descending = false): Promise<string[][]> {
  const out: string[][] = []
  let after: string | undefined
  for (;;) {
    const { rows } = await db.allDocs({ limit: size, descending, ...(after === undefined ? {} : { after }) })
    if (rows.length === 0) return out
    out.push(rows.map((r) => r.key))
    after = rows.at(-1)!.key
  }
}

describe('allDocs paging with after', () => {
  it('reads every live id exactly once, page by page, in both orders', async () => {
    const db = database('paging', { dir: tempDir() })
    await db.bulk(Array.from({ length: 2500 }, (_, i) => ({ _id: id(i), n: i })))
    await db.del(id(1000))
    const live = Array.from({ length: 2500 }, (_, i) => id(i)).filter((x) => x !== id(1000))

    const up = await pages(db, 1000)
    expect(up.map((p) => p.length)).toEqual([1000, 1000, 499])
    expect(up.flat()).toEqual(live)

    const down = await pages(db, 1000, true)
    expect(down.map((p) => p.length)).toEqual([1000, 1000, 499])
    expect(down.flat()).toEqual([...live].reverse())
    await db.close()
  })

  it('starts after an id that is not in the database (deleted or never written)', async () => {
    const db = database('paging', { dir: tempDir() })
    await db.bulk([{ _id: 'a' }, { _id: 'b' }, { _id: 'c' }, { _id: 'd' }])
    await db.del('b')
    expect((await db.allDocs({ after: 'b' })).rows.map((r) => r.key)).toEqual(['c', 'd'])
    expect((await db.allDocs({ after: 'bb', limit: 1 })).rows.map((r) => r.key)).toEqual(['c'])
    expect((await db.allDocs({ after: 'b', descending: true })).rows.map((r) => r.key)).toEqual(['a'])
    expect((await db.allDocs({ after: 'd' })).rows).toEqual([])
    expect((await db.allDocs({ after: 'a' })).rows[0]).toEqual({ key: 'c', value: { _id: 'c' } })
    await db.close()
  })

  it('rejects a bad after with a TypeError naming the value, and after with keys', async () => {
    const db = database('paging', { dir: tempDir() })
    await db.put({ _id: 'a' })
    await expect(db.allDocs({ after: 42 as unknown as string })).rejects.toThrow(TypeError)
    await expect(db.allDocs({ after: 42 as unknown as string })).rejects.toThrow(/after.*42/)
    await expect(db.allDocs({ after: '' })).rejects.toThrow(/after.*""/)
    const both = await db.allDocs({ after: 'a', keys: ['a'] }).catch((e) => e)
    expect(both).toBeInstanceOf(TypeError)
    expect(both.message).toContain('"a"')
    expect(both.message).toContain('keys')
    expect((await db.allDocs()).rows).toHaveLength(1)
    await db.close()
  })
})
