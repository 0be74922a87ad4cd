// Issue 6 performance figures, through a local `partykit dev` (this app's party) with two Node "devices":
// 1. latency from `put` on device A to the `subscribe` callback on device B (median, p99 over 200 writes);
// 2. time for a new device to become `ready` on a room holding 10k documents (and to read them all).
// Run: node scripts/pnpm.mjs --filter @proj/todo bench   (after `turbo run build`)
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { database, type Database } from '@proj/core'
import { connect } from '@proj/connect-partykit'
import { startDevServer } from '../test/dev-server.js'

const WRITES = Number(process.env.WRITES ?? 200)
const WARMUP = 10
const DOCS = Number(process.env.DOCS ?? 10_000)

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
const ms = (value: number) => `${value.toFixed(1)} ms`

const work = await mkdtemp(join(tmpdir(), 'proj-todo-bench-'))
const server = await startDevServer()
const device = (name: string, dir: string, key?: string): Database => database(name, { dir: join(work, dir), key })

try {
  // 1. put on A -> subscribe on B
  {
    const name = `latency-${Date.now().toString(36)}`
    const a = device(name, 'a')
    const b = device(name, 'b', await a.exportKey())
    const syncA = connect.partykit(a, server.url)
    const syncB = connect.partykit(b, server.url)
    await Promise.all([syncA.ready, syncB.ready])
    const waiting = new Map<string, (at: number) => void>()
    b.subscribe((changed) => {
      const at = performance.now()
      for (const row of changed) waiting.get(row.key)?.(at)
    })
    const samples: number[] = []
    for (let i = 0; i < WARMUP + WRITES; i++) {
      const id = `doc-${i}`
      const seen = new Promise<number>((resolve) => waiting.set(id, resolve))
      const start = performance.now()
      await a.put({ _id: id, title: `todo ${i}`, done: false })
      const at = await seen
      waiting.delete(id)
      if (i >= WARMUP) samples.push(at - start)
    }
    samples.sort((x, y) => x - y)
    console.log(`put on A -> subscribe on B, ${WRITES} sequential writes (after ${WARMUP} warm-up):`)
    console.log(`  median ${ms(percentile(samples, 50))}, p90 ${ms(percentile(samples, 90))}, p99 ${ms(percentile(samples, 99))}, max ${ms(samples.at(-1)!)}`)
    await Promise.all([syncA.close(), syncB.close()])
    await Promise.all([a.close(), b.close()])
  }

  // 2. a new device on a 10k-doc room
  {
    const name = `cold-${Date.now().toString(36)}`
    const writer = device(name, 'writer')
    const key = await writer.exportKey()
    const syncW = connect.partykit(writer, server.url)
    await syncW.ready
    const fillStart = performance.now()
    const BATCH = Number(process.env.BATCH ?? 1000)
    for (let i = 0; i < DOCS; i += BATCH) {
      const docs = Array.from({ length: Math.min(BATCH, DOCS - i) }, (_, j) => ({
        _id: `todo-${String(i + j).padStart(6, '0')}`,
        title: `todo number ${i + j}`,
        done: (i + j) % 3 === 0,
        created: 1_700_000_000_000 + i + j,
      }))
      await writer.bulk(docs)
    }
    await syncW.flush()
    console.log(`filled a room with ${DOCS} docs in ${DOCS / BATCH} transactions: ${ms(performance.now() - fillStart)} (write + flush)`)
    await syncW.close()
    await writer.close()

    for (const run of [1, 2, 3]) {
      const fresh = device(name, `fresh-${run}`, key)
      const start = performance.now()
      const sync = connect.partykit(fresh, server.url)
      await sync.ready
      const ready = performance.now() - start
      const { rows } = await fresh.allDocs()
      const all = performance.now() - start
      if (rows.length !== DOCS) throw new Error(`the new device read ${rows.length} docs, expected ${DOCS}`)
      console.log(`new device on the ${DOCS}-doc room (run ${run}): ready ${ms(ready)}, ready + allDocs (${rows.length} rows) ${ms(all)}`)
      await sync.close()
      await fresh.close()
    }
  }
} finally {
  await server.stop()
  await rm(work, { recursive: true, force: true })
}
