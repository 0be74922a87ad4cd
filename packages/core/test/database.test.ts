import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { base58btc } from 'multiformats/bases/base58'
import { describe, expect, it } from 'vitest'
import { ClosedError, database, IntegrityError, KeyMismatchError, NotFoundError } from '@proj/core'
import { dataFiles, overwriteDataFile, readDataFile, tempDir } from './helpers.js'

describe('documents', () => {
  it('puts, gets and deletes documents', async () => {
    const db = database('todos', { dir: tempDir() })
    const { id, clock } = await db.put({ _id: 'a', title: 'milk', done: false })
    expect(id).toBe('a')
    expect(clock).toHaveLength(1)
    expect(await db.get('a')).toEqual({ _id: 'a', title: 'milk', done: false })
    await db.del('a')
    await expect(db.get('a')).rejects.toThrow(NotFoundError)
    await db.close()
  })

  it('throws NotFoundError with a stable name and the id in the message', async () => {
    const db = database('todos', { dir: tempDir() })
    const error = await db.get('zz').catch((e) => e)
    expect(error).toBeInstanceOf(NotFoundError)
    expect(error.name).toBe('NotFoundError')
    expect(error.message).toBe('Document not found: "zz"')
    await db.close()
  })

  it('NotFoundError says whether the id was deleted or never written (get, del, del twice in one bulk, at a past clock)', async () => {
    const db = database('todos', { dir: tempDir() })
    const never = await db.get('never').catch((e) => e)
    expect([never.deleted, never.message]).toEqual([false, 'Document not found: "never"'])
    await db.put({ _id: 'gone' })
    const { clock: deletedAt } = await db.del('gone')
    const gone = await db.get('gone').catch((e) => e)
    expect([gone.deleted, gone.message]).toEqual([true, 'Document not found: "gone" (deleted)'])
    expect((await db.del('gone').catch((e) => e)).deleted).toBe(true)
    expect((await db.del('never').catch((e) => e)).deleted).toBe(false)
    await db.put({ _id: 'twice' })
    const twice = await db.bulk([{ _id: 'twice', _deleted: true }, { _id: 'twice', _deleted: true }]).catch((e) => e)
    expect([twice.name, twice.deleted]).toEqual(['NotFoundError', true])
    // Written again: found; at the clock of its deletion, deleted.
    await db.put({ _id: 'gone', back: true })
    expect((await db.get('gone')).back).toBe(true)
    expect((await (await db.at(deletedAt)).get('gone').catch((e) => e)).deleted).toBe(true)
    await db.close()
  })

  it('makes a uuidv7 id when _id is absent', async () => {
    const db = database('todos', { dir: tempDir() })
    const { id } = await db.put({ title: 'eggs' })
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(await db.get(id)).toEqual({ _id: id, title: 'eggs' })
    await db.close()
  })

  it('keeps unicode ids, nested values and bytes', async () => {
    const db = database('todos', { dir: tempDir() })
    const doc = { _id: 'été/ü 🍞', nested: { list: [1, 'two', null, { three: true }] }, bytes: new Uint8Array([1, 2, 3]) }
    await db.put(doc)
    expect(await db.get('été/ü 🍞')).toEqual(doc)
    await db.close()
  })

  it('rejects bad input with a TypeError naming the value, and writes nothing', async () => {
    const dir = tempDir()
    const db = database('todos', { dir })
    await db.put({ _id: 'keep', v: 1 })
    const before = dataFiles(dir, 'todos').length
    await expect(db.put(null as never)).rejects.toThrow('put() expects a document object, got null')
    await expect(db.put(42 as never)).rejects.toThrow('put() expects a document object, got number 42')
    await expect(db.put([1] as never)).rejects.toThrow('put() expects a document object, got an array')
    await expect(db.put({ _id: 7 } as never)).rejects.toThrow('put(): _id must be a non-empty string, got number 7')
    await expect(db.put({ _id: 'f', fn: () => 1 })).rejects.toThrow(
      'put(): document "f" field "fn" is a function (fn), which cannot be stored',
    )
    await expect(db.put({ _id: 'u', deep: { x: Infinity } })).rejects.toThrow('field "deep.x" is Infinity')
    await expect(db.put({ _id: 'n', x: NaN })).rejects.toThrow('field "x" is NaN')
    await expect(db.put({ _id: 'd', when: new Map() })).rejects.toThrow('field "when" is an object (Map)')
    await expect(db.bulk([{ _id: 'ok' }, { _id: 'bad', f: Symbol('s') }] as never)).rejects.toThrow(
      'bulk() document #1: document "bad" field "f" is symbol',
    )
    await expect(db.get(5 as never)).rejects.toThrow(TypeError)
    await expect(db.del('' as never)).rejects.toThrow('del(): _id must be a non-empty string, got the string ""')
    expect(dataFiles(dir, 'todos').length).toBe(before)
    await expect(db.get('ok')).rejects.toThrow(NotFoundError)
    expect(await db.get('keep')).toEqual({ _id: 'keep', v: 1 })
    await db.close()
  })

  it('rejects a bad database name', () => {
    expect(() => database('../etc', { dir: tempDir() })).toThrow(TypeError)
    expect(() => database('', { dir: tempDir() })).toThrow("database(): name must be 1-128 letters")
  })

  it('lists live documents with allDocs, in id order', async () => {
    const db = database('todos', { dir: tempDir() })
    await db.bulk([{ _id: 'b', n: 2 }, { _id: 'a', n: 1 }, { _id: 'c', n: 3 }])
    await db.del('b')
    const { rows } = await db.allDocs()
    expect(rows).toEqual([
      { key: 'a', value: { _id: 'a', n: 1 } },
      { key: 'c', value: { _id: 'c', n: 3 } },
    ])
    await db.close()
  })

  it('fails with ClosedError after close', async () => {
    const db = database('todos', { dir: tempDir() })
    await db.put({ _id: 'a' })
    await db.close()
    const error = await db.get('a').catch((e) => e)
    expect(error).toBeInstanceOf(ClosedError)
    expect(error.name).toBe('ClosedError')
    await expect(db.put({ _id: 'b' })).rejects.toThrow(ClosedError)
    await expect(db.del('a')).rejects.toThrow(ClosedError)
    // A listener added after close would never hear anything: refused, not silently kept.
    expect(() => db.subscribe(() => {})).toThrow(ClosedError)
  })

  it('notifies subscribers after each transaction with the changed docs', async () => {
    const db = database('todos', { dir: tempDir() })
    const seen: unknown[] = []
    const stop = db.subscribe((rows) => seen.push(rows))
    await db.put({ _id: 'a', v: 1 })
    await db.del('a')
    stop()
    await db.put({ _id: 'b', v: 2 })
    expect(seen).toEqual([
      [{ key: 'a', value: { _id: 'a', v: 1 } }],
      [{ key: 'a', value: { _id: 'a' }, deleted: true }],
    ])
    await db.close()
  })
})

