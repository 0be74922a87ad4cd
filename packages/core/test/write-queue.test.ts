import { describe, expect, it } from 'vitest'
import { database } from '../src/index.js'
import { tempDir } from './helpers.js'

describe('write queue', () => {
  it("a loop of awaited puts leaves turns of the event loop to timers and I/O (durability 'process', memory storage)", async () => {
    for (const options of [{ storage: 'memory' as const }, { dir: tempDir(), durability: 'process' as const }]) {
      const db = database('turns', options)
      await db.put({ _id: 'warm' })
      let turns = 0
      const counter = setInterval(() => turns++, 0)
      const immediates: Promise<void>[] = []
      let immediate = 0
      immediates.push(new Promise((resolve) => setImmediate(() => (immediate++, resolve()))))
      for (let i = 0; i < 200; i++) await db.put({ _id: `d${i}`, i })
      const ranDuringWrites = immediate
      clearInterval(counter)
      await Promise.all(immediates)
      // A run of commits lets the event loop turn every few ms: the setImmediate queued before the loop ran during it.
      expect(ranDuringWrites).toBe(1)
      expect(turns).toBeGreaterThan(0)
      expect((await db.allDocs()).rows).toHaveLength(201)
      await db.close()
    }
  })

  it('keeps the order of what was queued: an unawaited put is in the clock a following close() waits for', async () => {
    const dir = tempDir()
    const db = database('order', { dir, durability: 'process' })
    const writes = Array.from({ length: 20 }, (_, i) => db.put({ _id: `w${i}` }))
    await db.close()
    await Promise.all(writes)
    const again = database('order', { dir })
    expect((await again.allDocs()).rows).toHaveLength(20)
    await again.close()
  })
})
