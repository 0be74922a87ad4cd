// Issue 14: a cold open of a database whose stored head was written during the last compaction's rewrite.
// Builds an N-doc database (bulks of 1000), then compact() with PUTS single puts (default 5) of new documents
// landing right after its snapshot (early in its rewrite, so their files name, for the tree nodes they share,
// files the compaction deletes); AFTER=1 builds the control instead, the same puts once compact() resolved.
// Then, in fresh processes, measures a cold open + one get: ms, bytes read, heap. Run:
//   node --conditions source --import tsx bench/overlap-open-probe.ts build <dir> <N>
//   node --conditions source --import tsx bench/overlap-open-probe.ts open <dir> <N>
// CORE=<path>/index.js measures another build (a copy of dist/ kept as before, alternating runs).
import { readFileSync } from 'node:fs'
import type { database as Database } from '@proj/core'

const { database } = (await import(process.env.CORE ?? '@proj/core')) as { database: typeof Database }
const [mode, dir = '/tmp/overlap', nArg = '300000'] = process.argv.slice(2)
const n = Number(nArg)
const doc = (i: number) => ({ _id: `doc-${String(i).padStart(8, '0')}`, n: i % 1000, title: `Document ${i}`, body: 'x'.repeat(120) })
const rchar = () => Number(/rchar: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))![1])

if (mode === 'build') {
  const db = database('overlap', { dir, compactEvery: 0 })
  for (let i = 0; i < n; i += 1000) await db.bulk(Array.from({ length: Math.min(1000, n - i) }, (_, k) => doc(i + k)))
  const puts = Number(process.env.PUTS ?? 5)
  if (process.env.AFTER) await db.compact()
  const compacting = process.env.AFTER ? Promise.resolve() : db.compact()
  for (let i = 0; i < puts; i++) await db.put(doc(n + i))
  await compacting
  await db.close()
  console.log(JSON.stringify({ built: n, puts, after: Boolean(process.env.AFTER) }))
} else if (mode === 'open') {
  // `performance` is loaded on first use: not part of what is measured.
  performance.now()
  const r0 = rchar()
  const heap0 = process.memoryUsage().heapUsed
  const t = performance.now()
  const db = database('overlap', { dir, compactEvery: 0 })
  const id = doc(Math.floor(n * 0.37))._id
  const got = await db.get(id)
  const ms = performance.now() - t
  console.log(
    JSON.stringify({
      n,
      ms: Math.round(ms * 10) / 10,
      bytesRead: rchar() - r0,
      heapMB: Math.round((process.memoryUsage().heapUsed - heap0) / 1e5) / 10,
      rssMB: Math.round(process.memoryUsage().rss / 1e6),
      ok: got._id === id,
    }),
  )
  await db.close()
} else {
  throw new Error(`usage: overlap-open-probe.ts build|open <dir> <N> (got ${JSON.stringify(mode)})`)
}
