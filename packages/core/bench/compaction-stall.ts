// How long a put waits while a compaction runs (issue 14: nothing O(database) in the write queue).
// Run: cd packages/core && node --conditions source --import tsx bench/compaction-stall.ts [docs] [durability] [puts]
// 1. `explicit`: loads `docs` documents (bulks of 1 000, compactEvery 0), starts `db.compact()` and makes
//    awaited single puts until it resolves: the slowest put, how many puts resolved before the compaction did,
//    and the compaction's wall time.
// 2. `automatic`: `puts` awaited single puts into the same database with automatic compaction at its default
//    (reopened with compactEvery unset): slowest put, p99, and main-thread CPU per put (process.cpuUsage).
// 3. With a fourth argument `load`, only: a bulk load of `docs` documents in transactions of 1 000 with automatic
//    compaction at its default (as apps/bench S-load): the slowest transaction and the load's CPU.
// Wall times move with the load of the machine; the CPU figures and the counts less so.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { database } from '@proj/core'

const [docsArg = '10000', durability = 'process', putsArg = '3000', only] = process.argv.slice(2)
const docs = Number(docsArg)
const puts = Number(putsArg)

const doc = (i: number) => ({
  _id: `doc-${String(i).padStart(7, '0')}`,
  n: i,
  title: `Document number ${i}`,
  done: i % 3 === 0,
  owner: `user-${i % 17}`,
  body: 'x'.repeat(80),
})

const dir = mkdtempSync(join(tmpdir(), 'proj-stall-'))
if (only === 'load') {
  try {
    const db = database('load', { dir, durability } as Parameters<typeof database>[1])
    const cpu0 = process.cpuUsage()
    const start = performance.now()
    let slowest = 0
    for (let i = 0; i < docs; i += 1000) {
      const t = performance.now()
      await db.bulk(Array.from({ length: Math.min(1000, docs - i) }, (_, k) => doc(i + k)))
      slowest = Math.max(slowest, performance.now() - t)
    }
    const ms = performance.now() - start
    await db.close()
    const cpu = process.cpuUsage(cpu0)
    console.log(
      JSON.stringify({ mode: 'load', docs, durability, slowestBulkMs: Math.round(slowest), loadMs: Math.round(ms), cpuMsWithClose: Math.round((cpu.user + cpu.system) / 1000) }),
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  process.exit(0)
}
try {
  const options = { dir, durability } as Parameters<typeof database>[1]
  const db = database('stall', { ...options, compactEvery: 0 })
  for (let i = 0; i < docs; i += 1000) await db.bulk(Array.from({ length: Math.min(1000, docs - i) }, (_, k) => doc(i + k)))
  await db.compact()
  // Explicit compaction with puts meanwhile.
  let done = false
  const cpuStart = process.cpuUsage()
  const started = performance.now()
  let compactMs = 0
  const compaction = db.compact().then(() => {
    done = true
    compactMs = performance.now() - started
  })
  let during = 0
  let slowest = 0
  let next = docs
  while (!done) {
    const t = performance.now()
    await db.put(doc(next++))
    const waited = performance.now() - t
    if (!done) during++
    slowest = Math.max(slowest, waited)
  }
  await compaction
  const cpuWindow = process.cpuUsage(cpuStart)
  await db.close()
  console.log(
    JSON.stringify({
      mode: 'explicit',
      docs,
      durability,
      compactMs: Math.round(compactMs),
      // CPU of the process from compact() until it resolved (the compaction and the puts made meanwhile).
      cpuMs: Math.round((cpuWindow.user + cpuWindow.system) / 1000),
      putsResolvedDuringCompaction: during,
      slowestPutMs: +slowest.toFixed(1),
    }),
  )

  // Automatic compaction at its default pacing.
  const auto = database('stall', options)
  await auto.get(doc(0)._id)
  const waits: number[] = []
  const cpu0 = process.cpuUsage()
  const start = performance.now()
  for (let i = 0; i < puts; i++) {
    const t = performance.now()
    await auto.put(doc(next++))
    waits.push(performance.now() - t)
  }
  const ms = performance.now() - start
  const cpu = process.cpuUsage(cpu0)
  await auto.close()
  waits.sort((a, b) => a - b)
  console.log(
    JSON.stringify({
      mode: 'automatic',
      docs,
      durability,
      puts,
      slowestPutMs: +waits[waits.length - 1]!.toFixed(1),
      p99PutMs: +waits[Math.floor(waits.length * 0.99)]!.toFixed(2),
      putsOver50ms: waits.filter((w) => w > 50).length,
      cpuMsPerPut: +((cpu.user + cpu.system) / 1000 / puts).toFixed(3),
      ms: Math.round(ms),
    }),
  )
} finally {
  rmSync(dir, { recursive: true, force: true })
}