describe('transactions and files', () => {
  it('writes one bulk of 1 000 docs as exactly one file', async () => {
    const dir = tempDir()
    const db = database('bulk', { dir })
    const docs = Array.from({ length: 1000 }, (_, i) => ({ _id: `doc-${i}`, title: `title ${i}` }))
    await db.bulk(docs)
    expect(dataFiles(dir, 'bulk')).toHaveLength(1)
    await db.put({ _id: 'one-more' })
    expect(dataFiles(dir, 'bulk')).toHaveLength(2)
    expect((await db.allDocs()).rows).toHaveLength(1001)
    await db.close()
  })

  it('batches concurrent puts into one transaction', async () => {
    const dir = tempDir()
    const db = database('batch', { dir })
    await db.put({ _id: 'first' })
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => db.put({ _id: `c${i}`, i })))
    const clocks = new Set(results.map((r) => r.clock.join()))
    // The first put may commit alone; all puts queued behind it share the next transaction.
    expect(dataFiles(dir, 'batch').length).toBeLessThanOrEqual(3)
    expect(clocks.size).toBeLessThanOrEqual(2)
    expect((await db.allDocs()).rows).toHaveLength(51)
    await db.close()
  })

  it('names every file by the CIDv1 (raw, sha2-256) of its stored bytes', async () => {
    const dir = tempDir()
    const db = database('named', { dir })
    await db.put({ _id: 'a' })
    await db.bulk([{ _id: 'b' }, { _id: 'c' }])
    for (const name of dataFiles(dir, 'named')) {
      const bytes = readDataFile(dir, 'named', name)
      const cid = CID.createV1(raw.code, await sha256.digest(bytes))
      expect(name).toBe(cid.toString())
    }
    await db.close()
  })

  it('stores no document plaintext and no key bytes in any data file', async () => {
    const dir = tempDir()
    const db = database('secret', { dir })
    const marker = 'plaintext-marker-4711'
    await db.bulk(Array.from({ length: 200 }, (_, i) => ({ _id: `${marker}-${i}`, note: `${marker} note ${i}` })))
    const key = base58btc.decode(await db.exportKey())
    await db.close()
    const keyHex = Buffer.from(key).toString('hex')
    for (const name of dataFiles(dir, 'secret')) {
      const bytes = readDataFile(dir, 'secret', name)
      expect(bytes.includes(Buffer.from(marker))).toBe(false)
      expect(bytes.includes(Buffer.from(key))).toBe(false)
      expect(bytes.toString('hex').includes(keyHex)).toBe(false)
    }
    const head = readFileSync(join(dir, 'secret', 'records', 'head.main'))
    expect(head.includes(Buffer.from(key))).toBe(false)
  })

  it('reopens with every document', async () => {
    const dir = tempDir()
    const db = database('reopen', { dir })
    await db.bulk(Array.from({ length: 500 }, (_, i) => ({ _id: `d${i}`, i })))
    await db.put({ _id: 'd7', i: 'seven' })
    await db.del('d8')
    const clock = await db.clock()
    await db.close()
    const again = database('reopen', { dir })
    expect(await again.clock()).toEqual(clock)
    expect(await again.get('d7')).toEqual({ _id: 'd7', i: 'seven' })
    await expect(again.get('d8')).rejects.toThrow(NotFoundError)
    expect((await again.allDocs()).rows).toHaveLength(499)
    await again.close()
  })

  it('raises IntegrityError for a flipped byte in a file', async () => {
    const dir = tempDir()
    const db = database('flip', { dir })
    await db.bulk(Array.from({ length: 100 }, (_, i) => ({ _id: `d${i}` })))
    await db.close()
    const [file] = dataFiles(dir, 'flip')
    const bytes = readDataFile(dir, 'flip', file!)
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01
    overwriteDataFile(dir, 'flip', file!, bytes)
    const again = database('flip', { dir })
    const error = await again.get('d1').catch((e) => e)
    expect(error).toBeInstanceOf(IntegrityError)
    expect(error.name).toBe('IntegrityError')
    expect(error.message).toContain(file)
  })
})

