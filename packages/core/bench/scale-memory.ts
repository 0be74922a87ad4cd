/**
 * Where memory goes as a database grows (issue 14, the bench's S-load and S-page): the live heap after a full
 * GC at every tenth of the run, and optionally a heap snapshot at the end. Not a test: it prints.
 *   cd packages/core && node --expose-gc --import tsx bench/scale-memory.ts load <N> <dir>   # bulk, transactions of 1000
 *   cd packages/core && node --expose-gc --import tsx bench/scale-memory.ts page <N> <dir>   # allDocs pages of 1000
 * SNAPSHOT=file writes a heap snapshot at the end (summarise it with bench/heap-by-kind.mjs). Docs as the bench's.
 */
import { mkdirSync } from 'node:fs'
import { readFileSync } from 'node:fs'
import { writeHeapSnapshot } from 'node:v8'
import { database } from '../src/index.js'

const [mode = 'load', nArg = '100000', dir = '/tmp/scale-memory'] = process.argv.slice(2)
const N = Number(nArg)
const BATCH = 1000
const gc = (globalThis as { gc?: () => void }).gc
if (!gc) throw new Error('run with node --expose-gc')

function hwmMb(): number {
  const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'))
  return Number(line!.split(/\s+/)[1]) / 1024
}
/** Peaks between reports, sampled every 50 ms without a GC: what the RSS peak is made of. */
const peak = { heapTotal: 0, heapUsed: 0, external: 0, rss: 0 }
setInterval(() => {
  const m = process.memoryUsage()
  for (const k of Object.keys(peak) as (keyof typeof peak)[]) peak[k] = Math.max(peak[k], m[k])
}, 50).unref()
function report(label: string): void {
  const p = Object.entries(peak).map(([k, v]) => `${k} ${(v / 1e6).toFixed(0)}`).join(' ')
  for (const k of Object.keys(peak) as (keyof typeof peak)[]) peak[k] = 0
  gc!()
  const m = process.memoryUsage()
  console.log(`${''.padEnd(14)} peaks since last: ${p}`)
  console.log(
    `${label.padEnd(14)} heap ${(m.heapUsed / 1e6).toFixed(1).padStart(7)} MB  external ${(m.external / 1e6).toFixed(1).padStart(6)} MB  arrayBuffers ${(m.arrayBuffers / 1e6).toFixed(1).padStart(6)} MB  rss ${(m.rss / 1e6).toFixed(0).padStart(5)} MB  peak ${hwmMb().toFixed(0)} MB`,
  )
}

function doc(i: number) {
  return {
    _id: `doc-${String(i).padStart(7, '0')}`,
    n: i,
    title: `item ${i}: alpha and beta`,
    done: i % 2 === 0,
    owner: `user-${i % 100}`,
    tags: ['alpha', 'beta'],
    body: 'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(2),
  }
}

/** SNAPSHOT_ABOVE=MB: one heap snapshot (to SNAPSHOT) the first time array buffers stay above MB after a GC. */
let snapped = false
function snapshotAbove(label: string): void {
  const above = Number(process.env.SNAPSHOT_ABOVE ?? Infinity) * 1e6
  if (snapped || process.memoryUsage().arrayBuffers < above) return
  gc!()
  if (process.memoryUsage().arrayBuffers < above) return
  snapped = true
  report(`${label} (snapshot)`)
  writeHeapSnapshot(process.env.SNAPSHOT!)
}

const t0 = performance.now()
if (mode === 'load') {
  mkdirSync(dir, { recursive: true })
  const db = database('bench', { dir, storage: 'file' })
  for (let i = 0; i < N; i += BATCH) {
    await db.bulk(Array.from({ length: Math.min(BATCH, N - i) }, (_, k) => doc(i + k)))
    if ((i + BATCH) % (N / 10) === 0) report(`${i + BATCH} docs`)
    snapshotAbove(`${i + BATCH} docs`)
  }
  if (process.env.SNAPSHOT && !process.env.SNAPSHOT_ABOVE) writeHeapSnapshot(process.env.SNAPSHOT)
  await db.close()
} else {
  const db = database('bench', { dir, storage: 'file' })
  let after: string | undefined
  let count = 0
  for (;;) {
    const rows = (await db.allDocs(after === undefined ? { limit: BATCH } : { limit: BATCH, after })).rows
    if (rows.length === 0) break
    count += rows.length
    after = rows.at(-1)!.key
    if (count % (N / 10) === 0) report(`${count} paged`)
  }
  if (count !== N) throw new Error(`paged ${count} of ${N}`)
  if (process.env.SNAPSHOT) writeHeapSnapshot(process.env.SNAPSHOT)
  await db.close()
}
console.log(`${mode} ${N}: ${((performance.now() - t0) / 1000).toFixed(1)} s`)
