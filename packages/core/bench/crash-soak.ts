// kill -9 soak of the local write path (issue 14): `rounds` times, a child process writes single puts and
// bulks (delta events, checkpoints every 32 events, a checkpoint after each reopen) and is killed with SIGKILL
// at a random moment; after each kill the database is opened again and must hold every write the child
// acknowledged, open cleanly (no torn newest file) and take a write. Both durability levels.
// Run: cd packages/core && node --conditions source --import tsx bench/crash-soak.ts [rounds] [process,power] [seed] [puts|seal]
// `seal`: the child writes ~90 KB bulks instead (test/fixtures/log-filler.ts), killed within 0.5–4 s, so the
// write log passes 8 MiB and is sealed into a segment every ~90 bulks: kills land during seals too.
// (CI runs 25 rounds of 'process' in test/durability.test.ts and 'power' rounds in test/crash.test.ts.)
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { database } from '@proj/core'

const [roundsArg = '200', levelsArg = 'process,power', seedArg = '7', writerArg = 'puts'] = process.argv.slice(2)
const rounds = Number(roundsArg)
if (writerArg !== 'puts' && writerArg !== 'seal') throw new TypeError(`crash-soak: the writer must be 'puts' or 'seal', got ${JSON.stringify(writerArg)}`)
const sealing = writerArg === 'seal'
const writer = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures', sealing ? 'log-filler.ts' : 'crash-writer.ts')
const dbName = sealing ? 'filler' : 'crash'
const tsx = join(dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist', 'esm', 'index.mjs')
let seed = Number(seedArg) >>> 0 || 1
const random = () => {
  seed ^= seed << 13
  seed ^= seed >>> 17
  seed ^= seed << 5
  return (seed >>> 0) / 2 ** 32
}

function runUntilKilled(args: string[], afterMs: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions', 'source', '--import', tsx, writer, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    let timer: NodeJS.Timeout | undefined
    child.stdout.on('data', (chunk) => {
      out += chunk
      timer ??= setTimeout(() => child.kill('SIGKILL'), afterMs)
    })
    child.stderr.on('data', (chunk) => (err += chunk))
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') return reject(new Error(`the writer exited with ${code}: ${err}`))
      resolve(out.split('\n').slice(0, -1))
    })
  })
}

const results: Record<string, unknown>[] = []
for (const durability of levelsArg.split(',') as ('process' | 'power')[]) {
  const dir = mkdtempSync(join(tmpdir(), 'crash-soak-'))
  const acknowledged: string[] = []
  const started = performance.now()
  let failures = 0
  try {
    for (let round = 0; round < rounds; round++) {
      const killAfterMs = sealing ? 500 + Math.floor(random() * 3500) : 1 + Math.floor(random() * 150)
      acknowledged.push(...(await runUntilKilled([dir, String(round * 100_000), durability], killAfterMs)))
      const db = database(dbName, { dir, durability })
      const present = new Set((await db.allDocs()).rows.map((row) => row.key))
      const lost = acknowledged.filter((id) => !present.has(id))
      if (lost.length) {
        failures++
        console.error(`${durability} round ${round}: lost ${lost.length} acknowledged writes, e.g. ${lost.slice(0, 3).join(', ')}`)
      }
      await db.put({ _id: `after-${round}` })
      await db.close()
      if ((round + 1) % 25 === 0) process.stderr.write(`${durability}: ${round + 1}/${rounds} rounds, ${acknowledged.length} acknowledged writes\n`)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  results.push({ durability, writer: writerArg, rounds, acknowledged: acknowledged.length, roundsLosingWrites: failures, seconds: Math.round((performance.now() - started) / 1000) })
}
console.log(JSON.stringify(results))
if (results.some((result) => result.roundsLosingWrites !== 0)) process.exit(1)
