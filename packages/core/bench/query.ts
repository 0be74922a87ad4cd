/**
 * Query and history figures on a 100k-document database (file storage, a temp dir). Not a test: it prints.
 *   cd packages/core && ../../node_modules/.bin/tsx bench/query.ts [docs=100000]
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { database } from '../src/index.js'

const N = Number(process.argv[2] ?? 100_000)
const dir = mkdtempSync(join(tmpdir(), 'proj-bench-'))
const ms = (start: number) => `${(performance.now() - start).toFixed(1)} ms`
const files = () => readdirSync(join(dir, 'bench', 'files')).length

try {
  let t = performance.now()
  const db = database('bench', { dir, compactEvery: 0 })
  for (let i = 0; i < N; i += 10_000) {
    await db.bulk(
      Array.from({ length: Math.min(10_000, N - i) }, (_, j) => {
        const n = i + j
        return { _id: `doc${String(n).padStart(7, '0')}`, n, group: n % 100, title: `title ${n}` }
      }),
    )
  }
  console.log(`load ${N} docs in bulks of 10k: ${ms(t)}`)

  t = performance.now()
  await db.query('n', { limit: 1 })
  console.log(`first query, builds the 'n' index over ${N} docs: ${ms(t)}`)

  t = performance.now()
  const { rows } = await db.query('n', { range: [N / 2, N / 2 + 99] })
  console.log(`range query returning ${rows.length} rows (index current): ${ms(t)}`)
  t = performance.now()
  const desc = await db.query('n', { range: [1000, N], descending: true, limit: 100, includeDocs: true })
  console.log(`descending range, limit 100, includeDocs (${desc.rows.length} rows): ${ms(t)}`)
  await db.close()

  const before = files()
  t = performance.now()
  const again = database('bench', { dir, compactEvery: 0 })
  const reopened = await again.query('n', { range: [N / 4, N / 4 + 99] })
  console.log(
    `first query after reopen (${reopened.rows.length} rows, persisted index, files written: ${files() - before}): ${ms(t)}`,
  )

  const since = await again.clock()
  for (let i = 0; i < 10; i++) await again.put({ _id: `doc${String(i * 997).padStart(7, '0')}`, n: -i })
  t = performance.now()
  const changes = await again.changes(since)
  console.log(`changes(since) after 10 writes (${changes.rows.length} rows): ${ms(t)}`)
  t = performance.now()
  const after = await again.query('n', { range: [-9, 0] })
  console.log(`query after those 10 writes (incremental index update, ${after.rows.length} rows): ${ms(t)}`)

  t = performance.now()
  await again.compact()
  console.log(`compact() ${N} docs + index: ${ms(t)}, files now ${files()}`)
  await again.close()
} finally {
  rmSync(dir, { recursive: true, force: true })
}
