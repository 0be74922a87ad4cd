import fs, { readdirSync } from 'node:fs'
import { syncBuiltinESMExports } from 'node:module'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { database } from '@proj/core'
import { tempDir } from './helpers.js'

/** Counts write(2) calls of this process (storage writes with the synchronous call). */
const realWrite = fs.writeSync
let writes = 0
function countWrites(): void {
  writes = 0
  fs.writeSync = ((...args: Parameters<typeof fs.writeSync>) => {
    writes++
    return (realWrite as (...a: unknown[]) => number)(...args)
  }) as typeof fs.writeSync
  syncBuiltinESMExports()
}
afterEach(() => {
  fs.writeSync = realWrite
  syncBuiltinESMExports()
})

const doc = (i: number) => ({ _id: `doc-${String(i).padStart(6, '0')}`, i, body: 'x'.repeat(80) })

describe('the write log: a transaction is one write', () => {
  for (const durability of ['process', 'power'] as const) {
    it(`durability '${durability}': a put's file and head record reach the log in one write, and every acknowledged put survives a reopen`, async () => {
      const dir = tempDir()
      const db = database('one-write', { dir, durability, compactEvery: 0 })
      await db.put(doc(0))
      countWrites()
      for (let i = 1; i <= 40; i++) await db.put(doc(i))
      expect(writes / 40).toBeLessThanOrEqual(1.05)
      // A read of a file right after it was written is served from the log, buffered or not.
      expect((await db.get('doc-000040')).i).toBe(40)
      await db.close()
      expect(readdirSync(join(dir, 'one-write', 'files')).filter((f) => !f.startsWith('.'))).toEqual([])
      const again = database('one-write', { dir })
      expect((await again.allDocs()).rows).toHaveLength(41)
      await again.close()
    })
  }
})
