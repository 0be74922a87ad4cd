import { describe, expect, it } from 'vitest'
import { database, NotFoundError } from '../src/index.js'

// A second memory database of the same name stands for another device: it must not see the first one's data
// unless both ask for one store by passing the same `dir`.
describe("storage: 'memory'", () => {
  it('gives each database() without dir a fresh store, even under the same name', async () => {
    const first = database('same-name', { storage: 'memory' })
    await first.put({ _id: 'milk', done: false })
    const key = await first.exportKey()

    const second = database('same-name', { storage: 'memory', key })
    await expect(second.get('milk')).rejects.toBeInstanceOf(NotFoundError)
    expect((await second.allDocs()).rows).toEqual([])
    // Its writes do not leak back either.
    await second.put({ _id: 'bread' })
    await expect(first.get('bread')).rejects.toBeInstanceOf(NotFoundError)
    await Promise.all([first.close(), second.close()])
  })

  it('shares one store between databases of the same name and dir', async () => {
    const dir = `/memory-test/${crypto.randomUUID()}`
    const first = database('shared', { storage: 'memory', dir })
    await first.put({ _id: 'milk', done: false })

    const second = database('shared', { storage: 'memory', dir })
    expect(await second.get('milk')).toEqual({ _id: 'milk', done: false })
    await second.put({ _id: 'bread' })
    await first.close()
    await second.close()

    // The store outlives its databases for the rest of the process, as a folder outlives its opens.
    const reopened = database('shared', { storage: 'memory', dir })
    expect((await reopened.allDocs()).rows.map((row) => row.key)).toEqual(['bread', 'milk'])
    await reopened.close()
    const elsewhere = database('shared', { storage: 'memory', dir: `${dir}-other` })
    expect((await elsewhere.allDocs()).rows).toEqual([])
    await elsewhere.close()
  })
})
