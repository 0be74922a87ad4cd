// Live sync latency (issue 14): a put acknowledged on A until B's subscribe() sees that id, both databases in
// this process, connected to one push-capable backend: connector-tests' in-memory MemoryConnector (as the
// bench's W8b), or connect-partykit against a real `partykit dev` started here. Prints p50/p99 of the
// latencies, and the time from the first put to the last id seen on B.
// Run: cd packages/core && node --conditions source --import tsx bench/live-latency.ts [process|power] [n] [burst|sequential] [memory|partykit]
//   burst (the bench's W8b): awaited puts back to back, B catches up while A writes;
//   sequential: the next put starts when the previous id reached B (latency without queueing).
// TRACE=1 prints every connector call and delivery on stderr; YIELD=1 lets the writer yield a macrotask
// after each put (as an app driven by events does).
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { database } from '@proj/core'
import type { Connector } from '@proj/core/connector'
import { MemoryBackend, MemoryConnector } from '../../connector-tests/src/memory.ts'

const [durability = 'process', countArg = '200', mode = 'burst', transport = 'memory'] = process.argv.slice(2)
const count = Number(countArg)
if (durability !== 'process' && durability !== 'power') throw new Error(`durability must be process or power, got ${durability}`)
if (!Number.isInteger(count) || count < 1) throw new Error(`n must be a positive integer, got ${countArg}`)
if (mode !== 'sequential' && mode !== 'burst') throw new Error(`mode must be sequential or burst, got ${mode}`)
if (transport !== 'memory' && transport !== 'partykit') throw new Error(`transport must be memory or partykit, got ${transport}`)

const dir = mkdtempSync(join(tmpdir(), 'proj-live-'))
const doc = (i: number) => ({ _id: `live-${String(i).padStart(6, '0')}`, n: i, title: `Document number ${i}`, body: 'x'.repeat(80) })

/** connect-partykit's party server under the real `partykit dev` (its test fixture), as its tests start it. */
async function startPartykit(): Promise<{ url: string; stop(): Promise<void> }> {
  const { startPartykitDev } = await import('../../test-utils/src/partykit-dev.ts')
  const packageDir = join(import.meta.dirname, '..', '..', 'connect-partykit')
  return startPartykitDev({ cwd: packageDir, config: join(packageDir, 'test', 'fixture', 'partykit.json') })
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!

try {
  const a = database('live', { dir: join(dir, 'a'), storage: 'file', durability })
  const b = database('live', { dir: join(dir, 'b'), storage: 'file', durability, key: await a.exportKey() })
  const backend = new MemoryBackend()
  const partykit = transport === 'partykit' ? await startPartykit() : undefined
  const room = `live-${process.pid}`
  const makeConnector = async (): Promise<Connector> => {
    if (!partykit) return new MemoryConnector(backend)
    const { partykitConnector } = await import('../../connect-partykit/src/index.ts')
    return partykitConnector(partykit.url, { room })
  }
  const trace: [number, string][] = []
  const traced = async (who: string) => {
    const c = await makeConnector()
    if (!process.env.TRACE) return c
    for (const op of ['upload', 'download', 'save', 'load'] as const) {
      const orig = (c[op] as (...args: unknown[]) => Promise<unknown>).bind(c)
      ;(c as unknown as Record<string, unknown>)[op] = async (...args: unknown[]) => {
        const t = performance.now()
        try { return await orig(...args) } finally { trace.push([t, `${who} ${op} ${(performance.now() - t).toFixed(1)}`]) }
      }
    }
    const sub = c.subscribe!.bind(c)
    c.subscribe = (db, br, on) => sub(db, br, (entries, replaced) => { trace.push([performance.now(), `${who} notified ${entries.length}`]); on(entries, replaced) })
    return c
  }
  const syncA = a.connect(await traced('A'))
  await syncA.ready
  await syncA.flush()
  const syncB = b.connect(await traced('B'))
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

  // Event-loop turns while A writes: 0 means the writer never let timers or I/O run (B's reads included).
  let writing = true
  let turns = 0
  void (async () => {
    while (writing) {
      await new Promise((resolve) => setImmediate(resolve))
      turns++
    }
  })()
  const t0 = performance.now()
  for (let i = 0; i < count; i++) {
    const d = doc(i)
    await a.put(d)
    acked.set(d._id, performance.now())
    trace.push([performance.now(), `A acked ${d._id}`])
    if (mode === 'sequential') await arrived(d._id)
    if (process.env.YIELD) await new Promise((resolve) => setImmediate(resolve))
  }
  const writeMs = performance.now() - t0
  writing = false
  await arrived(doc(count - 1)._id)
  while (seen.size < count) await new Promise((resolve) => setTimeout(resolve, 5))
  const total = Math.max(...seen.values()) - t0
  const latencies = [...acked].map(([id, at]) => Math.max(0, seen.get(id)! - at)).sort((x, y) => x - y)
  const out = {
    durability,
    mode,
    transport,
    n: count,
    'p50 ms': +quantile(latencies, 0.5).toFixed(1),
    'p99 ms': +quantile(latencies, 0.99).toFixed(1),
    'max ms': +latencies.at(-1)!.toFixed(1),
    'writes ms': Math.round(writeMs),
    'total ms': Math.round(total),
    'B downloads': syncB.progress.download.files,
    'loop turns while writing': turns,
    load: loadavg().map((x) => +x.toFixed(2)).join(' '),
  }
  console.log(JSON.stringify(out))
  if (process.env.TRACE) for (const [t, what] of trace.sort((x, y) => x[0] - y[0])) console.error((t - t0).toFixed(1), what)
  await syncA.close()
  await syncB.close()
  await a.close()
  await b.close()
  await partykit?.stop()
} finally {
  rmSync(dir, { recursive: true, force: true })
}
