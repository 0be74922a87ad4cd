import { describe, it } from 'vitest'
import { runConvergenceSeeds } from '@proj/connector-tests'
import { rawConnector, type RawParams } from '../src/index.js'

const RUNS = Number(process.env.CONVERGENCE_RUNS ?? 200)
const objectName = ({ type, name, car, branch }: RawParams) => `${type}/${name}/${car ?? branch}`

describe('convergence without compare-and-swap', () => {
  // One meta blob per branch, overwritten by every save: a writer whose entry was overwritten must notice,
  // merge and save again, or acknowledged writes would be lost.
  it(`${RUNS} seeded runs of 3 replicas through connect.raw over a Map end equal with every acknowledged write`, async () => {
    await runConvergenceSeeds(RUNS, () => {
      const objects = new Map<string, Uint8Array>()
      const fns = {
        upload: (bytes: Uint8Array, params: RawParams) => {
          objects.set(objectName(params), bytes.slice())
        },
        download: (params: RawParams) => objects.get(objectName(params))?.slice(),
      }
      return () => rawConnector(fns)
    })
  }, 600_000)
})
