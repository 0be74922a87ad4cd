/**
 * Standalone check of PouchDB's replication, set up as the bench sets it up: two LevelDB databases in separate
 * folders, `a.replicate.to(b)` for the initial sync, then `PouchDB.sync(a, b, { live: true, retry: true })` and
 * K live puts on A. After the run both are closed and B is opened again from ITS OWN LevelDB folder: what it
 * holds there is what replication delivered.
 *
 *   node --import tsx apps/bench/repro/pouchdb-replication.ts [--n 10000] [--live 200] [--timeout 100] [--adapter leveldb|memory]
 *
 * Last line of stdout is JSON { system, confirmedFailure, ... }. Exit 0: replication delivered everything;
 * 2: a failure is confirmed (B lacks docs after the run); 1: the repro itself broke.
 * With --adapter memory nothing outlives the process, so B is read before it is closed.
 */
import PouchDBModule from 'pouchdb'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'

const argv = process.argv.slice(2)
const opt = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback
}
const N = Number(opt('n', '10000'))
const LIVE = Number(opt('live', '200'))
const TIMEOUT_MS = Number(opt('timeout', '100')) * 1000
const adapter = opt('adapter', 'leveldb')

type Pouch = any // eslint-disable-line @typescript-eslint/no-explicit-any -- pouchdb ships no types
const PouchDB = PouchDBModule as Pouch
if (adapter === 'memory') PouchDB.plugin((await import('pouchdb-adapter-memory')).default)
const root = mkdtempSync(join(os.tmpdir(), 'repro-pouchdb-'))
const open = (side: 'a' | 'b'): Pouch => {
  mkdirSync(join(root, side), { recursive: true })
  return adapter === 'memory' ? new PouchDB(join(root, side, 'db'), { adapter: 'memory' }) : new PouchDB(join(root, side, 'db'))
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const idOf = (prefix: string, i: number) => `${prefix}-${String(i).padStart(7, '0')}`

const report: Record<string, unknown> = { system: `pouchdb ${adapter}`, n: N, live: LIVE }
let exitCode = 1
try {
  const a = open('a')
  const b = open('b')
  await a.bulkDocs(Array.from({ length: N }, (_, i) => ({ _id: idOf('doc', i), n: i })))
  const t0 = performance.now()
  await a.replicate.to(b)
  report.initialSyncMs = Math.round(performance.now() - t0)
  report.initialSeenByB = (await b.info()).doc_count
  const live = PouchDB.sync(a, b, { live: true, retry: true })
  for (let i = 0; i < LIVE; i++) await a.put({ _id: idOf('live', i), n: i })
  const t1 = performance.now()
  let seen = 0
  while (performance.now() - t1 < TIMEOUT_MS) {
    seen = (await b.info()).doc_count
    if (seen >= N + LIVE) break
    await sleep(50)
  }
  report.liveSyncMs = Math.round(performance.now() - t1)
  report.seenByBBeforeClose = seen
  live.cancel()
  await a.close()
  let held: number
  if (adapter === 'memory') held = seen
  else {
    await b.close()
    const again = open('b')
    const all = await again.allDocs()
    held = all.rows.filter((r: { id: string }) => r.id.startsWith('doc-') || r.id.startsWith('live-')).length
    await again.close()
  }
  report.heldByBOwnStore = held
  report.expected = N + LIVE
  report.confirmedFailure = held !== N + LIVE
  exitCode = report.confirmedFailure ? 2 : 0
} catch (e) {
  report.reproError = String((e as Error).stack ?? e).slice(0, 500)
} finally {
  rmSync(root, { recursive: true, force: true })
}
console.log(JSON.stringify(report))
process.exit(exitCode)
