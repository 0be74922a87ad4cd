/**
 * What a long-running writer keeps (docs/DESIGN.md, Memory): single awaited puts to a few documents, the live
 * heap after a full GC and the RSS at every fifth of the run. Not a test: it prints.
 *   cd packages/core && node --expose-gc --import tsx bench/long-writer.ts [puts=180000] [documents=1000]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { database } from '../src/index.js'

const [putsArg = '180000', docsArg = '1000'] = process.argv.slice(2)
const puts = Number(putsArg)
const documents = Number(docsArg)
const gc = (globalThis as { gc?: () => void }).gc
if (!gc) throw new Error('run with node --expose-gc')
const dir = mkdtempSync(join(tmpdir(), 'long-writer-'))
const db = database('long', { dir, durability: 'process' })
const t0 = performance.now()
for (let i = 0; i < puts; i++) {
  await db.put({ _id: `doc-${String(i % documents).padStart(7, '0')}`, n: i, title: `Document number ${i}`, body: 'x'.repeat(80) })
  if ((i + 1) % Math.ceil(puts / 5) === 0 || i + 1 === puts) {
    gc()
    const m = process.memoryUsage()
    const mb = (x: number) => (x / 1e6).toFixed(1)
    console.log(`${i + 1} puts, ${((performance.now() - t0) / 1000).toFixed(1)} s: live heap ${mb(m.heapUsed)} MB, external ${mb(m.external)} MB, RSS ${mb(m.rss)} MB`)
  }
}
await db.close()
rmSync(dir, { recursive: true, force: true })
