import { it } from 'vitest'
import { runConvergence } from '@proj/connector-tests'
import { rawConnector, type RawParams } from '../src/index.js'
const objectName = ({ type, name, car, branch }: RawParams) => `${type}/${name}/${car ?? branch}`
it('seeds', async () => {
  for (let seed = Number(process.env.FROM ?? 1); seed <= Number(process.env.TO ?? 30); seed++) {
    const objects = new Map<string, Uint8Array>()
    const fns = { upload: (b: Uint8Array, p: RawParams) => void objects.set(objectName(p), b.slice()), download: (p: RawParams) => objects.get(objectName(p))?.slice() }
    try {
      const r = await runConvergence(seed, () => rawConnector(fns))
      const p = [...r.lost, ...r.unreadable, ...(r.diverged ? ['diverged'] : [])]
      if (p.length || r.rejectedWrites) console.log('SEED', seed, r.rejectedWrites, r.firstRejection, p.slice(0, 2).join(' | ').slice(0, 400))
    } catch (e) { console.log('SEED', seed, 'THREW', String((e as Error).stack).slice(0, 800)) }
  }
}, 900_000)
