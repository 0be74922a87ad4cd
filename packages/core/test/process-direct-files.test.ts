import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { database } from '@proj/core'
import { runUntilKilled, tempDir } from './helpers.js'

const pad = (k: number) => Array.from({ length: 1250 }, (_, j) => ((k * 104729 + j * 31) % 1e9).toString(36)).join('')
const sizes = (dir: string) => readdirSync(dir).filter((f) => !f.startsWith('.')).map((f) => statSync(join(dir, f)).size)

describe("durability 'process': a large stored file bypasses the write log", () => {
  it('is in files/ once its write resolves, not in the log, so it is written once', async () => {
    const dir = tempDir()
    const db = database('big', { dir, durability: 'process' })
    await db.put({ _id: 'small' })
    await db.bulk(Array.from({ length: 100 }, (_, k) => ({ _id: `d${k}`, pad: pad(k) })))
    const root = join(dir, 'big')
    // Before close (which seals the log): the bulk's ~750 KB file is already a file of its own ...
    const big = sizes(join(root, 'files')).filter((size) => size >= 512 * 1024)
    expect(big).toHaveLength(1)
    // ... and the log holds the small transaction and the head records, not the big file's bytes.
    expect(existsSync(join(root, 'log'))).toBe(true)
    expect(statSync(join(root, 'log')).size).toBeLessThan(big[0]!)
    expect((await db.allDocs()).rows).toHaveLength(101)
    await db.close()
    const again = database('big', { dir, durability: 'process' })
    expect((await again.get('d99')).pad).toBe(pad(99))
    expect((await again.allDocs()).rows).toHaveLength(101)
    await again.close()
  })

  it('keeps every acknowledged large bulk across SIGKILLs at random moments', async () => {
    const dir = tempDir()
    const acknowledged: string[] = []
    let seed = 0x1b873593
    const random = () => {
      seed ^= seed << 13
      seed ^= seed >>> 17
      seed ^= seed << 5
      return (seed >>> 0) / 2 ** 32
    }
    for (let round = 0; round < 8; round++) {
      acknowledged.push(...(await runUntilKilled('big-bulk-writer.ts', [dir, String(round * 100_000)], { afterMs: 1 + Math.floor(random() * 300) })))
      const db = database('big', { dir, durability: 'process' })
      const present = new Set((await db.allDocs()).rows.map((row) => row.key))
      const lost = acknowledged.filter((id) => !present.has(id))
      expect(lost, `round ${round}: lost ${lost.length} acknowledged writes`).toEqual([])
      // A bulk this large is written as several files (invariant 1): one killed between them is all or nothing.
      const perBulk = new Map<string, number>()
      for (const id of present) perBulk.set(id.split('-')[0]!, (perBulk.get(id.split('-')[0]!) ?? 0) + 1)
      for (const [bulk, count] of perBulk) expect(count, `round ${round}: bulk ${bulk} is partly there`).toBe(100)
      await db.close()
    }
    expect(acknowledged.length).toBeGreaterThan(0)
  }, 120_000)
})
