import { describe, expect, it, vi } from 'vitest'
import { database } from '../src/index.js'
import { tempDir } from './helpers.js'
import { WriteQueue } from '../src/database/write-queue.js'

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

describe('WriteQueue.isFree', () => {
  it('is true for the writer of a committed write on its next step, and false while anything else is queued or running', async () => {
    // Frozen time: no turn of the event loop falls due (Pace), so only the queue's own state decides.
    vi.useFakeTimers({ toFake: ['performance'] })
    try {
      const queue = new WriteQueue(async (batch) => {
        for (const write of batch) write.resolve(['clock'])
      })
      expect(queue.isFree()).toBe(true)
      const first = queue.write([['a', {}]])
      expect(queue.isFree()).toBe(false)
      await first
      // The write task's own promises settle after its write: it must not hold the queue meanwhile.
      expect(queue.isFree()).toBe(true)
      let release!: () => void
      const task = queue.exclusive(() => new Promise<void>((resolve) => (release = resolve)))
      const queued = queue.write([['b', {}]])
      await new Promise((resolve) => setImmediate(resolve))
      expect(queue.isFree()).toBe(false)
      release()
      await task
      expect(queue.isFree()).toBe(false)
      await queued
      expect(queue.isFree()).toBe(true)
      // A write rejected alone while the rest of its batch commits leaves the queue busy until the end.
      let finish!: () => void
      const slow = new WriteQueue(async (batch) => {
        batch[0]!.reject(new Error('refused'))
        await new Promise<void>((resolve) => (finish = resolve))
        batch[1]!.resolve(['clock'])
      })
      const [refused, accepted] = [slow.write([['x', {}]]), slow.write([['y', {}]])]
      await expect(refused).rejects.toThrow('refused')
      expect(slow.isFree()).toBe(false)
      finish()
      await accepted
      expect(slow.isFree()).toBe(true)
    } finally {
      vi.useRealTimers()
    }
  })
})
