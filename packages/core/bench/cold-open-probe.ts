// Builds an N-doc database (bulks of 1000, default options) once, then measures a cold open + get in this
// process: ms, and what the open reads. Run: node --conditions source --import tsx bench/cold-open-probe.ts <dir> <N>
import { existsSync, readFileSync } from 'node:fs'
import { database } from '@proj/core'
const [dir = '/tmp/p14/cold', nArg = '300000'] = process.argv.slice(2)
const n = Number(nArg)
const read = () => Number(/rchar: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))![1])
const doc = (i: number) => ({ _id: `doc-${String(i).padStart(8, '0')}`, n: i % 1000, title: `Document ${i}`, body: 'x'.repeat(120) })
if (!existsSync(`${dir}/cold`)) {
  const db = database('cold', { dir })
  const t = performance.now()
  for (let i = 0; i < n; i += 1000) await db.bulk(Array.from({ length: 1000 }, (_, k) => doc(i + k)))
  await db.close()
  console.log(JSON.stringify({ built: n, ms: Math.round(performance.now() - t) }))
} else {
  const r0 = read()
  const t = performance.now()
  const db = database('cold', { dir })
  const got = await db.get(doc(Math.floor(n * 0.37))._id)
  const ms = performance.now() - t
  console.log(JSON.stringify({ ms: Math.round(ms), bytesRead: read() - r0, ok: got._id === doc(Math.floor(n * 0.37))._id, rss: Math.round(process.memoryUsage().rss / 1e6) }))
  await db.close()
}
