/**
 * Soak: N replicas of our database, each syncing through a fault-injecting connector (FaultyConnector from
 * @proj/connector-tests around one shared MemoryBackend: calls fail before or after reaching the backend,
 * run twice, are delayed and so reordered, pushes dropped; ~30% failures), doing random puts and dels for a
 * fixed time. Then the faults stop and we measure the time until every replica holds the same state, and check
 * that no acknowledged write was lost. Bounded: every loop has a deadline; the process stops by itself.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { rng } from './docs.js'
import { sleep } from './util.js'

interface Options {
  seconds: number
  replicas: number
  seed: number
  write: boolean
  out: string
}

type Final = { deleted: true } | { v: number; by: number }
const show = (f: Final | undefined) => (f === undefined ? 'absent' : 'deleted' in f ? 'deleted' : `v${f.v}@r${f.by}`)

export async function runSoak(o: Options): Promise<void> {
  const { database } = await import('@proj/core')
  const { MemoryBackend, MemoryConnector, FaultyConnector } = await import('@proj/connector-tests')
  const root = mkdtempSync(join(os.tmpdir(), 'bench-soak-'))
  const random = rng(o.seed)
  const backend = new MemoryBackend()
  const first = database('soak', { dir: join(root, 'r0'), storage: 'file' })
  const key = await first.exportKey()
  const dbs = [first]
  for (let i = 1; i < o.replicas; i++) dbs.push(database('soak', { dir: join(root, `r${i}`), storage: 'file', key }))
  const faulty = dbs.map((_, i) => new FaultyConnector(new MemoryConnector(backend), o.seed * 1000 + i, { failure: 0.3 }))
  const errors = { sync: 0 }
  const syncs = dbs.map((db, i) => {
    const s = db.connect(faulty[i]!, { pollInterval: 200, maxBackoff: 500, flushTimeout: 5_000 })
    s.on('error', () => errors.sync++)
    return s
  })
  console.log(`soak: ${o.replicas} replicas, ${o.seconds} s of faults (seed ${o.seed}), folder ${root}`)

  // What was acknowledged. Own ids (r<i>-<k>) are written by one replica only: their final state must be that
  // replica's last acknowledged op. Shared ids are written concurrently: the final state must be one of the
  // acknowledged values (or a delete), and the same on every replica.
  const lastOwn = new Map<string, Final>()
  const sharedAcked = new Map<string, Set<string>>()
  let acknowledged = 0
  let failedWrites = 0
  let seq = 0
  const end = Date.now() + o.seconds * 1000
  const workers = dbs.map(async (db, i) => {
    const r = rng(o.seed * 7 + i)
    while (Date.now() < end) {
      const shared = r() < 0.3
      const id = shared ? `s-${Math.floor(r() * 20)}` : `r${i}-${Math.floor(r() * 100)}`
      const del = r() < 0.2
      const v = ++seq
      try {
        if (del) {
          try {
            await db.del(id)
          } catch (e) {
            if ((e as Error).name !== 'NotFoundError') throw e
          }
        } else await db.put({ _id: id, v, by: i, pad: 'x'.repeat(150) })
        acknowledged++
        const f: Final = del ? { deleted: true } : { v, by: i }
        if (shared) {
          let set = sharedAcked.get(id)
          if (!set) sharedAcked.set(id, (set = new Set()))
          set.add(show(f))
        } else lastOwn.set(id, f)
      } catch {
        failedWrites++
      }
      await sleep(Math.floor(r() * 20))
    }
  })
  await Promise.all(workers)
  void random

  // Faults stop; converge.
  for (const f of faulty) f.enabled = false
  const t0 = performance.now()
  const convergeDeadline = Date.now() + 120_000
  const snapshot = async (i: number) => {
    const map = new Map<string, Final>()
    for (const row of (await dbs[i]!.allDocs()).rows) map.set(row.key, { v: row.value.v as number, by: row.value.by as number })
    return map
  }
  const same = (a: Map<string, Final>, b: Map<string, Final>) =>
    a.size === b.size && [...a].every(([k, v]) => show(b.get(k)) === show(v))
  let states: Map<string, Final>[] = []
  let converged = false
  while (Date.now() < convergeDeadline) {
    await Promise.all(syncs.map((s) => s.flush().catch(() => {})))
    await Promise.all(syncs.map((s) => s.refresh().catch(() => {})))
    states = await Promise.all(dbs.map((_, i) => snapshot(i)))
    if (states.every((s) => same(s, states[0]!))) {
      converged = true
      break
    }
    await sleep(100)
  }
  const convergeMs = performance.now() - t0

  // Lost writes.
  const lost: string[] = []
  states.forEach((state, i) => {
    for (const [id, want] of lastOwn) {
      const got = state.get(id)
      const ok = 'deleted' in want ? got === undefined : show(got) === show(want)
      if (!ok) lost.push(`r${i} ${id}: has ${show(got)}, last acknowledged ${show(want)}`)
    }
    for (const [id, set] of sharedAcked) {
      const got = state.get(id)
      const label = got === undefined ? 'deleted' : show(got)
      if (!set.has(label) && !(got === undefined && set.has('deleted'))) lost.push(`r${i} ${id}: has ${show(got)}, not an acknowledged value`)
    }
  })
  for (const s of syncs) await s.close().catch(() => {})
  for (const db of dbs) await db.close().catch(() => {})
  rmSync(root, { recursive: true, force: true })

  const lines = [
    `# Soak results`,
    '',
    `${new Date().toISOString().slice(0, 16)}Z, Node ${process.version}. Command: \`npm run bench -- --soak ${o.seconds} --replicas ${o.replicas} --seed ${o.seed}\`.`,
    `${o.replicas} replicas of @proj/core (file storage), each through FaultyConnector(MemoryConnector) from @proj/connector-tests ` +
      `(30% of calls fail before or after reaching the backend, 10% run twice, random delays reorder them, 30% of pushes dropped), ` +
      `random puts/dels for ${o.seconds} s (70% on ids of the replica's own, 30% on 20 shared ids), then faults stop.`,
    '',
    `| measure | value |`,
    `|---|---:|`,
    `| writes acknowledged | ${acknowledged} |`,
    `| writes rejected (put/del threw) | ${failedWrites} |`,
    `| sync errors reported (during faults) | ${errors.sync} |`,
    `| converged after faults stopped | ${converged ? 'yes' : '**NO**'} |`,
    `| time to converge | ${converged ? `${Math.round(convergeMs)} ms` : `> ${Math.round(convergeMs)} ms`} |`,
    `| docs per replica at the end | ${states.map((s) => s.size).join(' / ')} |`,
    `| writes lost (must be 0) | ${lost.length ? `**${lost.length}**` : 0} |`,
    '',
    ...(lost.length ? ['Lost:', '', ...lost.slice(0, 20).map((l) => `- ${l}`), ''] : []),
  ]
  const report = lines.join('\n')
  console.log('\n' + report)
  if (o.write) writeFileSync(o.out, report)
}
