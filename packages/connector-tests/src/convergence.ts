import { database, type Clock, type Database, type Sync } from '@proj/core'
import type { Connector } from '@proj/core/connector'
import { FaultyConnector, seededRandom, type FaultOptions } from './faulty.js'

export interface ConvergenceOptions {
  /** Replicas writing concurrently (default 3). */
  replicas?: number
  /** Write bursts per run (default 24). */
  ops?: number
  /** Faults of every replica's connector (default: FaultyConnector's 30 % failures, duplicates, delays). */
  faults?: FaultOptions
  /** Poll interval of each replica's sync in ms (default 5). */
  pollInterval?: number
}

/** What one seeded run found. A run is good when all three lists are empty and `diverged` is false. */
export interface ConvergenceReport {
  seed: number
  /** Acknowledged writes missing from the converged state. */
  lost: string[]
  /** The replicas did not reach one state after the faults stopped. */
  diverged: boolean
  /** Clocks some `flush()` returned that a fresh device reading only the backend could not read exactly. */
  unreadable: string[]
  /** Clocks returned by `flush()` during the faulty phase (each later checked on a fresh device). */
  flushed: number
  /** Faults injected, all replicas together. */
  faults: number
  /**
   * Writes that rejected (never acknowledged, so nothing was promised), with their first error. A write
   * that needs a block it must download (a replica that adopted a remote head lazily) can fail while the
   * backend fails.
   */
  rejectedWrites: number
  firstRejection?: string
}

interface Replica {
  db: Database
  sync: Sync
  faults: FaultyConnector
  /** Own ids: the last acknowledged value (undefined = deleted). Only this replica writes them. */
  own: Map<string, number | undefined>
}

interface FlushedClock {
  replica: number
  clock: Clock
  /** allDocs at that clock, on the replica whose flush returned it. */
  rows: string
}

/**
 * One seeded run: replicas write (own ids and shared ids), flush and refresh through connectors that fail
 * 30 % of calls — each call on its own, so one upload of many, the save after successful uploads or a
 * download during a lazy load fails, before or after reaching the backend (a lost reply) — duplicate, delay
 * and reorder calls and drop pushes. Then the faults stop and the run checks what every acknowledged call
 * promised: every replica converges to one state holding every acknowledged write, and a fresh device
 * reading only the backend reads every clock a `flush()` returned, with exactly the documents it had.
 */
export async function runConvergence(
  seed: number,
  connectorFor: (replica: number) => Connector,
  options: ConvergenceOptions = {},
): Promise<ConvergenceReport> {
  const count = options.replicas ?? 3
  const ops = options.ops ?? 24
  const random = seededRandom(seed)
  const name = `conv${seed}`
  const dir = `/conv/${seed}-${Math.random().toString(36).slice(2, 10)}`
  const first = database(name, { storage: 'memory', dir: `${dir}/0` })
  const key = await first.exportKey()
  const replicas: Replica[] = []
  const report: ConvergenceReport = { seed, lost: [], diverged: false, unreadable: [], flushed: 0, faults: 0, rejectedWrites: 0 }
  const flushed: FlushedClock[] = []
  for (let i = 0; i < count; i++) {
    const db = i === 0 ? first : database(name, { storage: 'memory', dir: `${dir}/${i}`, key })
    const faults = new FaultyConnector(connectorFor(i), seed * 31 + i, options.faults)
    const sync = db.connect(faults, { pollInterval: options.pollInterval ?? 5, maxBackoff: 20, flushTimeout: 20_000 })
    replicas.push({ db, sync, faults, own: new Map() })
  }
  const sharedValues = new Map<string, Set<number>>()
  const flushOne = async (index: number) => {
    const r = replicas[index]!
    const clock = await r.sync.flush()
    // Reading may download (a lazily merged replica) while the faults are on: a failed read is retried.
    for (let attempt = 0; ; attempt++) {
      try {
        const rows = canonicalJson((await (await r.db.at(clock)).allDocs()).rows)
        flushed.push({ replica: index, clock, rows })
        return
      } catch (error) {
        if (attempt >= 20 || (error as Error).name !== 'ConnectorError') throw error
      }
    }
  }
  try {
    await Promise.all(replicas.map((r) => r.sync.ready))
    let value = 0
    for (let op = 0; op < ops; op++) {
      const burst = 1 + Math.floor(random() * 3)
      const writes: Promise<unknown>[] = []
      for (let w = 0; w < burst; w++) {
        const r = replicas[Math.floor(random() * count)]!
        const index = replicas.indexOf(r)
        const roll = random()
        const v = ++value
        if (roll < 0.5) {
          const id = `own-${index}-${Math.floor(random() * 4)}`
          writes.push(r.db.put({ _id: id, v }).then(() => r.own.set(id, v)))
        } else if (roll < 0.6) {
          const id = `own-${index}-${Math.floor(random() * 4)}`
          // A delete of an id this replica wrote (deleting an id never seen is not a write to check).
          if (r.own.get(id) !== undefined) writes.push(r.db.del(id).then(() => r.own.set(id, undefined)))
        } else {
          const id = `shared-${Math.floor(random() * 2)}`
          writes.push(
            r.db.put({ _id: id, v }).then(() => {
              if (!sharedValues.has(id)) sharedValues.set(id, new Set())
              sharedValues.get(id)!.add(v)
            }),
          )
        }
      }
      // Writes of one replica in one burst land in one transaction, in order.
      await Promise.all(
        writes.map((write) =>
          write.catch((error: unknown) => {
            report.rejectedWrites++
            report.firstRejection ??= (error as Error).message
          }),
        ),
      )
      const step = random()
      if (step < 0.15) await flushOne(Math.floor(random() * count))
      else if (step < 0.25) await replicas[Math.floor(random() * count)]!.sync.refresh()
      else if (step < 0.4) await new Promise((resolve) => setTimeout(resolve, random() * 5))
    }
    // Every replica flushes once under faults: each returned clock is a promise to check.
    await Promise.all(replicas.map((_, index) => flushOne(index)))
    for (const r of replicas) {
      r.faults.enabled = false
      for (const n of r.faults.injected.values()) report.faults += n
    }
    let converged = false
    for (let round = 0; round < 30 && !converged; round++) {
      await Promise.all(replicas.map((r) => r.sync.flush()))
      await Promise.all(replicas.map((r) => r.sync.refresh()))
      const states = await Promise.all(replicas.map(async (r) => canonicalJson((await r.db.allDocs()).rows)))
      converged = states.every((state) => state === states[0])
    }
    report.diverged = !converged
    const { rows } = await replicas[0]!.db.allDocs()
    const final = new Map(rows.map((row) => [row.key, row.value.v as number]))
    for (const r of replicas) {
      for (const [id, v] of r.own) {
        if (final.get(id) !== v) report.lost.push(`${id} = ${v} (final: ${final.get(id)})`)
      }
    }
    for (const [id, values] of sharedValues) {
      if (!values.has(final.get(id)!)) report.lost.push(`shared ${id} ended as ${final.get(id)}, never acknowledged`)
    }
    report.flushed = flushed.length
    report.unreadable = await readFlushedClocks(name, key, `${dir}/fresh`, connectorFor(count), flushed)
  } finally {
    for (const r of replicas) {
      await r.sync.close()
      await r.db.close()
    }
  }
  return report
}

