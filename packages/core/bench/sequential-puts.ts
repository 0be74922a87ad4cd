// Sequential awaited puts into a fresh database (issue 14, W1): puts/s and bytes written per put.
// Run: cd packages/core && node --conditions source --import tsx bench/sequential-puts.ts [durability] [puts] [preloaded docs] [storage]
// COMPACT=1 keeps automatic compaction at its default (the bench W1 does); without it compactEvery is 0.
// CPU: user + system time of this process per put (less sensitive than puts/s to other load on the machine).
// Bytes: `wchar` of /proc/self/io (every byte handed to write(2)/pwrite(2), records and temp files included).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { database } from '@proj/core'

const [durability = 'power', putsArg = '2000', preloadArg = '0', storage = 'file'] = process.argv.slice(2)
const puts = Number(putsArg)
const preload = Number(preloadArg)

function written(): number {
  const io = readFileSync('/proc/self/io', 'utf8')
  return Number(/wchar: (\d+)/.exec(io)![1])
}

const doc = (i: number) => ({
  _id: `doc-${String(i).padStart(7, '0')}`,
  n: i,
  title: `Document number ${i}`,
  done: i % 3 === 0,
  owner: `user-${i % 17}`,
  tags: ['alpha', 'beta', 'gamma'].slice(0, 1 + (i % 3)),
  body: 'x'.repeat(80),
})

const dir = mkdtempSync(join(tmpdir(), 'proj-seq-'))
try {
  const db = database('seq', { dir, storage, ...(process.env.COMPACT ? {} : { compactEvery: 0 }), durability } as Parameters<typeof database>[1])
  for (let i = 0; i < preload; i += 1000) await db.bulk(Array.from({ length: Math.min(1000, preload - i) }, (_, k) => doc(i + k)))
  await db.get(doc(0)._id).catch(() => undefined)
  const before = written()
  const cpu0 = process.cpuUsage()
  const start = performance.now()
  for (let i = 0; i < puts; i++) await db.put(doc(preload + i))
  const ms = performance.now() - start
  const cpu = process.cpuUsage(cpu0)
  const bytes = written() - before
  const closing = performance.now()
  await db.close()
  const closeMs = performance.now() - closing
  // The write log ('process') is moved into files/ when the last instance closes: those bytes count too.
  const bytesWithClose = written() - before
  console.log(
    JSON.stringify({ storage, durability, puts, preload, putsPerSecond: Math.round((puts / ms) * 1000), cpuMsPerPut: +((cpu.user + cpu.system) / 1000 / puts).toFixed(3), bytesWrittenPerPut: Math.round(bytes / puts), ms: Math.round(ms), closeMs: Math.round(closeMs), bytesPerPutWithClose: Math.round(bytesWithClose / puts) }),
  )
} finally {
  rmSync(dir, { recursive: true, force: true })
}
