import { describe, expect, it } from 'vitest'
import { database } from '../src/index.js'
import { runUntilKilled, tempDir } from './helpers.js'

/** CC_ROUNDS=n soaks more rounds (CI runs 10). */
const ROUNDS = Number(process.env.CC_ROUNDS) || 10

/**
 * SIGKILL while compactions run in the background of writes (fixtures/compaction-crash-writer.ts): every
 * acknowledged write is there after a reopen (or a later one of the same document), and the head's clock reads.
 */
describe('compaction crash safety', () => {
  for (const [mode, durability] of [
    ['big', 'power'],
    ['churn', 'process'],
  ] as const) {
    it(`keeps every acknowledged write across ${ROUNDS} SIGKILLs (${mode}, ${durability})`, async () => {
      const dir = tempDir()
      const acknowledged = new Map<string, number>()
      let start = 0
      let total = 0
      for (let round = 0; round < ROUNDS; round++) {
        const lines = await runUntilKilled('compaction-crash-writer.ts', [dir, String(start), mode, durability], {
          afterMs: 10 + (((round * 7919) % 997) % 600),
        })
        for (const line of lines) {
          const [id, v] = line.split(' ')
          acknowledged.set(id!, Number(v))
        }
        total += lines.length
        start += 100_000
        const db = database('cc', { dir, compactEvery: 0 })
        const { rows } = await db.allDocs()
        const present = new Map(rows.map((row) => [row.key, (row.value as unknown as { v: number }).v]))
        const lost = [...acknowledged].filter(([id, v]) => !(present.get(id)! >= v))
        expect(lost, `round ${round}: ${lost.length} acknowledged writes lost or older`).toEqual([])
        // The head reads at its own clock (no block of it in a deleted file).
        const view = await db.at(await db.clock())
        expect((await view.allDocs()).rows).toHaveLength(rows.length)
        await db.close()
      }
      expect(total).toBeGreaterThan(ROUNDS)
    }, 300_000)
  }
})
