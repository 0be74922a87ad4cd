import { database, type Database, type Sync } from '@proj/core'
import type { Connector } from '@proj/core/connector'
import { FaultyConnector, seededRandom } from './faulty.js'

const REPLICAS = 3
const OPS = 24

interface Replica {
  db: Database
  sync: Sync
  faults: FaultyConnector
  /** Own ids: the last acknowledged value (undefined = deleted). Only this replica writes them. */
  own: Map<string, number | undefined>
}

/**
 * One seeded run: replicas write (own ids and shared ids) through connectors that fail 30% of calls before
 * or after reaching the backend, duplicate, delay and reorder calls and drop pushes. Then the faults stop and
 * every replica must converge to the same documents, holding every acknowledged write.
 */
export async function runConvergence(seed: number, connectorFor: (replica: number) => Connector): Promise<void> {
  const random = seededRandom(seed)
  const name = `conv${seed}`
  const first = database(name, { storage: 'memory', dir: `/conv/${seed}/0` })
  const key = await first.exportKey()
  const replicas: Replica[] = []
  for (let i = 0; i < REPLICAS; i++) {
    const db = i === 0 ? first : database(name, { storage: 'memory', dir: `/conv/${seed}/${i}`, key })
    const faults = new FaultyConnector(connectorFor(i), seed * 31 + i)
    const sync = db.connect(faults, { pollInterval: 5, maxBackoff: 20, flushTimeout: 10_000 })
    replicas.push({ db, sync, faults, own: new Map() })
  }
  const sharedValues = new Map<string, Set<number>>()
  try {
    let value = 0
    for (let op = 0; op < OPS; op++) {
      const burst = 1 + Math.floor(random() * 3)
      const writes: Promise<unknown>[] = []
      for (let w = 0; w < burst; w++) {
        const r = replicas[Math.floor(random() * REPLICAS)]!
        const index = replicas.indexOf(r)
        const roll = random()
        const v = ++value
        if (roll < 0.5) {
          const id = `own-${index}-${Math.floor(random() * 4)}`
          writes.push(r.db.put({ _id: id, v }).then(() => r.own.set(id, v)))
        } else if (roll < 0.7) {
          const id = `own-${index}-${Math.floor(random() * 4)}`
          writes.push(r.db.del(id).then(() => r.own.set(id, undefined)))
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
      await Promise.all(writes)
      if (random() < 0.3) await new Promise((resolve) => setTimeout(resolve, random() * 5))
    }
    for (const r of replicas) r.faults.enabled = false
    let converged = false
    for (let round = 0; round < 30 && !converged; round++) {
      await Promise.all(replicas.map((r) => r.sync.flush()))
      await Promise.all(replicas.map((r) => r.sync.refresh()))
      const states = await Promise.all(replicas.map(async (r) => JSON.stringify((await r.db.allDocs()).rows)))
      converged = states.every((state) => state === states[0])
    }
    if (!converged) throw new Error('replicas did not converge')
    const { rows } = await replicas[0]!.db.allDocs()
    const final = new Map(rows.map((row) => [row.key, row.value.v as number]))
    for (const r of replicas) {
      for (const [id, v] of r.own) {
        if (final.get(id) !== v) throw new Error(`lost the acknowledged write ${id} = ${v} (final: ${final.get(id)})`)
      }
    }
    for (const [id, values] of sharedValues) {
      if (!values.has(final.get(id)!)) throw new Error(`shared ${id} ended as ${final.get(id)}, never acknowledged`)
    }
  } finally {
    for (const r of replicas) {
      await r.sync.close()
      await r.db.close()
    }
  }
}


/** Runs `runs` seeded convergence runs; a failure names its seed. */
export async function runConvergenceSeeds(runs: number, connectorFor: (seed: number) => (replica: number) => Connector): Promise<void> {
  for (let seed = 1; seed <= runs; seed++) {
    try {
      await runConvergence(seed, connectorFor(seed))
    } catch (error) {
      throw new Error(`convergence failed for seed ${seed}: ${(error as Error).message}`, { cause: error })
    }
  }
}
