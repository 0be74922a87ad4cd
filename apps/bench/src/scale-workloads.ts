/**
 * Scale workloads (`--scale`): how each cost grows with the database's size N. Each runs in a fresh child
 * process of its own (peak RSS is the workload's), on the N-doc database `S-load` wrote under `task.root/db`.
 * Ids ascend with n (doc-0000123), so the docs are generated batch by batch, never all N in memory.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { docId, makeDoc, rng, sameDoc } from './docs.js'
import type { System } from './systems.js'
import { diskUsage, median, readChars, writtenChars } from './util.js'
import type { Measure, Task } from './workloads.js'
import { fsCounter } from './workloads.js'

export const SCALE_BATCH = 1000
export const SCALE_PAGE = 1000
/** A range query returns this many docs, whatever N. */
export const SCALE_RANGE = 100
const RANGE_QUERIES = 10
/** More than the core's default compactEvery (100 files), so an automatic compaction falls in the run. */
const SINGLE_PUTS = 200

/** The workloads, in the order they run (S-put last: it changes the database). */
export const SCALE_WORKLOADS = ['S-load', 'S-open', 'S-page', 'S-range', 'S-put'] as const

function check(cond: boolean, message: string): void {
  if (!cond) throw new Error(`check failed: ${message}`)
}

const heapMb = () => process.memoryUsage().heapUsed / 1e6

export async function runScaleWorkload(sys: System, id: string, task: Task): Promise<Measure> {
  const n = task.n
  const dir = join(task.root, 'db')
  switch (id) {
    case 'S-load': {
      // Bulk load in transactions of 1 000 (an app importing data), timed end to end; then bytes on disk.
      mkdirSync(dir, { recursive: true })
      const db = await sys.open(dir, 'bench')
      const t0 = performance.now()
      let slowest = 0
      let lastBatchMs = 0
      for (let i = 0; i < n; i += SCALE_BATCH) {
        const batch = Array.from({ length: Math.min(SCALE_BATCH, n - i) }, (_, k) => makeDoc(i + k))
        const t = performance.now()
        await db.bulk(batch)
        lastBatchMs = performance.now() - t
        slowest = Math.max(slowest, lastBatchMs)
      }
      const ms = performance.now() - t0
      await db.close()
      const du = diskUsage(dir)
      return {
        value: (n / ms) * 1000,
        extra: { ms, 'last batch ms': lastBatchMs, 'slowest batch ms': slowest, 'disk bytes': du.bytes, files: du.files, 'heap MB at end': heapMb() },
      }
    }
    case 'S-open': {
      // A fresh process opens the N-doc database and reads one doc: time, bytes read, files opened.
      const target = makeDoc(Math.floor(n * 0.37))
      const opened = fsCounter()
      opened.files.clear()
      const rchar0 = readChars()
      const t0 = performance.now()
      const db = await sys.open(dir, 'bench')
      const got = await db.get(target._id)
      const ms = performance.now() - t0
      const rchar = readChars() - rchar0
      const filesRead = opened.files.size
      check(sameDoc(got, target), `get(${target._id}) after a cold open returned ${JSON.stringify(got)}`)
      const heap = heapMb()
      await db.close()
      const du = diskUsage(dir)
      return { value: ms, extra: { 'bytes read': rchar, 'files opened': filesRead, 'files total': du.files, 'disk bytes': du.bytes, 'heap MB': heap } }
    }
    case 'S-page': {
      // Every doc, in pages of 1 000, each page starting after the previous page's last id.
      const db = await sys.open(dir, 'bench')
      const t0 = performance.now()
      let after: string | undefined
      let count = 0
      let firstPageMs = 0
      let lastPageMs = 0
      let pages = 0
      for (;;) {
        const t = performance.now()
        const ids = await db.page(after, SCALE_PAGE)
        const pageMs = performance.now() - t
        if (ids.length === 0) break
        if (pages === 0) firstPageMs = pageMs
        lastPageMs = pageMs
        check(ids[0] === docId(count), `page ${pages} starts at ${ids[0]}, expected ${docId(count)}`)
        count += ids.length
        after = ids.at(-1)
        pages++
      }
      const ms = performance.now() - t0
      check(count === n, `paging read ${count} of ${n} docs`)
      const heap = heapMb()
      await db.close()
      return { value: ms, extra: { pages, 'first page ms': firstPageMs, 'last page ms': lastPageMs, 'heap MB': heap } }
    }
    case 'S-range': {
      // A range of `n` returning 100 docs with their bodies: the first query (which builds a secondary index
      // where the system needs one), then the median of 10 more at random places.
      const db = await sys.open(dir, 'bench')
      const t0 = performance.now()
      const first = await db.range(0, SCALE_RANGE - 1)
      const firstMs = performance.now() - t0
      check(first === SCALE_RANGE, `range query returned ${first} of ${SCALE_RANGE}`)
      const r = rng(11)
      const times: number[] = []
      const pageTimes: number[] = []
      for (let q = 0; q < RANGE_QUERIES; q++) {
        const lo = 1 + Math.floor(r() * (n - SCALE_RANGE - 1))
        let t = performance.now()
        const got = await db.range(lo, lo + SCALE_RANGE - 1)
        times.push(performance.now() - t)
        check(got === SCALE_RANGE, `range [${lo}, ${lo + SCALE_RANGE - 1}] returned ${got} of ${SCALE_RANGE}`)
        // The same docs as an id range on the primary index (allDocs after + limit).
        t = performance.now()
        const ids = await db.page(docId(lo - 1), SCALE_RANGE)
        pageTimes.push(performance.now() - t)
        check(ids.length === SCALE_RANGE && ids[0] === docId(lo), `id range after ${docId(lo - 1)} returned ${ids.length} from ${ids[0]}`)
      }
      const heap = heapMb()
      await db.close()
      return { value: median(times), extra: { 'first query ms': firstMs, 'id range ms': median(pageTimes), 'heap MB': heap } }
    }
    case 'S-put': {
      // Single awaited puts into the N-doc database: time and bytes handed to write(2) per put (median), and
      // the mean over all of them including what runs in the background until close() (an automatic
      // compaction: O(change) per put or O(database)?).
      const db = await sys.open(dir, 'bench')
      await db.get(docId(0)) // the open itself is S-open's
      const per: number[] = []
      const bytes: number[] = []
      const w0 = writtenChars()
      const t0 = performance.now()
      for (let i = 0; i < SINGLE_PUTS; i++) {
        const doc = makeDoc(i, 'scale-put')
        const w = writtenChars()
        const t = performance.now()
        await db.put(doc)
        per.push(performance.now() - t)
        bytes.push(writtenChars() - w)
      }
      const got = await db.get(docId(SINGLE_PUTS - 1, 'scale-put'))
      check(sameDoc(got, makeDoc(SINGLE_PUTS - 1, 'scale-put')), 'the last single put reads back')
      await db.close()
      const totalMs = performance.now() - t0
      const total = writtenChars() - w0
      return {
        value: median(per),
        extra: {
          'bytes written per put': median(bytes),
          'max bytes one put': Math.max(...bytes),
          'mean bytes per put incl. background': total / SINGLE_PUTS,
          'mean ms per put incl. close': totalMs / SINGLE_PUTS,
          puts: SINGLE_PUTS,
        },
      }
    }
    default:
      throw new Error(`unknown scale workload ${id}`)
  }
}
