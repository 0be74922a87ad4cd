import { describe, expect, it } from 'vitest'
import { database } from '../src/index.js'
import { tempDir } from './helpers.js'

// A string is stored as its UTF-8 bytes; a decoder that treats a leading U+FEFF as a byte order mark would
// return another string than the one written (and two keys that differ only by it as one key, twice).
describe('strings that start with U+FEFF', () => {
  it('read back as written after a reopen, as values, ids and keys', async () => {
    const dir = tempDir()
    const doc = { _id: '\ufeffbom-id', v: '\ufeffHi', list: ['\ufeff', '\ufeff\ufeffx'], nested: { '\ufeffa': 1, a: 2 } }
    const db = database('bom', { dir })
    await db.put(doc)
    await db.put({ _id: 'plain', v: 'Hi' })
    await db.close()
    const again = database('bom', { dir })
    expect(await again.get('\ufeffbom-id')).toEqual(doc)
    expect((await again.allDocs()).rows.map((row) => row.key)).toEqual(['plain', '\ufeffbom-id'])
    await again.close()
  })
})