describe('keys', () => {
  it('exports a key that opens a copy of the database elsewhere', async () => {
    const dir = tempDir()
    const db = database('shared', { dir })
    await db.put({ _id: 'a', v: 1 })
    const key = await db.exportKey()
    expect(typeof key).toBe('string')
    await db.close()
    // A second device: the same files, no keybag, the key from the user.
    const other = tempDir()
    const { cpSync, rmSync } = await import('node:fs')
    cpSync(join(dir, 'shared'), join(other, 'shared'), { recursive: true })
    rmSync(join(other, 'shared', 'records', 'keybag'))
    const copy = database('shared', { dir: other, key })
    expect(await copy.get('a')).toEqual({ _id: 'a', v: 1 })
    await copy.close()
  })

  it('raises KeyMismatchError for a key that does not open the database', async () => {
    const dir = tempDir()
    const db = database('locked', { dir })
    await db.put({ _id: 'a' })
    await db.close()
    const wrongKey = base58btc.encode(new Uint8Array(32).fill(7))
    const { rmSync } = await import('node:fs')
    rmSync(join(dir, 'locked', 'records', 'keybag'))
    const wrong = database('locked', { dir, key: wrongKey })
    const error = await wrong.get('a').catch((e) => e)
    expect(error).toBeInstanceOf(KeyMismatchError)
    expect(error.name).toBe('KeyMismatchError')
    expect(error.message).toContain('"locked"')
  })

  it('raises KeyMismatchError when the given key differs from the kept one', async () => {
    const dir = tempDir()
    const db = database('kept', { dir })
    await db.put({ _id: 'a' })
    await db.close()
    const other = database('kept', { dir, key: base58btc.encode(new Uint8Array(32).fill(1)) })
    await expect(other.get('a')).rejects.toThrow(KeyMismatchError)
  })

  it('rejects a malformed key string with a TypeError', async () => {
    const db = database('badkey', { dir: tempDir(), key: 'not-a-key' })
    await expect(db.get('a')).rejects.toThrow("Not a database key: it does not start with 'z'")
  })

  it('keeps the key in the keybag record only', async () => {
    const dir = tempDir()
    const db = database('bag', { dir })
    await db.put({ _id: 'a' })
    const key = Buffer.from(base58btc.decode(await db.exportKey()))
    await db.close()
    const keybag = join(dir, 'bag', 'records', 'keybag')
    expect(readFileSync(keybag).includes(key)).toBe(true)
    // Nowhere else: no data file, no other record (head, indexes, sync records) holds the key's bytes.
    const everyFile = (path: string): string[] =>
      statSync(path).isDirectory() ? readdirSync(path).flatMap((entry) => everyFile(join(path, entry))) : [path]
    const others = everyFile(join(dir, 'bag')).filter((path) => path !== keybag)
    expect(others.length).toBeGreaterThan(1)
    expect(others.filter((path) => readFileSync(path).includes(key))).toEqual([])
  })
})

