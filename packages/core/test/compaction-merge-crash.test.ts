import { describe, expect, it } from 'vitest'
import { database } from '../src/index.js'
import { dirBackend } from './dir-backend.js'
import { spawn } from 'node:child_process'
import { tempDir } from './helpers.js'
import { fixtureBundle } from './node-fixture.js'

const ROUNDS = 4

/**
 * SIGKILL while a database merges another device's writes, compacts again and again and writes its own
 * (fixtures/compaction-merge-crash-writer.ts): reopened without a backend, it reads its whole head, every
 * write it acknowledged, and every merged state it reported.
 */
describe('compaction and merges: crash safety', () => {
  it(`keeps every acknowledged write and merged state across ${ROUNDS} SIGKILLs, offline`, async () => {
    const dir = tempDir()
    const backendDir = tempDir()
    const text = 'x'.repeat(200)
    const a = database('mc', { dir, compactEvery: 0 })
    await a.bulk(Array.from({ length: 2000 }, (_, i) => ({ _id: `a${i}`, v: 0, text })))
    const key = await a.exportKey()
    const sa = a.connect(dirBackend(backendDir), { pollInterval: 0 })
    await sa.flush()
    await sa.close()
    await a.close()
    const b = database('mc', { storage: 'memory', key, compactEvery: 0 })
    const sb = b.connect(dirBackend(backendDir), { pollInterval: 0 })
    await sb.refresh()

    const acknowledged = new Map<string, number>()
    let seen = 0
    let remote = 0
    let start = 0
    for (let round = 0; round < ROUNDS; round++) {
      // The other device writes (a counter and documents all over the tree) while the child runs.
      let running = true
      const writing = (async () => {
        while (running) {
          remote++
          await b.bulk([
            { _id: 'remote', v: remote },
            { _id: `a${(remote * 7919) % 2000}`, v: remote, text },
          ])
          if (remote % 3 === 0) await sb.flush()
        }
        await sb.flush()
      })()
      // Killed once it reported its 1st, 2nd or 3rd merged state: in a merge, a compaction or a write.
      const lines = await runUntilSeen([dir, backendDir, String(start)], 1 + (round % 3)).finally(() => (running = false))
      await writing
      for (const line of lines) {
        const [id, v] = line.split(' ')
        if (id === 'seen') seen = Math.max(seen, Number(v))
        else acknowledged.set(id!, Number(v))
      }
      start += 100_000

      const db = database('mc', { dir, compactEvery: 0 })
      const { rows } = await db.allDocs()
      const present = new Map(rows.map((row) => [row.key, (row.value as unknown as { v: number }).v]))
      const lost = [...acknowledged].filter(([id, v]) => !(present.get(id)! >= v))
      expect(lost, `round ${round}: ${lost.length} acknowledged writes lost or older`).toEqual([])
      expect(present.get('remote') ?? 0, `round ${round}: the merged counter`).toBeGreaterThanOrEqual(seen)
      expect(rows.length).toBeGreaterThanOrEqual(2000)
      const view = await db.at(await db.clock())
      expect((await view.allDocs()).rows).toHaveLength(rows.length)
      await db.close()
    }
    expect(acknowledged.size).toBeGreaterThan(0)
    expect(seen, 'the child merged the other device').toBeGreaterThan(0)
    await sb.close()
    await b.close()
  }, 300_000)
})

/**
 * Runs the writer until it has printed `seen` lines `times` times, then kills it with SIGKILL (after the line
 * that follows, so the kill lands anywhere in what it does next). Resolves with the complete lines printed.
 */
async function runUntilSeen(args: string[], times: number): Promise<string[]> {
  const bundle = await fixtureBundle('compaction-merge-crash-writer.ts')
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bundle, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (chunk) => {
      out += chunk
      const lines = out.split('\n')
      const at = lines.findIndex((line, i) => line.startsWith('seen') && lines.slice(0, i + 1).filter((l) => l.startsWith('seen')).length === times)
      if (at >= 0 && lines.length > at + 2) child.kill('SIGKILL')
    })
    child.stderr.on('data', (chunk) => (err += chunk))
    // 'close', not 'exit': the lines printed just before the kill may not have been read when 'exit' comes.
    child.on('close', (code, signal) => {
      if (signal !== 'SIGKILL') return reject(new Error(`the writer exited with ${code}: ${err}`))
      resolve(out.split('\n').slice(0, -1))
    })
  })
}
