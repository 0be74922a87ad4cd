import { expect, it } from 'vitest'
import { database } from '@proj/core'
import { connect, type RawParams } from '../src/index.js'

/**
 * connect.raw keeps one meta blob per branch: a save refuses to overwrite a blob this device never merged.
 * A push that reads the branch before saving (to notice an emptied store) must not count as having merged
 * what it read, or a write pushed right after another device's flush overwrites that device's entry, and its
 * writes are gone from the store once it has left.
 */
it('a write pushed while an entry of another device is unmerged does not overwrite that entry', async () => {
  const objects = new Map<string, Uint8Array>()
  const objectName = ({ type, car, branch }: RawParams) => `${type}/${car ?? branch}`
  const fns = {
    upload: (bytes: Uint8Array, params: RawParams) => void objects.set(objectName(params), bytes.slice()),
    download: (params: RawParams) => objects.get(objectName(params))?.slice(),
  }
  const name = 'raw-push-overwrite'
  const a = database(name, { storage: 'memory', dir: `/raw-push-overwrite/a/${Math.random()}` })
  const key = await a.exportKey()
  const b = database(name, { storage: 'memory', dir: `/raw-push-overwrite/b/${Math.random()}`, key })
  const fresh = database(name, { storage: 'memory', dir: `/raw-push-overwrite/fresh/${Math.random()}`, key })
  const syncA = connect.raw(a, fns, { pollInterval: 0 })
  try {
    await a.put({ _id: 'from-a-1' })
    await syncA.flush()
    const syncB = connect.raw(b, fns, { pollInterval: 0 })
    await syncB.ready
    await b.put({ _id: 'from-b' })
    await syncB.flush()
    await syncB.close()
    await b.close()
    // A has not pulled since: its write's push is its first contact with the store since B's flush.
    await a.put({ _id: 'from-a-2' })
    await syncA.flush()
    const freshSync = connect.raw(fresh, fns, { pollInterval: 0 })
    await freshSync.ready
    expect((await fresh.allDocs()).rows.map((row) => row.key)).toEqual(['from-a-1', 'from-a-2', 'from-b'])
    await freshSync.close()
  } finally {
    await syncA.close()
    await a.close()
    await fresh.close()
  }
})