describe('history', () => {
  it('changes(since) returns only newer rows, newest state per key, deletes marked', async () => {
    const db = database('changes', { dir: tempDir() })
    await db.bulk([{ _id: 'a', v: 1 }, { _id: 'b', v: 1 }, { _id: 'c', v: 1 }])
    const since = await db.clock()
    await db.put({ _id: 'a', v: 2 })
    await db.put({ _id: 'a', v: 3 })
    await db.del('b')
    await db.put({ _id: 'd', v: 1 })
    const { rows, clock } = await db.changes(since)
    expect(rows).toEqual([
      { key: 'a', value: { _id: 'a', v: 3 } },
      { key: 'b', value: { _id: 'b' }, deleted: true },
      { key: 'd', value: { _id: 'd', v: 1 } },
    ])
    expect(clock).toEqual(await db.clock())
    expect((await db.changes(clock)).rows).toEqual([])
    expect((await db.changes()).rows.map((r) => r.key)).toEqual(['a', 'b', 'c', 'd'])
    await db.close()
  })

  it('at(clock) reads the past, read-only, also after reopen', async () => {
    const dir = tempDir()
    const db = database('past', { dir })
    const { clock: first } = await db.put({ _id: 'a', v: 1 })
    await db.put({ _id: 'a', v: 2 })
    await db.put({ _id: 'b', v: 1 })
    const view = await db.at(first)
    expect(await view.get('a')).toEqual({ _id: 'a', v: 1 })
    await expect(view.get('b')).rejects.toThrow(NotFoundError)
    expect((await view.allDocs()).rows).toHaveLength(1)
    expect('put' in view).toBe(false)
    await db.close()
    const again = database('past', { dir })
    const old = await again.at(first)
    expect(await old.get('a')).toEqual({ _id: 'a', v: 1 })
    await expect(again.at(['bafyreib5tsfrsgamvbxbxyceqpc5j7xsxfjeqnk3chupxahr6wwhqyfo2e'])).rejects.toThrow('Unknown clock')
    await again.close()
  })
})