/** A fresh device with only the key and the backend reads every flushed clock; returns what it could not. */
async function readFlushedClocks(
  name: string,
  key: string,
  dir: string,
  connector: Connector,
  flushed: FlushedClock[],
): Promise<string[]> {
  const fresh = database(name, { storage: 'memory', dir, key })
  const sync = fresh.connect(connector, { pollInterval: 0 })
  const unreadable: string[] = []
  try {
    await sync.ready
    for (const { replica, clock, rows } of flushed) {
      const label = `replica ${replica} clock [${clock.map((cid) => cid.slice(-8)).join(', ')}]`
      try {
        const seen = canonicalJson((await (await fresh.at(clock)).allDocs()).rows)
        if (seen !== rows) unreadable.push(`${label}: reads other documents than were flushed`)
      } catch (error) {
        unreadable.push(`${label}: ${(error as Error).message}`)
      }
    }
  } finally {
    await sync.close()
    await fresh.close()
  }
  return unreadable
}

/** JSON with object keys sorted: documents compare by content, whatever order their fields were written in. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  )
}

/** Throws when a report shows a lost write, a divergence or an unreadable flushed clock. */
export function checkConvergence(report: ConvergenceReport): void {
  const problems = [
    ...report.lost.map((write) => `lost the acknowledged write ${write}`),
    ...(report.diverged ? ['replicas did not converge'] : []),
    ...report.unreadable.map((clock) => `fresh device cannot read the flushed ${clock}`),
  ]
  if (problems.length) throw new Error(problems.join('; '))
}

/**
 * Runs seeds 1..runs, `parallel` at a time (default 4: a run spends most of its time waiting on injected
 * delays and poll timers, not computing); the first failure names its seed and stops new seeds.
 */
export async function runConvergenceSeeds(
  runs: number,
  connectorFor: (seed: number) => (replica: number) => Connector,
  options: ConvergenceOptions & { parallel?: number } = {},
): Promise<ConvergenceReport[]> {
  const reports: ConvergenceReport[] = []
  let next = 1
  let failure: Error | undefined
  const worker = async () => {
    while (!failure && next <= runs) {
      const seed = next++
      try {
        const report = await runConvergence(seed, connectorFor(seed), options)
        checkConvergence(report)
        reports[seed - 1] = report
      } catch (error) {
        failure ??= new Error(`convergence failed for seed ${seed}: ${(error as Error).message}`, { cause: error })
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, options.parallel ?? 4) }, worker))
  if (failure) throw failure
  return reports
}
