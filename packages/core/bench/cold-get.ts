// A get on a freshly opened large database: how many of its files it reads, how long it takes, and memory.
// Run: cd packages/core && node --conditions source --import tsx bench/cold-get.ts [docs] [docsPerTransaction]
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { database } from '@proj/core'

const [mode, ...args] = process.argv.slice(2)
const here = dirname(fileURLToPath(import.meta.url))

if (mode === '--child') {
  const [dir, id] = args as [string, string]
  const rssBefore = process.memoryUsage().rss
  const t = performance.now()
  const db = database('big', { dir })
  const doc = await db.get(id)
  const ms = performance.now() - t
  const filesRead = (globalThis as unknown as { __filesRead(): number }).__filesRead()
  const rssAfter = process.memoryUsage().rss
  console.log(JSON.stringify({ ms, filesRead, doc: doc._id, rssGrowthMB: (rssAfter - rssBefore) / 2 ** 20 }))
  await db.close()
} else {
  const docs = Number(mode ?? 100_000)
  const perTx = Number(args[0] ?? 100)
  const dir = mkdtempSync(join(tmpdir(), 'proj-cold-'))
  try {
    const db = database('big', { dir, compactEvery: Number(process.env.COMPACT_EVERY ?? 0) })
    let t = performance.now()
    for (let tx = 0; tx < docs / perTx; tx++) {
      await db.bulk(Array.from({ length: perTx }, (_, i) => ({ _id: `doc-${tx * perTx + i}`, title: 'x'.repeat(150), n: i })))
    }
    const writeMs = performance.now() - t
    await db.close()
    const files = readdirSync(join(dir, 'big', 'files')).length
    const runs = []
    for (const n of [7, 31_337, docs - 1]) {
      const out = execFileSync(
        process.execPath,
        ['--require', join(here, 'count-reads.cjs'), '--conditions', 'source', '--import', 'tsx', fileURLToPath(import.meta.url), '--child', dir, `doc-${n % docs}`],
        { encoding: 'utf8' },
      )
      runs.push(JSON.parse(out.trim().split('\n').pop()!))
    }
    console.log(`${docs} docs written in ${docs / perTx} transactions (${files} files) in ${writeMs.toFixed(0)} ms`)
    console.log('| cold get (fresh process) | time | files read | share of files | RSS growth |')
    console.log('| --- | --- | --- | --- | --- |')
    for (const run of runs) {
      console.log(`| ${run.doc} | ${run.ms.toFixed(1)} ms | ${run.filesRead} | ${((run.filesRead / files) * 100).toFixed(2)}% | ${run.rssGrowthMB.toFixed(1)} MB |`)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
