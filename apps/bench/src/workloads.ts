/** The workloads, run inside a child process against one system. Each verifies its data before it reports. */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { docId, makeDoc, makeDocs, rng, sameDoc, type BenchDoc } from './docs.js'
import { floorBulk, floorSingles } from './floor.js'
import type { BenchDb, System } from './systems.js'
import { diskUsage, median, peakRssMb, quantile, readChars, sleep, writtenChars } from './util.js'

/** What a child process reports for one workload (child.ts), as main.ts and scale.ts read it. */
export interface WorkloadResult {
  workload: string
  ok: boolean
  value?: number
  extra?: Record<string, number | string>
  error?: string
  rssMb: number
}

export interface Task {
  system: string
  workloads: string[]
  n: number
  /** A folder of this system's own; each workload works in a subfolder. */
  root: string
  /** The child is killed after this; wait loops give up a little earlier with a reason. */
  timeoutMs: number
  quick: boolean
}

export interface Measure {
  /** The headline number (see UNITS). */
  value: number
  extra?: Record<string, number | string>
}

export const UNITS: Record<string, { unit: string; higherIsBetter: boolean; title: string }> = {
  W1: { unit: 'puts/s', higherIsBetter: true, title: 'W1 1 000 single puts, awaited one by one' },
  W2: { unit: 'docs/s', higherIsBetter: true, title: 'W2 bulk write of N docs' },
  W3: { unit: 'gets/s', higherIsBetter: true, title: 'W3 N random gets' },
  W4: { unit: 'ms', higherIsBetter: false, title: 'W4 scan all N docs' },
  W5: { unit: 'ms/query', higherIsBetter: false, title: 'W5 range query returning 1% (with docs)' },
  W6: { unit: 'ms', higherIsBetter: false, title: 'W6 open an existing N-doc db + get one (fresh process)' },
  W7: { unit: 'MB', higherIsBetter: false, title: 'W7 bytes on disk for N docs (bulk-loaded)' },
  W8a: { unit: 'ms', higherIsBetter: false, title: 'W8a initial sync of N docs to an empty replica' },
  W8b: { unit: 'ms', higherIsBetter: false, title: 'W8b live sync of 1 000 writes (first put to last seen)' },
  W8c: {
    unit: 'ms',
    higherIsBetter: false,
    title: 'W8c live latency p50 through connect.partykit against `partykit dev` on 127.0.0.1, one put at a time (put acknowledged on A → seen on B)',
  },
  W9: { unit: 'B/put', higherIsBetter: false, title: 'W9 bytes written locally per single put of a ~200 B doc into an N-doc db (median)' },
}

/** W8c: puts made one at a time, each after the previous one reached B. */
const PARTYKIT_PUTS = 200
let SINGLE_PUTS = 1000
let LIVE_WRITES = 1000
/** W9: single puts measured one by one on the N-doc database. */
const BYTES_PUTS = 200
/** Quick mode writes fewer single puts and live writes (rates stay comparable), to finish under a minute. */
export function singleCounts(quick: boolean): { puts: number; live: number } {
  return quick ? { puts: 200, live: 200 } : { puts: 1000, live: 1000 }
}
const bigN = (task: Task) => (task.quick ? 10 * task.n : 100_000)

/** Files under the bench root opened through node:fs/promises (set up by child.ts when counting). */
export function fsCounter(): { files: Set<string> } {
  const g = globalThis as { __benchFs?: { files: Set<string> } }
  return (g.__benchFs ??= { files: new Set() })
}

function check(cond: boolean, message: string): void {
  // A check that fails is a result of this harness, not a verdict on the system: confirm with a repro first.
  if (!cond) throw new Error(`check failed: ${message}`)
}

async function loaded(sys: System, dir: string, n: number): Promise<{ db: BenchDb; docs: BenchDoc[] }> {
  const db = await sys.open(dir, 'bench')
  const docs = makeDocs(n)
  await db.bulk(docs)
  return { db, docs }
}

