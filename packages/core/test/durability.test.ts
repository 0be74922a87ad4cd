import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { database } from '../src/index.js'
import { tempDir } from './helpers.js'

const here = dirname(fileURLToPath(import.meta.url))
// tsx as a loader inside one node process: its CLI would fork a grandchild that outlives SIGKILL.
const tsxLoader = join(dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist', 'esm', 'index.mjs')
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

/** Starts the writer with durability 'process', kills it at a random moment once it has acknowledged writes. */
function writeUntilKilled(dir: string, start: number, delay: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const writer = join(here, 'fixtures', 'crash-writer.ts')
    const child = spawn(process.execPath, ['--conditions', 'source', '--import', tsxLoader, writer, dir, String(start), 'process'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    let killTimer: NodeJS.Timeout | undefined
    child.stdout.on('data', (chunk) => {
      out += chunk
      if (!killTimer) killTimer = setTimeout(() => child.kill('SIGKILL'), delay)
    })
    child.stderr.on('data', (chunk) => (err += chunk))
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') return reject(new Error(`writer exited with ${code}: ${err}`))
      // Only complete lines were acknowledged before the kill.
      resolve(out.split('\n').slice(0, -1))
    })
  })
}

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
      const ids = await writeUntilKilled(dir, round * 100_000, 1 + Math.floor(random() * 120))
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
