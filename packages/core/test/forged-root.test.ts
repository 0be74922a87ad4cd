import { CID } from 'multiformats/cid'
import { describe, expect, it } from 'vitest'
import { importKey, keyFromString } from '../src/crypto/key.js'
import { decodeMetaEntry } from '../src/format/head.js'
import { openCurrent } from '../src/crypto/envelope.js'
import { database, type SyncWarning } from '../src/index.js'
import { sealHead } from '../src/sync/meta-entry.js'
import type { Connector, MetaEntry } from '../src/connector/api.js'
import { memoryBackend } from './memory-backend.js'

/**
 * A peer holding the key can write meta entries; one that names a delta head with a root its events do not
 * give (a buggy or hostile writer) must be refused, never adopted: a reader would otherwise walk a tree no
 * event produced. Delta heads name no root (format/head.ts version 2), so the forged root is checked against
 * the tree derived from the events.
 */
describe('a meta entry naming a delta head with a forged root', () => {
  it('is refused with an IntegrityError warning; the reader keeps its own state and converges on the true entry', async () => {
    const backend = memoryBackend()
    const a = database('f', { storage: 'memory', compactEvery: 0 })
    await a.bulk([{ _id: 'a', v: 1 }, { _id: 'b', v: 1 }])
    await a.put({ _id: 'c', v: 1 })
    const syncA = a.connect(backend(), { pollInterval: 0 })
    await syncA.flush()
    const keyText = await a.exportKey()
    const key = await importKey(keyFromString(keyText))
    const client: Connector = backend()
    const [real] = (await client.load('f', 'main')) as MetaEntry[]
    const head = decodeMetaEntry(await openCurrent(key, real!.bytes, 'entry', 'f'), 'entry')
    expect(head.root).toBeUndefined()
    // The same head, naming the root of a tree its events do not give.
    const wrong = CID.parse('bafyreibiswgm67aobphhofhxojafecagxgu4hqwfvhxwxhvvdqvpi7extu')
    const forged = await sealHead(key, { ...head, root: wrong })
    await client.save('f', 'main', forged, [real!.cid])

    const b = database('f', { storage: 'memory', key: keyText })
    await b.put({ _id: 'mine', v: 1 })
    const warnings: SyncWarning[] = []
    const syncB = b.connect(backend(), { pollInterval: 0 })
    syncB.on('warning', (warning) => warnings.push(warning))
    await syncB.ready
    await syncB.refresh()
    expect(syncB.status).not.toBe('error')
    expect(warnings.map((w) => [w.kind, w.cid, w.error.name])).toEqual([['unreadable-entry', forged.cid, 'IntegrityError']])
    expect(warnings[0]!.error.message).toContain(wrong.toString())
    // Nothing of the forged entry was adopted: B holds its own write only, and can still write.
    expect((await b.allDocs()).rows.map((row) => row.key)).toEqual(['mine'])
    await b.put({ _id: 'mine2', v: 1 })
    // A pushes its true head again (its next write): B converges on it.
    await a.put({ _id: 'd', v: 1 })
    await syncA.flush()
    await syncB.refresh()
    expect((await b.allDocs()).rows.map((row) => row.key)).toEqual(['a', 'b', 'c', 'd', 'mine', 'mine2'])
    await a.close()
    await b.close()
  })
})
