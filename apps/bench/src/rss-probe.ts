/**
 * Where a workload's resident memory goes: process.memoryUsage() and VmHWM at each phase of W1 (1 000 awaited
 * puts) or W6 (cold open of a bulk-loaded N-doc db + get one, then the count the bench checks with), each value
 * also after a forced full GC, so live data (heap after GC) is told apart from garbage not yet collected and from
 * the module baseline. One system per process, as in the bench:
 *
 *   node --expose-gc --import tsx apps/bench/src/rss-probe.ts <system> W1|W6|W8b [n] [--no-gc]
 *   ... rss-probe.ts <system> W1 --alloc     also: bytes the JS heap allocates per put (V8's sampling heap
 *        profiler, counting objects already collected), by function: what drives the young generation's growth
 *
 * Prints one JSON line per phase. W6 writes its db first in a child process of its own (so the reopen is cold).
 */
import { spawnSync } from 'node:child_process'
import { Session } from 'node:inspector/promises'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
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
  if (workload === 'W8b') {
    // Two databases in this process, live sync through the in-memory connector, as the bench's W8b.
    const pair = await sys.syncPair!(dir, 'bench', 'memory')
    await pair.startA()
    await pair.startB()
    const seen = new Set<string>()
    pair.onBChange((ids) => ids.forEach((id) => seen.add(id)))
    const docs = makeDocs(1000, 'live')
    phase('pair started, docs made')
    const sampling = await startAllocationSampling()
    for (let i = 0; i < docs.length; i++) {
      await pair.a.put(docs[i]!)
      if ((i + 1) % 250 === 0) phase(`${i + 1} puts on A`, false)
    }
    while (seen.size < docs.length) await new Promise((resolve) => setTimeout(resolve, 5))
    await sampling?.(docs.length)
    phase(`B saw ${seen.size}`)
    await pair.stop()
    phase('stopped')
    process.exit(0)
  }
  const db = await sys.open(dir, 'bench')
  if (workload === 'W1') {
    const docs = makeDocs(1000, 'single')
    phase('opened, docs made')
    const sampling = await startAllocationSampling()
    for (let i = 0; i < docs.length; i++) {
      await db.put(docs[i]!)
      if ((i + 1) % 250 === 0) phase(`${i + 1} puts`, false)
    }
    await sampling?.(docs.length)
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

/** With --alloc: starts V8's sampling heap profiler (collected objects included); call the result to print it per put. */
async function startAllocationSampling(): Promise<((puts: number) => Promise<void>) | undefined> {
  if (!process.argv.includes('--alloc')) return undefined
  const session = new Session()
  session.connect()
  await session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as never)
  return async (puts) => printAllocations(((await session.post('HeapProfiler.stopSampling')) as { profile: SamplingProfile }).profile, puts)
}

interface SamplingNode {
  callFrame: { functionName: string; url: string }
  selfSize: number
  children: SamplingNode[]
}
interface SamplingProfile {
  head: SamplingNode
}

/** Allocated KB per put by function: self, and inclusive for the core's own functions. */
function printAllocations(profile: SamplingProfile, puts: number): void {
  // ALLOC_PROFILE=<file.heapprofile>: the whole profile too, for DevTools or a by-caller breakdown.
  if (process.env.ALLOC_PROFILE) writeFileSync(process.env.ALLOC_PROFILE, JSON.stringify(profile))
  const self = new Map<string, number>()
  const inclusive = new Map<string, number>()
  let total = 0
  const walk = (node: SamplingNode, stack: string[]) => {
    const f = node.callFrame
    const name = `${f.functionName || '(anonymous)'} ${f.url.replace(/.*\/(packages|node_modules)\//, '$1/')}`
    total += node.selfSize
    self.set(name, (self.get(name) ?? 0) + node.selfSize)
    const here = [...stack, name]
    for (const frame of new Set(here)) inclusive.set(frame, (inclusive.get(frame) ?? 0) + node.selfSize)
    for (const child of node.children) walk(child, here)
  }
  walk(profile.head, [])
  const kb = (bytes: number) => Math.round((bytes / puts / 1024) * 10) / 10
  const top = (m: Map<string, number>, keep: (name: string) => boolean) =>
    [...m].filter(([name]) => keep(name)).sort((a, b) => b[1] - a[1]).slice(0, 20).map(([name, bytes]) => [kb(bytes), name])
  console.log(JSON.stringify({ allocatedKbPerPut: kb(total), self: top(self, () => true), inclusiveCore: top(inclusive, (name) => name.includes('packages/core')) }))
}
