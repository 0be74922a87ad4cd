import { describe, expect, it } from 'vitest'
import { database } from '../src/index.js'
import { tempDir } from './helpers.js'

describe('reads and the event loop', () => {
  it('a loop of awaited reads answered from memory leaves turns of the event loop to timers and I/O', async () => {
    for (const options of [{ storage: 'memory' as const }, { dir: tempDir(), durability: 'process' as const }]) {
      const db = database('read-turns', options)
      await db.bulk(Array.from({ length: 100 }, (_, i) => ({ _id: `d${String(i).padStart(3, '0')}`, n: i % 5 })))
      const view = await db.at(await db.clock())
      const reads: [string, () => Promise<unknown>][] = [
        ['get', () => db.get('d042')],
        ['allDocs', () => db.allDocs({ limit: 5 })],
        ['query', () => db.query('n', { key: 1 })],
        ['changes', () => db.changes(undefined, { limit: 5 })],
        ['clock', () => db.clock()],
        ['at().get', () => view.get('d007')],
      ]
      for (const [name, read] of reads) {
        await read()
        let turned = false
        setImmediate(() => (turned = true))
        let count = 0
        // Bounded: without a turn the loop would run forever (a sync's pull, a server's reply, a compaction's
        // file writes would wait for it).
        while (!turned && count < 50_000) {
          await read()
          count++
        }
        expect(turned, `${name}: the event loop turned within ${count} awaited reads`).toBe(true)
      }
      await db.close()
    }
  })
})
