import { describe, expect, it } from 'vitest'
import { database } from '@proj/core'
import { runUntilKilled, tempDir } from './helpers.js'

const KILLS = 25

describe('crash safety', () => {
  it(`keeps every acknowledged write across ${KILLS} SIGKILLs`, async () => {
    const dir = tempDir()
    const acknowledged: string[] = []
    let start = 0
    for (let round = 0; round < KILLS; round++) {
      const ids = await runUntilKilled('crash-writer.ts', [dir, String(start)], { afterMs: 5 + (((round * 7919) % 997) % 150) })
      acknowledged.push(...ids)
      start += 100_000
      const db = database('crash', { dir })
      const { rows } = await db.allDocs()
      const present = new Set(rows.map((row) => row.key))
      const lost = acknowledged.filter((id) => !present.has(id))
      expect(lost, `round ${round}: lost ${lost.length} acknowledged writes`).toEqual([])
      await db.close()
    }
    expect(acknowledged.length).toBeGreaterThan(KILLS)
  }, 180_000)
})
