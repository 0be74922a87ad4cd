// Builds an N-doc database once, then measures a cold open + get in this process: ms, CPU ms, and the bytes the
// open + get read. `bulk` (default 1000) docs per transaction; `--bulk N` writes them in one transaction, as
// the bench's W6 does (apps/bench/src/workloads.ts). Run, once to build and then in fresh processes:
//   node --conditions source --import tsx bench/cold-open-probe.ts <dir> <N> [docs per transaction]
// CORE=<path>/index.js measures another build (a copy of dist/ kept as before, alternating runs); PROF=<dir> writes
// a CPU profile of the timed part, sampled every PROF_US µs (default 100).
import { existsSync, readFileSync } from 'node:fs'
import type { database as Database } from '@proj/core'
import { Session } from 'node:inspector/promises'
import { mkdirSync, writeFileSync } from 'node:fs'
// CORE=<path to a built index.js>: measure that build instead (before / after comparisons, alternating).
const { database } = (await import(process.env.CORE ?? '@proj/core')) as { database: typeof Database }
const [dir = '/tmp/p14/cold', nArg = '300000', perArg = '1000'] = process.argv.slice(2)
const n = Number(nArg)
const per = Number(perArg)
const read = () => Number(/rchar: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))![1])
const doc = (i: number) => ({ _id: `doc-${String(i).padStart(8, '0')}`, n: i % 1000, title: `Document ${i}`, body: 'x'.repeat(120) })
if (!existsSync(`${dir}/cold`)) {
  const db = database('cold', { dir })
  const t = performance.now()
  for (let i = 0; i < n; i += per) await db.bulk(Array.from({ length: Math.min(per, n - i) }, (_, k) => doc(i + k)))
  await db.close()
  console.log(JSON.stringify({ built: n, per, ms: Math.round(performance.now() - t) }))
} else {
  // PROF=<dir>: a CPU profile of the timed part only (summarize with a .cpuprofile reader).
  const profDir = process.env.PROF
  const session = profDir ? new Session() : undefined
  if (session) {
    session.connect()
    await session.post('Profiler.enable')
    await session.post('Profiler.setSamplingInterval', { interval: Number(process.env.PROF_US ?? 100) })
    await session.post('Profiler.start')
  }
  // `performance` is loaded on first use (node:perf_hooks, ~2-3 ms of CPU): not part of what is measured.
  performance.now()
  const r0 = read()
  const cpu0 = process.cpuUsage()
  const t = performance.now()
  const db = database('cold', { dir })
  const got = await db.get(doc(Math.floor(n * 0.37))._id)
  const ms = performance.now() - t
  const cpu = process.cpuUsage(cpu0)
  if (session) {
    const { profile } = await session.post('Profiler.stop')
    mkdirSync(profDir!, { recursive: true })
    writeFileSync(`${profDir}/${Date.now()}.cpuprofile`, JSON.stringify(profile))
  }
  console.log(
    JSON.stringify({
      ms: Math.round(ms * 10) / 10,
      cpuMs: Math.round((cpu.user + cpu.system) / 100) / 10,
      bytesRead: read() - r0,
      ok: got._id === doc(Math.floor(n * 0.37))._id,
      rss: Math.round(process.memoryUsage().rss / 1e6),
    }),
  )
  await db.close()
}
