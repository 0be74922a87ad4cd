/**
 * The bench's S-range on its own (a range of 100 docs on `n` with bodies, and an id range of 100), on a database
 * of N docs loaded once into DIR: the first query, then the median of 20 of each. Not a test: it prints.
 *   cd packages/core && node --import tsx bench/scale-range.ts <N> <dir>
 */
import { existsSync, mkdirSync } from 'node:fs'
import { database } from '../src/index.js'

const N = Number(process.argv[2] ?? 10_000)
const dir = process.argv[3] ?? '/tmp/scale-range'
if (!existsSync(`${dir}/loaded`)) {
  mkdirSync(dir, { recursive: true })
  const db = database('bench', { dir })
  for (let i = 0; i < N; i += 1000) {
    await db.bulk(Array.from({ length: 1000 }, (_, k) => ({ _id: `doc-${String(i + k).padStart(7, '0')}`, n: i + k, title: `item ${i + k}`, body: 'x'.repeat(72) })))
  }
  await db.close()
  mkdirSync(`${dir}/loaded`)
}
const db = database('bench', { dir })
const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!
let t = performance.now()
await db.query('n', { range: [0, 99], includeDocs: true })
const first = performance.now() - t
const ranges: number[] = []
const ids: number[] = []
for (let q = 0; q < 20; q++) {
  const lo = Math.floor(((q * 7919) % 997) / 997 * (N - 101))
  t = performance.now()
  const rows = (await db.query('n', { range: [lo, lo + 99], includeDocs: true })).rows
  ranges.push(performance.now() - t)
  if (rows.length !== 100) throw new Error(`range returned ${rows.length}`)
  t = performance.now()
  await db.allDocs({ after: `doc-${String(lo).padStart(7, '0')}`, limit: 100 })
  ids.push(performance.now() - t)
}
console.log(`N ${N}: first ${first.toFixed(0)} ms, range median ${median(ranges).toFixed(2)} ms, id range median ${median(ids).toFixed(2)} ms`)
await db.close()
