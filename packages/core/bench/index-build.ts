/**
 * What building a persisted secondary index costs: the first `query(field)` on a database that never built it.
 * Bulk-loads N docs (transactions of 1000) into a template directory once (in a child process), then copies
 * it, opens the copy in this process and measures the first query: wall time, CPU time (process.cpuUsage) and the peak
 * RSS during the build (VmHWM, reset through /proc/self/clear_refs after the reopen). Not a test: it prints.
 *   cd packages/core && ../../node_modules/.bin/tsx bench/index-build.ts [docs=10000] [field=n]
 * `n` grows with the doc id (the bench's shape: rows come out in index order); `r` scatters n (rows in no order).
 * CACHE_BYTES=n opens with that block cache (option cacheBytes). TEMPLATE=dir keeps (or reuses) the loaded template there instead of a temp dir.
 */
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { database } from '../src/index.js'

const N = Number(process.argv[2] ?? 10_000)
const FIELD = process.argv[3] ?? 'n'
const BATCH = 1000
const template = process.env.TEMPLATE ?? mkdtempSync(join(tmpdir(), 'proj-index-build-'))

function statusKb(field: string): number {
  const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith(field + ':'))
  return line ? Number(line.split(/\s+/)[1]) : NaN
}
const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MB`

async function load(dir: string): Promise<void> {
  const db = database('bench', { dir })
  const t = performance.now()
  for (let i = 0; i < N; i += BATCH) {
    await db.bulk(
      Array.from({ length: Math.min(BATCH, N - i) }, (_, j) => {
        const n = i + j
        return {
          _id: `doc-${String(n).padStart(7, '0')}`,
          n,
          // Knuth's multiplicative hash: a fixed scatter of n, so rows come out of id order in no order.
          r: Math.imul(n, 2654435761) >>> 0,
          title: `item ${n}`,
          owner: `user-${n % 100}`,
          body: 'x'.repeat(120),
        }
      }),
    )
  }
  await db.close()
  console.log(`loaded ${N} docs in transactions of ${BATCH}: ${((performance.now() - t) / 1000).toFixed(1)} s`)
}

const marker = join(template, `loaded-${N}`)
if (process.env.INDEX_BUILD_LOAD_ONLY) {
  await load(template)
  writeFileSync(marker, '')
  process.exit(0)
}
// Loaded by a process of its own, so the measured one starts from an open, not from the load's heap.
if (!existsSync(marker)) {
  const child = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, TEMPLATE: template, INDEX_BUILD_LOAD_ONLY: '1' },
  })
  if (child.status !== 0) throw new Error(`loading the template failed (exit ${child.status})`)
}

{
  const dir = mkdtempSync(join(tmpdir(), 'proj-index-run-'))
  try {
    cpSync(template, dir, { recursive: true })
    const db = database('bench', { dir, ...(process.env.CACHE_BYTES ? { cacheBytes: Number(process.env.CACHE_BYTES) } : {}) })
    await db.get('doc-0000000').catch(() => undefined)
    globalThis.gc?.()
    const rssBefore = statusKb('VmRSS')
    let reset = true
    try {
      writeFileSync('/proc/self/clear_refs', '5')
    } catch {
      reset = false
    }
    const cpu = process.cpuUsage()
    const t = performance.now()
    const { rows } = await db.query(FIELD, { limit: 1 })
    const wall = performance.now() - t
    const { user, system } = process.cpuUsage(cpu)
    const peak = statusKb('VmHWM')
    console.log(
      `N=${N} field=${FIELD}: first query (builds the index) ${(wall / 1000).toFixed(2)} s wall, ` +
        `cpu ${((user + system) / 1e6).toFixed(2)} s (user ${(user / 1e6).toFixed(2)}), ` +
        `RSS before ${mb(rssBefore)}, peak during build ${mb(peak)}${reset ? '' : ' (peak of the whole process: clear_refs refused)'}, ` +
        `rows ${rows.length}`,
    )
    await db.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
if (!process.env.TEMPLATE) rmSync(template, { recursive: true, force: true })
