/**
 * What `cacheBytes` trades (apps/bench/SCALE-NOTES.md, "What the bulk-load peak RSS is made of"): the peak RSS
 * of a bulk load in transactions of 1 000, and the time of random gets and pages on the loaded database, at one
 * cache size per process. Not a test: it prints one line.
 *   cd packages/core && node --import tsx bench/cache-size.ts load <N> <cacheMiB> [dir]    # bulk load, peak RSS
 *   cd packages/core && node --import tsx bench/cache-size.ts reads <N> <cacheMiB> <dir>   # on a db `load` left
 * `load` keeps the database when given a dir (then compacted, as a long-lived one is). Docs as the bench's.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { database } from '../src/index.js'

const [mode = 'load', nArg = '300000', mibArg = '32', dirArg] = process.argv.slice(2)
const N = Number(nArg)
const cacheBytes = Number(mibArg) * 2 ** 20
const hwmMb = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024
const id = (i: number) => `doc-${String(i).padStart(7, '0')}`
const doc = (i: number) => ({ _id: id(i), n: i, title: `Document number ${i}`, done: i % 3 === 0, owner: `user-${i % 17}`, tags: ['alpha', 'beta'], body: 'x'.repeat(80) })

if (mode === 'load') {
  const dir = dirArg ?? mkdtempSync(join(tmpdir(), 'cache-size-'))
  const db = database('bench', { dir, durability: 'process', cacheBytes })
  const t0 = performance.now()
  for (let i = 0; i < N; i += 1000) await db.bulk(Array.from({ length: Math.min(1000, N - i) }, (_, k) => doc(i + k)))
  const seconds = (performance.now() - t0) / 1000
  if (dirArg) await db.compact()
  await db.close()
  if (!dirArg) rmSync(dir, { recursive: true, force: true })
  console.log(`load N ${N} cache ${mibArg} MiB: ${seconds.toFixed(1)} s, peak RSS ${hwmMb().toFixed(0)} MB`)
} else {
  if (!dirArg) throw new Error('reads needs the dir of a database `load <N> <MiB> <dir>` wrote')
  const db = database('bench', { dir: dirArg, durability: 'process', cacheBytes, compactEvery: 0 })
  let seed = 7
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648
  const t0 = performance.now()
  for (let k = 0; k < 5000; k++) await db.get(id(Math.floor(random() * N)))
  const getUs = ((performance.now() - t0) / 5000) * 1000
  const t1 = performance.now()
  for (let k = 0; k < 50; k++) await db.allDocs({ after: id(Math.floor(random() * (N - 100))), limit: 100 })
  const pageMs = (performance.now() - t1) / 50
  await db.close()
  console.log(`reads N ${N} cache ${mibArg} MiB: 5000 random gets ${getUs.toFixed(0)} µs/get, 50 pages of 100 ${pageMs.toFixed(2)} ms/page, peak RSS ${hwmMb().toFixed(0)} MB`)
}
