import { describe, expect, it } from 'vitest'
import { database, NotFoundError, parseShareLink, shareLink } from '../src/index.js'
import { dataFiles, tempDir } from './helpers.js'

function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: true }
  for (let i = 1; i < depth; i++) value = { a: value }
  return value
}

describe('stored values follow JSON where dag-cbor cannot', () => {
  it('drops undefined fields, turns undefined array items into null and a Date into its ISO string', async () => {
    const dir = tempDir()
    const db = database('json', { dir })
    const when = new Date('2024-05-06T07:08:09.010Z')
    await db.put({ _id: 'a', gone: undefined, deep: { x: undefined, y: 1 }, list: [1, undefined, 3], when, dates: [when] })
    const expected = { _id: 'a', deep: { y: 1 }, list: [1, null, 3], when: '2024-05-06T07:08:09.010Z', dates: ['2024-05-06T07:08:09.010Z'] }
    expect(await db.get('a')).toEqual(expected)
    expect(Object.keys((await db.get('a')).deep as object)).toEqual(['y'])
    await db.bulk([{ _id: 'b', v: undefined }])
    expect(await db.get('b')).toEqual({ _id: 'b' })
    await db.close()
    const again = database('json', { dir })
    expect(await again.get('a')).toEqual(expected)
    await again.close()
  })

  it('stores -0 as 0, as the file does: one value before and after a reopen, in reads and in query keys', async () => {
    // Before: -0 read back as -0 until a reopen, then as 0 (dag-cbor writes the integer 0).
    const dir = tempDir()
    const db = database('zero', { dir })
    await db.put({ _id: 'n', v: -0, list: [-0], deep: { z: -0 } })
    const isPlusZero = (doc: Record<string, unknown>) =>
      Object.is(doc.v, 0) && Object.is((doc.list as number[])[0], 0) && Object.is((doc.deep as { z: number }).z, 0)
    expect(isPlusZero(await db.get('n'))).toBe(true)
    expect(Object.is((await db.query('v')).rows[0]!.key, 0)).toBe(true)
    expect((await db.query('v', { key: -0 })).rows.map((row) => row.id)).toEqual(['n'])
    await db.close()
    const again = database('zero', { dir })
    expect(isPlusZero(await again.get('n'))).toBe(true)
    await again.close()
  })

  it('stores a copy: changing the object after put() does not change what is stored', async () => {
    const db = database('copy', { storage: 'memory' })
    const doc = { _id: 'a', inner: { n: 1 }, list: [1] }
    const written = db.put(doc)
    doc.inner.n = 2
    doc.list.push(2)
    await written
    expect(await db.get('a')).toEqual({ _id: 'a', inner: { n: 1 }, list: [1] })
    await db.close()
  })

  it('rejects what would not read back as written with a TypeError naming the field, and writes nothing', async () => {
    const dir = tempDir()
    const db = database('bad', { dir })
    await db.put({ _id: 'keep', v: 1 })
    const before = dataFiles(dir, 'bad').length
    await expect(db.put({ _id: 'n', a: { b: [1, NaN] } })).rejects.toThrow('put(): document "n" field "a.b[1]" is NaN')
    await expect(db.put({ _id: 'i', x: -Infinity })).rejects.toThrow('field "x" is -Infinity')
    await expect(db.put({ _id: 'd', when: new Date('nope') })).rejects.toThrow('field "when" is an invalid Date')
    // Lone UTF-16 surrogates (UTF-8 cannot encode them) in ids, values and field names.
    await expect(db.put({ _id: 'x\uD800y' })).rejects.toThrow('put(): _id "x\\ud800y" is a string with a lone UTF-16 surrogate at index 1')
    await expect(db.put({ _id: 's', title: 'ok', notes: ['fine', 'a\uDC00'] })).rejects.toThrow(
      'document "s" field "notes[1]" is a string with a lone UTF-16 surrogate at index 1',
    )
    await expect(db.put({ _id: 'k', ['bad\uD83D']: 1 })).rejects.toThrow('field "bad\\ud83d" is named by a string with a lone UTF-16 surrogate')
    await expect(db.bulk([{ _id: 'ok' }, { _id: '\uDFFF' }])).rejects.toThrow('bulk() document #1: _id "\\udfff"')
    await expect(db.del('x\uD800')).rejects.toThrow(TypeError)
    await expect(db.get('x\uD800')).rejects.toThrow(TypeError)
    // Sparse arrays, cycles and runaway nesting.
    // eslint-disable-next-line no-sparse-arrays
    await expect(db.put({ _id: 'h', list: [1, , 3] })).rejects.toThrow('field "list[1]" is a hole of a sparse array')
    const cyclic: Record<string, unknown> = { _id: 'c', child: { name: 'x' } }
    ;(cyclic.child as Record<string, unknown>).parent = cyclic
    await expect(db.put(cyclic)).rejects.toThrow('field "child.parent" is a reference to an object that contains it (a cycle)')
    const list: unknown[] = []
    list.push(list)
    await expect(db.put({ _id: 'c2', list })).rejects.toThrow('field "list[0]" is a reference to an object that contains it (a cycle)')
    await expect(db.put({ _id: 'deep', v: nested(2000) })).rejects.toThrow(/field "v(\.a)+" is nested deeper than 256 levels/)
    await expect(db.put({ _id: 'm', v: new Map() })).rejects.toThrow('field "v" is an object (Map)')
    expect(dataFiles(dir, 'bad')).toHaveLength(before)
    for (const id of ['n', 'i', 'd', 's', 'k', 'ok', 'h', 'c', 'c2', 'deep', 'm']) await expect(db.get(id)).rejects.toThrow(NotFoundError)
    // Well-formed surrogate pairs are fine, and survive a reopen.
    await db.put({ _id: 'emoji 🍞', text: 'a🍞b' })
    // The deepest allowed nesting (the document is level 1) is stored and read back after a reopen.
    await db.put({ _id: 'deepest', v: nested(255) })
    await expect(db.put({ _id: 'too-deep', v: nested(256) })).rejects.toThrow('nested deeper than 256 levels')
    await db.close()
    const again = database('bad', { dir })
    expect(await again.get('emoji 🍞')).toEqual({ _id: 'emoji 🍞', text: 'a🍞b' })
    expect(await again.get('deepest')).toEqual({ _id: 'deepest', v: nested(255) })
    await again.close()
  })

  it('rejects keys and values a map function emits that cannot be indexed', async () => {
    const db = database('emit', { storage: 'memory' })
    await db.put({ _id: 'a', n: 1 })
    await expect(db.query((doc, emit) => emit([doc.n, NaN]))).rejects.toThrow(
      'query(): the key the map function emitted for document "a" at "[1]" is NaN',
    )
    const when = new Date('2024-01-01T00:00:00.000Z')
    expect((await db.query((doc, emit) => emit(when, { n: doc.n, u: undefined }))).rows).toEqual([
      { id: 'a', key: '2024-01-01T00:00:00.000Z', value: { n: 1 } },
    ])
    await db.close()
  })
})

