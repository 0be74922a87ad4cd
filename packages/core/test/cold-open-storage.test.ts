import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { database } from '@proj/core'
import { tempDir } from './helpers.js'

// A cold open reads the segment folder's listing once, the log through one open file, and records
// synchronously (storage/write-log.ts, storage/node-files.ts): these are the states that listing must judge.
const segmentFiles = (root: string) => readdirSync(join(root, 'segments')).sort()
const ids = async (db: ReturnType<typeof database>) => (await db.allDocs()).rows.map((row) => row.key)

async function sealedDatabase(name: string): Promise<{ dir: string; root: string }> {
  const dir = tempDir()
  const db = database(name, { dir, durability: 'power', compactEvery: 0 })
  for (let i = 0; i < 20; i++) await db.put({ _id: `d${String(i).padStart(2, '0')}`, i })
  await db.close()
  const root = join(dir, name)
  expect(segmentFiles(root)).toEqual(['1.index', '1.log'])
  return { dir, root }
}

describe('cold open of a closed database', () => {
  it('a segment whose index is missing is read whole, its files checked against their CIDs', async () => {
    const { dir, root } = await sealedDatabase('noindex')
    rmSync(join(root, 'segments', '1.index'))
    const db = database('noindex', { dir })
    expect(await ids(db)).toHaveLength(20)
    expect((await db.get('d07')).i).toBe(7)
    await db.close()
  })

  it('names in the segment folder that are not <number>.log / <number>.index are left alone; an index without its segment and temp files are deleted', async () => {
    const { dir, root } = await sealedDatabase('stray')
    const segments = join(root, 'segments')
    const stray = ['1a.log', 'x.index', '.log', '-1.log', 'notes.txt']
    for (const name of stray) writeFileSync(join(segments, name), 'not a segment')
    writeFileSync(join(segments, '7.index'), readFileSync(join(segments, '1.index')))
    writeFileSync(join(segments, '.1.index.abc.tmp'), 'half written')
    const db = database('stray', { dir })
    expect(await ids(db)).toHaveLength(20)
    expect((await db.get('d19')).i).toBe(19)
    expect(segmentFiles(root)).toEqual([...stray, '1.index', '1.log'].sort())
    await db.put({ _id: 'after' })
    await db.close()
    const again = database('stray', { dir })
    expect(await ids(again)).toHaveLength(21)
    await again.close()
  })

  it('a log cut inside its header holds nothing and is deleted; a torn last entry is cut off and appends continue after it', async () => {
    const { dir, root } = await sealedDatabase('torn')
    const header = readFileSync(join(root, 'log'))
    // The empty log a close leaves, cut inside its header (a crash while it was written).
    writeFileSync(join(root, 'log'), header.subarray(0, 3))
    const db = database('torn', { dir, durability: 'process' })
    expect(await ids(db)).toHaveLength(20)
    await db.close()
    // An entry cut off half-way after the header, as a crash during an append leaves it.
    writeFileSync(join(root, 'log'), Buffer.concat([header, Buffer.from([3, 0, 0, 0, 40, 0, 7])]))
    const again = database('torn', { dir, durability: 'process' })
    expect(await ids(again)).toHaveLength(20)
    await again.put({ _id: 'after' })
    await again.close()
    const third = database('torn', { dir })
    expect(await ids(third)).toHaveLength(21)
    expect((await third.get('after'))._id).toBe('after')
    expect(existsSync(join(root, 'log'))).toBe(true)
    await third.close()
  })
})
