import { describe, expect, it } from 'vitest'
import { database } from '@proj/core'
import { runUntilKilled, tempDir } from './helpers.js'

/**
 * A write(2) or an fdatasync that fails inside a transaction (disk full, an I/O error), the next ones
 * succeeding again (space freed): the failed write rejects, is not acknowledged and does not come back, and
 * every write acknowledged before or after it must survive a crash (kill -9) and the recovery of the log that
 * follows. The failure is injected at the system call the write log makes (fixtures/write-failure-writer.ts),
 * after part of its bytes reached the file in one variant, as a short write does.
 */
describe('a write that fails inside a transaction', () => {
  const cases = [
    ['process', 'whole', 'a write(2) fails'],
    ['process', 'partial', 'a write(2) fails after part of its bytes'],
    ['power', 'whole', 'a write(2) fails'],
    ['power', 'partial', 'a write(2) fails after part of its bytes'],
    ['power', 'fsync', 'an fdatasync fails'],
  ] as const
  for (const [durability, mode, what] of cases) {
    {
      it(`durability '${durability}', ${what}: the write rejects and never comes back; every acknowledged put before and after it survives a crash`, async () => {
        const dir = tempDir()
        const lines = await runUntilKilled('write-failure-writer.ts', [dir, durability, mode], { afterLines: 46 })
        expect(lines.at(-1)).toBe('END')
        const acknowledged = lines.slice(0, -1)
        expect(acknowledged).toHaveLength(45)
        const db = database('write-failure', { dir, durability })
        const present = new Set((await db.allDocs()).rows.map((row) => row.key))
        expect(acknowledged.filter((id) => !present.has(id))).toEqual([])
        // The writes that failed were rejected: none of them comes back (their head records were never written).
        expect(['doc-1010', 'doc-1031', 'doc-1040', 'doc-2040'].filter((id) => present.has(id))).toEqual([])
        await db.put({ _id: 'after' })
        expect((await db.get('after'))._id).toBe('after')
        await db.close()
      }, 60_000)
    }
  }
})
