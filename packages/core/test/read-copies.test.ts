import { expect, it } from 'vitest'
import { database } from '../src/index.js'
import { tempDir } from './helpers.js'

// A cached block's decoded value is shared by every read of it: a caller that changed what it read (nested
// arrays and objects included) changed what the database returned afterwards, with nothing written.
it('what a read returns is the caller’s own: changing it, or a map function changing its input, changes no later read', async () => {
  const db = database('copies', { dir: tempDir() })
  const stored = { _id: 'a', title: 't', tags: ['z', 'b', 'a'], meta: { n: 1, deep: [{ k: 'v' }] } }
  await db.put(stored)
  const expectStored = async () => expect(await db.get('a')).toEqual(stored)

  const got = await db.get('a')
  ;(got.tags as string[]).push('from get')
  ;(got.meta as { deep: { k: string }[] }).deep[0]!.k = 'from get'
  await expectStored()

  ;((await db.allDocs()).rows[0]!.value.tags as string[]).push('from allDocs')
  await expectStored()
  ;((await db.changes()).rows[0]!.value!.tags as string[]).push('from changes')
  await expectStored()
  ;((await (await db.at(await db.clock())).get('a')).tags as string[]).push('from at()')
  await expectStored()

  // A map function that sorts in place (as `doc.tags.sort()` does) and one that changes nested fields.
  await db.query((doc) => (doc.tags as string[]).sort()[0])
  await db.query((doc) => {
    ;(doc.meta as { n: number }).n = 99
    return doc._id
  }, { index: 'mutating' })
  await expectStored()

  // Emitted values and includeDocs documents.
  const emitted = await db.query((doc, emit) => emit(doc._id, { tags: doc.tags }), { index: 'values', includeDocs: true })
  ;(emitted.rows[0]!.value as { tags: string[] }).tags.push('from a query value')
  ;(emitted.rows[0]!.doc!.tags as string[]).push('from includeDocs')
  await expectStored()
  const again = await db.query((doc, emit) => emit(doc._id, { tags: doc.tags }), { index: 'values' })
  expect(again.rows[0]!.value).toEqual({ tags: ['z', 'b', 'a'] })

  // Subscribers get the changed documents.
  const stop = db.subscribe((rows) => (rows[0]!.value!.tags as string[]).push('from subscribe'))
  await db.put({ _id: 'b', tags: ['x'] })
  stop()
  expect(await db.get('b')).toEqual({ _id: 'b', tags: ['x'] })
  await db.close()
})