describe('_deleted: true deletes', () => {
  it('in bulk() and put(), as del() does', async () => {
    const dir = tempDir()
    const db = database('del', { dir })
    await db.bulk([{ _id: 'a', v: 1 }, { _id: 'b', v: 2 }, { _id: 'c', v: 3 }])
    const { ids } = await db.bulk([{ _id: 'a', _deleted: true }, { _id: 'd', v: 4 }])
    expect(ids).toEqual(['a', 'd'])
    await expect(db.get('a')).rejects.toThrow(NotFoundError)
    const { id } = await db.put({ _id: 'b', v: 2, _deleted: true })
    expect(id).toBe('b')
    await expect(db.get('b')).rejects.toThrow(NotFoundError)
    // _deleted: false is not stored as a field either.
    await db.put({ _id: 'c', v: 5, _deleted: false })
    expect(await db.get('c')).toEqual({ _id: 'c', v: 5 })
    expect((await db.allDocs()).rows.map((row) => row.key)).toEqual(['c', 'd'])
    const { rows } = await db.changes()
    expect(rows.filter((row) => row.deleted).map((row) => row.key)).toEqual(['a', 'b'])
    await expect(db.put({ _deleted: true })).rejects.toThrow('put(): a document with _deleted: true needs an _id')
    await expect(db.put({ _id: 'c', _deleted: 'yes' })).rejects.toThrow('put(): _deleted must be true or false, got the string "yes"')
    await db.close()
    const again = database('del', { dir })
    expect((await again.allDocs()).rows.map((row) => row.key)).toEqual(['c', 'd'])
    await again.close()
  })
})

describe('key material never appears in errors', () => {
  const secret = 'z8KXt2WvJdJq9mQeRcsE7ZhK6YyP3wGnUaFbTdLx4VrNs'
  /** No 6-character piece of the key (after its first character) appears in `text`. */
  const echoes = (text: string, key: string) => {
    for (let i = 1; i + 6 <= key.length; i++) if (text.includes(key.slice(i, i + 6))) return true
    return false
  }
  const everything = (error: unknown) => {
    const e = error as Error & Record<string, unknown>
    return `${e.message} ${String(e.stack)} ${JSON.stringify(e)} ${e.cause ? String((e.cause as Error).message) : ''}`
  }

  it('database({ key }) says what is wrong with a mistyped key without echoing it', async () => {
    const mistyped = [secret.slice(0, 30), secret + 'x', secret.slice(0, 10) + '0' + secret.slice(11), secret.slice(1), `${secret} `]
    for (const key of mistyped) {
      const error = await database('k', { storage: 'memory', key }).get('a').catch((e: unknown) => e)
      expect(error, key).toBeInstanceOf(TypeError)
      expect((error as Error).message).toMatch(/^Not a database key: /)
      expect(echoes(everything(error), key), (error as Error).message).toBe(false)
    }
    const short = await database('k', { storage: 'memory', key: secret.slice(0, 30) }).get('a').catch((e: Error) => e.message)
    expect(short).toContain('its 30 characters decode to')
    const alphabet = await database('k', { storage: 'memory', key: secret.slice(0, 10) + '0' + secret.slice(11) })
      .get('a')
      .catch((e: Error) => e.message)
    expect(alphabet).toContain('character 11 of 45 is not a base58btc character')
  })

  it('parseShareLink rejects a cut-off key and a malformed link without echoing the key', async () => {
    const key = await database('share', { storage: 'memory' }).exportKey()
    const link = shareLink('https://app.example/open', { db: 'share', key })
    expect(parseShareLink(link)).toEqual({ db: 'share', key })
    const cut = link.slice(0, -12)
    const error = (() => {
      try {
        parseShareLink(cut)
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(TypeError)
    expect((error as Error).message).toContain('the key in the link is mistyped or cut off')
    expect(echoes(everything(error), key)).toBe(false)
    const malformed = (() => {
      try {
        parseShareLink(`not a url #key=${key}`)
      } catch (e) {
        return e
      }
    })()
    expect(malformed).toBeInstanceOf(TypeError)
    expect(echoes(everything(malformed), key)).toBe(false)
  })
})
