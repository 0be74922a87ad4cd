import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { database } from '@proj/core'
import { tempDir } from './helpers.js'

const here = dirname(fileURLToPath(import.meta.url))
// tsx as a loader inside one node process: its CLI would fork a grandchild that outlives SIGKILL.
const tsxLoader = join(dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist', 'esm', 'index.mjs')
const KILLS = 25

/** Starts the writer, waits until it has acknowledged some writes, kills it at a random moment. */
function writeUntilKilled(dir: string, start: number, seed: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions', 'source', '--import', tsxLoader, join(here, 'fixtures', 'crash-writer.ts'), dir, String(start)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    let killTimer: NodeJS.Timeout | undefined
    child.stdout.on('data', (chunk) => {
      out += chunk
      if (!killTimer) killTimer = setTimeout(() => child.kill('SIGKILL'), 5 + (seed % 150))
    })
    child.stderr.on('data', (chunk) => (err += chunk))
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') return reject(new Error(`writer exited with ${code}: ${err}`))
      // Only complete lines were acknowledged before the kill.
      resolve(out.split('\n').slice(0, -1))
    })
  })
}

describe('crash safety', () => {
  it(`keeps every acknowledged write across ${KILLS} SIGKILLs`, async () => {
    const dir = tempDir()
    const acknowledged: string[] = []
    let start = 0
    for (let round = 0; round < KILLS; round++) {
      const ids = await writeUntilKilled(dir, start, (round * 7919) % 997)
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
