import { expect, it } from 'vitest'
import { database, type Attachment, type ChangeRow } from '../src/index.js'

const memory = (name: string) => database(name, { storage: 'memory', dir: `/subscribe/${name}/${Math.random()}` })

// Every listener got the same row objects: one listener changing what it was given (sorting `doc.tags`,
// deleting a field before display) changed what the listeners after it saw.
it('each listener gets its own rows: one changing them changes nothing another sees, nor what is stored', async () => {
  const db = memory('own-rows')
  const seen: ChangeRow[][] = []
  const mutate = (rows: ChangeRow[]) => {
    const value = rows[0]!.value as unknown as { tags: string[]; meta: { n: number } }
    value.tags.push('changed by a listener')
    value.meta.n = 99
    rows.push({ key: 'added by a listener', value: { _id: 'added by a listener' } })
  }
  db.subscribe(mutate)
  db.subscribe((rows) => seen.push(structuredClone(rows)))
  db.subscribe(mutate)
  db.subscribe((rows) => seen.push(structuredClone(rows)))
  await db.put({ _id: 'a', tags: ['x'], meta: { n: 1 } })
  const expected = [{ key: 'a', value: { _id: 'a', tags: ['x'], meta: { n: 1 } } }]
  expect(seen).toEqual([expected, expected])
  expect(await db.get('a')).toEqual(expected[0]!.value)
  await db.close()
})

it('attachments in the rows of every listener still open', async () => {
  const db = memory('own-attachments')
  const opened: string[] = []
  const listener = () => (rows: ChangeRow[]) => {
    const file = (rows[0]!.value._files as Record<string, Attachment>)['note.txt']!
    void file.file().then(async (blob) => opened.push(await blob.text()))
  }
  db.subscribe(listener())
  db.subscribe(listener())
  await db.put({ _id: 'f', _files: { 'note.txt': new Blob(['hello'], { type: 'text/plain' }) } })
  await expect.poll(() => opened).toEqual(['hello', 'hello'])
  await db.close()
})
