import { describe, expect, it } from 'vitest'
import { database } from '../src/index.js'
import { runUntilKilled, tempDir } from './helpers.js'

const KILLS = 25

describe("the durability option ('process' | 'power')", () => {
  for (const storage of ['file', 'memory'] as const) {
    it(`rejects any other value with a TypeError naming it (${storage} storage), and writes nothing`, async () => {
      const dir = tempDir()
      for (const [value, shown] of [
        ['fast', '"fast"'],
        ['Power', '"Power"'],
        [1, 'number 1'],
        [true, 'boolean true'],
        [null, 'null'],
      ] as const) {
        const db = database('bad-durability', { dir, storage, durability: value as unknown as 'power' })
        const error = await db.put({ _id: 'a' }).catch((e: unknown) => e)
        expect(error).toBeInstanceOf(TypeError)
        expect((error as Error).message).toContain(`durability must be 'process' or 'power', got ${shown}`)
        expect((error as Error).message).toContain('"bad-durability"')
        await db.close().catch(() => {})
      }
      const db = database('bad-durability', { dir, storage })
      expect((await db.allDocs()).rows).toEqual([])
      await db.close()
    })
  }

  for (const storage of ['file', 'memory'] as const) {
    it(`accepts both levels (${storage} storage); data written at one level reopens at the other`, async () => {
      const dir = storage === 'memory' ? `/durability-test/${crypto.randomUUID()}` : tempDir()
      const writer = database('levels', { dir, storage, durability: 'process' })
      for (let i = 0; i < 5; i++) await writer.put({ _id: `p${i}`, i })
      await writer.close()
      const reader = database('levels', { dir, storage, durability: 'power' })
      await reader.put({ _id: 'q', i: 5 })
      expect((await reader.allDocs()).rows.map((row) => row.key)).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'q'])
      await reader.close()
    })
  }
})

describe("durability 'process' under kill -9", () => {
  it(`keeps every acknowledged write and opens cleanly across ${KILLS} SIGKILLs at random moments`, async () => {
    const dir = tempDir()
    const acknowledged: string[] = []
    let seed = 0x2545f491
    const random = () => {
      seed ^= seed << 13
      seed ^= seed >>> 17
      seed ^= seed << 5
      return (seed >>> 0) / 2 ** 32
    }
    for (let round = 0; round < KILLS; round++) {
      const ids = await runUntilKilled('crash-writer.ts', [dir, String(round * 100_000), 'process'], { afterMs: 1 + Math.floor(random() * 120) })
      acknowledged.push(...ids)
      const db = database('crash', { dir, durability: 'process' })
      // Reads the newest file: a torn one would fail here with an IntegrityError.
      const { rows } = await db.allDocs()
      const present = new Set(rows.map((row) => row.key))
      const lost = acknowledged.filter((id) => !present.has(id))
      expect(lost, `round ${round}: lost ${lost.length} acknowledged writes`).toEqual([])
      // The database takes writes after the crash.
      await db.put({ _id: `after-${round}` })
      await db.close()
    }
    expect(acknowledged.length).toBeGreaterThan(KILLS)
  }, 120_000)
})
