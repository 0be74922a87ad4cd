// A get on a freshly opened large database, in a fresh process per get: time, CPU, the bytes it reads (of the
// bytes stored) and memory. Stored files live in the write log's segments or files/, so reads are counted as
// bytes (/proc/self/io rchar), not as files opened.
// Run: cd packages/core && node --conditions source --import tsx bench/cold-get.ts [docs] [docsPerTransaction]
// (e.g. `10000 10000`: the bench's W6, one bulk; default 100 000 docs in transactions of 100.)
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { database } from '@proj/core'

const [mode, ...args] = process.argv.slice(2)
const readBytes = () => Number(/rchar: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))![1])

if (mode === '--child') {
  const [dir, id] = args as [string, string]
  const rssBefore = process.memoryUsage().rss
  const read0 = readBytes()
  const cpu0 = process.cpuUsage()
  const t = performance.now()
  const db = database('big', { dir })
  const doc = await db.get(id)
  const ms = performance.now() - t
  const cpu = process.cpuUsage(cpu0)
  const bytesRead = readBytes() - read0
  const rssAfter = process.memoryUsage().rss
  console.log(JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000, bytesRead, doc: doc._id, rssGrowthMB: (rssAfter - rssBefore) / 2 ** 20 }))
  await db.close()
} else {
  const docs = Number(mode ?? 100_000)
  const perTx = Number(args[0] ?? 100)
  const dir = mkdtempSync(join(tmpdir(), 'proj-cold-'))
  try {
    const db = database('big', { dir, compactEvery: Number(process.env.COMPACT_EVERY ?? 0) })
    const t = performance.now()
    for (let tx = 0; tx < docs / perTx; tx++) {
      await db.bulk(Array.from({ length: perTx }, (_, i) => ({ _id: `doc-${tx * perTx + i}`, title: 'x'.repeat(150), n: i })))
    }
    const writeMs = performance.now() - t
    const { files } = await db.info()
    await db.close()
    const runs = []
    for (const n of [7, 31_337, docs - 1]) {
      const out = execFileSync(
        process.execPath,
        ['--conditions', 'source', '--import', 'tsx', fileURLToPath(import.meta.url), '--child', dir, `doc-${n % docs}`],
        { encoding: 'utf8' },
      )
      runs.push(JSON.parse(out.trim().split('\n').pop()!))
    }
    console.log(`${docs} docs written in ${docs / perTx} transactions (${files.count} files, ${files.bytes} bytes) in ${writeMs.toFixed(0)} ms`)
    console.log('| cold get (fresh process) | time | CPU | bytes read | share of bytes stored | RSS growth |')
    console.log('| --- | --- | --- | --- | --- | --- |')
    for (const run of runs) {
      console.log(
        `| ${run.doc} | ${run.ms.toFixed(1)} ms | ${run.cpuMs.toFixed(1)} ms | ${run.bytesRead} | ${((run.bytesRead / files.bytes) * 100).toFixed(2)}% | ${run.rssGrowthMB.toFixed(1)} MB |`,
      )
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
