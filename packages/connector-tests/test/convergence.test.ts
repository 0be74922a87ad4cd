import { describe, it } from 'vitest'
import { MemoryBackend, MemoryConnector, runConvergenceSeeds } from '../src/index.js'

const RUNS = Number(process.env.CONVERGENCE_RUNS ?? 200)

describe('convergence under faults', () => {
  it(`${RUNS} seeded runs of 3 replicas through MemoryConnector end equal with every acknowledged write`, async () => {
    await runConvergenceSeeds(RUNS, () => {
      const backend = new MemoryBackend()
      return () => new MemoryConnector(backend)
    })
  }, 600_000)
})
