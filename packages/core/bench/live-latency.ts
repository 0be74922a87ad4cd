// Live sync latency (issue 14): a put acknowledged on A until B's subscribe() sees that id, both databases in
// this process, connected to one push-capable in-memory backend (connector-tests' MemoryConnector, as the
// bench's W8b). Prints p50/p99 of the latencies, and the time from the first put to the last id seen on B.
// Run: cd packages/core && node --conditions source --import tsx bench/live-latency.ts [process|power] [n] [sequential|burst]
//   sequential: the next put starts when the previous id reached B (pure latency, no queueing);
//   burst (the bench's W8b): awaited puts back to back, B catches up while A writes.
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { database } from '@proj/core'
import { MemoryBackend, MemoryConnector } from '../../connector-tests/src/memory.ts'

const [durability = 'process', countArg = '200', mode = 'burst'] = process.argv.slice(2)
const count = Number(countArg)
if (durability !== 'process' && durability !== 'power') throw new Error(`durability must be process or power, got ${durability}`)
if (!Number.isInteger(count) || count < 1) throw new Error(`n must be a positive integer, got ${countArg}`)
if (mode !== 'sequential' && mode !== 'burst') throw new Error(`mode must be sequential or burst, got ${mode}`)

const dir = mkdtempSync(join(tmpdir(), 'proj-live-'))
const doc = (i: number) => ({ _id: `live-${String(i).padStart(6, '0')}`, n: i, title: `Document number ${i}`, body: 'x'.repeat(80) })

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!

try {
  const a = database('live', { dir: join(dir, 'a'), storage: 'file', durability })
  const b = database('live', { dir: join(dir, 'b'), storage: 'file', durability, key: await a.exportKey() })
  const backend = new MemoryBackend()
  const trace: [number, string][] = []
  const traced = (who: string) => {
    const c = new MemoryConnector(backend)
    if (!process.env.TRACE) return c
    for (const op of ['upload', 'download', 'save', 'load'] as const) {
      const orig = (c[op] as (...args: unknown[]) => Promise<unknown>).bind(c)
      ;(c as unknown as Record<string, unknown>)[op] = async (...args: unknown[]) => {
        const t = performance.now()
        try { return await orig(...args) } finally { trace.push([t, `${who} ${op} ${(performance.now() - t).toFixed(1)}`]) }
      }
    }
    const sub = c.subscribe.bind(c)
    c.subscribe = (db, br, on) => sub(db, br, (entries) => { trace.push([performance.now(), `${who} notified ${entries.length}`]); on(entries) })
    return c
  }
  const syncA = a.connect(traced('A'))
  await syncA.ready
  await syncA.flush()
  const syncB = b.connect(traced('B'))
  await syncB.ready

  const acked = new Map<string, number>()
  const seen = new Map<string, number>()
  const waiters = new Map<string, () => void>()
  b.subscribe((rows) => {
    const now = performance.now()
    for (const row of rows) {
      if (seen.has(row.key)) continue
      seen.set(row.key, now)
      trace.push([now, `B sees ${row.key}`])
      waiters.get(row.key)?.()
    }
  })
  const arrived = (id: string) => (seen.has(id) ? Promise.resolve() : new Promise<void>((resolve) => waiters.set(id, resolve)))

  const t0 = performance.now()
  for (let i = 0; i < count; i++) {
    const d = doc(i)
    await a.put(d)
    acked.set(d._id, performance.now())
    trace.push([performance.now(), `A acked ${d._id}`])
    if (mode === 'sequential') await arrived(d._id)
  }
  const writeMs = performance.now() - t0
  await arrived(doc(count - 1)._id)
  while (seen.size < count) await new Promise((resolve) => setTimeout(resolve, 5))
  const total = Math.max(...seen.values()) - t0
  const latencies = [...acked].map(([id, at]) => Math.max(0, seen.get(id)! - at)).sort((x, y) => x - y)
  const out = {
    durability,
    mode,
    n: count,
    'p50 ms': +quantile(latencies, 0.5).toFixed(1),
    'p99 ms': +quantile(latencies, 0.99).toFixed(1),
    'max ms': +latencies.at(-1)!.toFixed(1),
    'writes ms': Math.round(writeMs),
    'total ms': Math.round(total),
    'B downloads': syncB.progress.download.files,
    load: loadavg().map((x) => +x.toFixed(2)).join(' '),
  }
  console.log(JSON.stringify(out))
  if (process.env.TRACE) for (const [t, what] of trace.sort((x, y) => x[0] - y[0])) console.error((t - t0).toFixed(1), what)
  await syncA.close()
  await syncB.close()
  await a.close()
  await b.close()
} finally {
  rmSync(dir, { recursive: true, force: true })
}