export async function runWorkload(sys: System | undefined, id: string, task: Task): Promise<Measure> {
  const n = task.n
  const dir = join(task.root, id)
  mkdirSync(dir, { recursive: true })
  const deadline = Date.now() + task.timeoutMs * 0.85
  ;({ puts: SINGLE_PUTS, live: LIVE_WRITES } = singleCounts(task.quick))

  if (task.system === 'floor') {
    if (id === 'W1') {
      const r = await floorSingles(dir, makeDocs(SINGLE_PUTS, 'single'))
      return { value: (SINGLE_PUTS / r.ms) * 1000, extra: { ms: r.ms } }
    }
    if (id === 'W2' || id === 'W7') {
      const r = await floorBulk(dir, makeDocs(n))
      return id === 'W2'
        ? { value: (n / r.ms) * 1000, extra: { ms: r.ms } }
        : { value: r.bytes / 1e6, extra: { bytes: r.bytes } }
    }
    if (id === 'W9') {
      // The floor's own write per put: the sealed doc (IV + ciphertext + tag), appended.
      const r = await floorSingles(dir, makeDocs(BYTES_PUTS, 'single'))
      return { value: r.bytes / BYTES_PUTS, extra: { p90: r.bytes / BYTES_PUTS } }
    }
    throw new Error(`floor has no ${id}`)
  }
  if (!sys) throw new Error('no system')

  switch (id) {
    case 'W1': {
      const db = await sys.open(dir, 'bench')
      const docs = makeDocs(SINGLE_PUTS, 'single')
      const t0 = performance.now()
      for (const doc of docs) await db.put(doc)
      const ms = performance.now() - t0
      const count = await db.count()
      check(count === SINGLE_PUTS, `${count} of ${SINGLE_PUTS} docs after ${SINGLE_PUTS} acknowledged puts`)
      await db.close()
      return { value: (SINGLE_PUTS / ms) * 1000, extra: { ms } }
    }
    case 'W2': {
      const db = await sys.open(dir, 'bench')
      const docs = makeDocs(n)
      const t0 = performance.now()
      await db.bulk(docs)
      const ms = performance.now() - t0
      const count = await db.count()
      check(count === n, `${count} of ${n} docs after bulk`)
      await db.close()
      return { value: (n / ms) * 1000, extra: { ms } }
    }
    case 'W3': {
      const { db, docs } = await loaded(sys, dir, n)
      const r = rng(42)
      const picks = Array.from({ length: n }, () => Math.floor(r() * n))
      const t0 = performance.now()
      const got: unknown[] = []
      for (const i of picks) got.push(await db.get(docId(i)))
      const ms = performance.now() - t0
      got.forEach((g, k) => check(sameDoc(g, docs[picks[k]!]!), `get(${docId(picks[k]!)}) returned ${JSON.stringify(g)}`))
      await db.close()
      return { value: (n / ms) * 1000, extra: { ms } }
    }
    case 'W4': {
      const { db } = await loaded(sys, dir, n)
      const t0 = performance.now()
      const rows = await db.scan()
      const ms = performance.now() - t0
      check(rows === n, `scan returned ${rows} of ${n}`)
      await db.close()
      return { value: ms }
    }
    case 'W5': {
      const { db } = await loaded(sys, dir, n)
      const width = Math.max(1, Math.floor(n / 100))
      const r = rng(7)
      const t0 = performance.now()
      const first = await db.range(0, width - 1)
      const firstMs = performance.now() - t0
      check(first === width, `range query returned ${first} of ${width}`)
      const times: number[] = []
      for (let q = 0; q < 20; q++) {
        const lo = Math.floor(r() * (n - width))
        const t = performance.now()
        const got = await db.range(lo, lo + width - 1)
        times.push(performance.now() - t)
        check(got === width, `range [${lo}, ${lo + width - 1}] returned ${got} of ${width}`)
      }
      await db.close()
      return { value: median(times), extra: { 'first query ms (builds the index)': firstMs } }
    }
    case 'W6prep': {
      // Also W7: bytes on disk of the bulk-loaded, closed database.
      const { db } = await loaded(sys, join(task.root, 'W6'), n)
      await db.close()
      const du = diskUsage(join(task.root, 'W6'))
      return { value: du.bytes / 1e6, extra: { bytes: du.bytes, files: du.files } }
    }
    case 'W6': {
      const target = makeDoc(Math.floor(n / 2))
      const heap0 = process.memoryUsage().heapUsed
      const rchar0 = readChars()
      const t0 = performance.now()
      const db = await sys.open(join(task.root, 'W6'), 'bench')
      const got = await db.get(target._id)
      const ms = performance.now() - t0
      const rchar = readChars() - rchar0
      const heapMb = (process.memoryUsage().heapUsed - heap0) / 1e6
      // The workload's own peak, before the check below (ours and PouchDB count with info(), Fireproof reads every doc).
      const peakAtGet = peakRssMb()
      check(sameDoc(got, target), `get(${target._id}) after reopen returned ${JSON.stringify(got)}`)
      const count = await db.count()
      check(count === n, `${count} of ${n} docs after reopen`)
      await db.close()
      return { value: ms, extra: { 'bytes read': rchar, 'heap growth MB': heapMb, 'peak RSS at get MB': peakAtGet } }
    }
    case 'W8a':
    case 'W8a.raw': {
      if (!sys.syncPair) throw new Error(`n/a: ${sys.noSync}`)
      const pair = await sys.syncPair(dir, 'bench', id.endsWith('.raw') ? 'raw' : 'memory')
      await pair.a.bulk(makeDocs(n))
      await pair.reopenA?.()
      const t0 = performance.now()
      await pair.startA()
      const pushMs = performance.now() - t0
      await pair.startB()
      let count = await pair.b.count()
      while (count < n && Date.now() < deadline) {
        await sleep(100)
        await pair.refreshB()
        count = await pair.b.count()
      }
      const ms = performance.now() - t0
      check(count === n, `replica has ${count} of ${n} docs after ${Math.round(ms)} ms (did not converge)`)
      const probe = makeDoc(n - 1)
      check(sameDoc(await pair.b.get(probe._id), probe), `replica's ${probe._id} differs`)
      await pair.stop()
      return { value: ms, extra: { 'push ms': pushMs, 'pull ms': ms - pushMs } }
    }
    case 'W8b':
    case 'W8b.raw': {
      if (!sys.syncPair) throw new Error(`n/a: ${sys.noSync}`)
      const pair = await sys.syncPair(dir, 'bench', id.endsWith('.raw') ? 'raw' : 'memory')
      await pair.startA()
      await pair.startB()
      const acked = new Map<string, number>()
      const seen = new Map<string, number>()
      pair.onBChange((ids) => {
        const now = performance.now()
        for (const x of ids) if (x.startsWith('live-') && !seen.has(x)) seen.set(x, now)
      })
      const docs = makeDocs(LIVE_WRITES, 'live')
      const t0 = performance.now()
      for (const doc of docs) {
        await pair.a.put(doc)
        acked.set(doc._id, performance.now())
      }
      const writeMs = performance.now() - t0
      while (seen.size < LIVE_WRITES && Date.now() < deadline) await sleep(5)
      const ms = performance.now() - t0
      const total = seen.size === LIVE_WRITES ? Math.max(...seen.values()) - t0 : ms
      check(
        seen.size === LIVE_WRITES,
        `replica saw ${seen.size} of ${LIVE_WRITES} live writes after ${Math.round(ms)} ms (did not converge)`,
      )
      const lat = [...seen].map(([k, t]) => Math.max(0, t - acked.get(k)!))
      const count = await pair.b.count()
      check(count === LIVE_WRITES, `replica holds ${count} of ${LIVE_WRITES}`)
      await pair.stop()
      return {
        value: total,
        extra: {
          'writes ms': writeMs,
          'latency p50 ms': median(lat),
          'latency p95 ms': quantile(lat, 0.95),
          'latency p99 ms': quantile(lat, 0.99),
        },
      }
    }
    case 'W8c': {
      // Latency without queueing: the next put starts once the previous one reached B (a burst through
      // `partykit dev` queues behind what the dev server stores per second, and measures that instead).
      if (!sys.id.startsWith('ours')) throw new Error('n/a: PartyKit is a transport of ours (connect-partykit); PouchDB has none')
      const pair = await sys.syncPair!(dir, 'bench', 'partykit')
      await pair.startA()
      await pair.startB()
      const seen = new Map<string, number>()
      const waiting = new Map<string, () => void>()
      pair.onBChange((ids) => {
        const now = performance.now()
        for (const x of ids) {
          if (seen.has(x)) continue
          seen.set(x, now)
          waiting.get(x)?.()
        }
      })
      const puts = task.quick ? 50 : PARTYKIT_PUTS
      const lat: number[] = []
      for (const doc of makeDocs(puts, 'party')) {
        const arrived = new Promise<void>((resolve) => waiting.set(doc._id, resolve))
        await pair.a.put(doc)
        const acked = performance.now()
        let timer: ReturnType<typeof setTimeout> | undefined
        const late = await new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), Math.max(0, deadline - Date.now()))
          void arrived.then(() => resolve(false))
        })
        clearTimeout(timer)
        if (late) break
        lat.push(Math.max(0, seen.get(doc._id)! - acked))
      }
      check(lat.length === puts, `replica saw ${lat.length} of ${puts} puts made one at a time (did not converge)`)
      const count = await pair.b.count()
      check(count === puts, `replica holds ${count} of ${puts}`)
      await pair.stop()
      return { value: median(lat), extra: { 'latency p99 ms': quantile(lat, 0.99), 'max ms': Math.max(...lat), puts } }
    }
    case 'W9': {
      // Bytes this process hands to write(2) (/proc/self/io wchar) during each awaited put, on an N-doc database
      // loaded in an earlier session. Also the mean over all puts including writes that land after a put
      // resolved (background work), up to 500 ms after the last one.
      const { db: loading } = await loaded(sys, dir, n)
      await loading.close()
      const db = await sys.open(dir, 'bench')
      const docs = makeDocs(BYTES_PUTS, 'single')
      if (writtenChars() < 0) throw new Error('n/a: /proc/self/io is not readable here')
      const per: number[] = []
      const w0 = writtenChars()
      for (const doc of docs) {
        const before = writtenChars()
        await db.put(doc)
        per.push(writtenChars() - before)
      }
      await sleep(500)
      const total = writtenChars() - w0
      const count = await db.count()
      check(count === n + BYTES_PUTS, `${count} of ${n + BYTES_PUTS} docs after ${BYTES_PUTS} acknowledged puts`)
      await db.close()
      return {
        value: median(per),
        extra: { p90: quantile(per, 0.9), 'mean incl. background': total / BYTES_PUTS, 'doc JSON bytes': JSON.stringify(docs[0]).length },
      }
    }
    case 'C5prep': {
      // Issue 3: a big database written the way an app writes it, many transactions (files), not one bulk.
      const big = bigN(task)
      const db = await sys.open(join(task.root, 'C5'), 'bench')
      for (let i = 0; i < big; i += 1000) await db.bulk(Array.from({ length: Math.min(1000, big - i) }, (_, k) => makeDoc(i + k)))
      await db.close()
      const du = diskUsage(join(task.root, 'C5'))
      return { value: du.bytes / 1e6, extra: { docs: big, bytes: du.bytes, files: du.files } }
    }
    case 'C5': {
      const big = bigN(task)
      const target = makeDoc(Math.floor(big * 0.37))
      const du = diskUsage(join(task.root, 'C5'))
      const opened = fsCounter()
      opened.files.clear()
      const heap0 = process.memoryUsage().heapUsed
      const rss0 = process.memoryUsage().rss
      const rchar0 = readChars()
      const t0 = performance.now()
      const db = await sys.open(join(task.root, 'C5'), 'bench')
      const got = await db.get(target._id)
      const ms = performance.now() - t0
      const rchar = readChars() - rchar0
      const filesRead = opened.files.size
      const mem = process.memoryUsage()
      check(sameDoc(got, target), `cold get(${target._id}) returned ${JSON.stringify(got)}`)
      await db.close()
      return {
        value: ms,
        extra: {
          docs: big,
          'files read': filesRead,
          'files total': du.files,
          'bytes read (rchar)': rchar,
          'bytes total': du.bytes,
          'heap growth MB': (mem.heapUsed - heap0) / 1e6,
          'rss growth MB': (mem.rss - rss0) / 1e6,
        },
      }
    }
    default:
      throw new Error(`unknown workload ${id}`)
  }
}
