/**
 * Where a workload's resident memory goes: process.memoryUsage() and VmHWM at each phase of W1 (1 000 awaited
 * puts) or W6 (cold open of a bulk-loaded N-doc db + get one, then the count the bench checks with), each value
 * also after a forced full GC, so live data (heap after GC) is told apart from garbage not yet collected and from
 * the module baseline. One system per process, as in the bench:
 *
 *   node --expose-gc --conditions source --import tsx apps/bench/src/rss-probe.ts <system> W1|W6 [n] [--no-gc]
 *
 * Prints one JSON line per phase. W6 writes its db first in a child process of its own (so the reopen is cold).
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { makeDoc, makeDocs } from './docs.js'
import { loadSystem } from './systems.js'
import { peakRssMb } from './util.js'

const [system = 'ours', workload = 'W1', nArg = '10000'] = process.argv.slice(2).filter((a) => !a.startsWith('--'))
const n = Number(nArg)
const gcEach = !process.argv.includes('--no-gc')
const gc = (globalThis as { gc?: () => void }).gc
const mb = (x: number) => Math.round(x / 2 ** 20 * 10) / 10

function phase(name: string, collect = gcEach): void {
  const before = process.memoryUsage()
  const line: Record<string, unknown> = {
    phase: name,
    rss: mb(before.rss),
    heapUsed: mb(before.heapUsed),
    heapTotal: mb(before.heapTotal),
    external: mb(before.external),
    arrayBuffers: mb(before.arrayBuffers),
    peakRss: Math.round(peakRssMb() * 10) / 10,
  }
  if (collect && gc) {
    gc()
    const after = process.memoryUsage()
    Object.assign(line, { gcHeapUsed: mb(after.heapUsed), gcExternal: mb(after.external), gcRss: mb(after.rss) })
  }
  console.log(JSON.stringify(line))
}

const root = process.env.RSS_PROBE_ROOT
if (process.env.RSS_PROBE_PREP) {
  // The W6 database, written in this (separate) process.
  const sys = await loadSystem(system)
  const db = await sys.open(root!, 'bench')
  await db.bulk(makeDocs(n))
  await db.close()
  process.exit(0)
}

const dir = root ?? mkdtempSync(join(os.tmpdir(), 'rss-probe-'))
try {
  if (workload === 'W6' && !root) {
    const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), system, workload, String(n)], {
      env: { ...process.env, RSS_PROBE_PREP: '1', RSS_PROBE_ROOT: dir },
      stdio: 'inherit',
    })
    if (r.status !== 0) throw new Error(`prep failed (${r.status})`)
  }
  phase('start')
  const sys = await loadSystem(system)
  phase('system loaded')
  const db = await sys.open(dir, 'bench')
  if (workload === 'W1') {
    const docs = makeDocs(1000, 'single')
    phase('opened, docs made')
    for (let i = 0; i < docs.length; i++) {
      await db.put(docs[i]!)
      if ((i + 1) % 250 === 0) phase(`${i + 1} puts`, false)
    }
    phase('1000 puts')
    const count = await db.count()
    phase(`count ${count}`)
  } else {
    const got = await db.get(makeDoc(Math.floor(n / 2))._id)
    phase(`get ${got ? 'ok' : 'missing'}`)
    const count = await db.count()
    phase(`count ${count}`)
  }
  await db.close()
  phase('closed')
} finally {
  if (!root) rmSync(dir, { recursive: true, force: true })
}
