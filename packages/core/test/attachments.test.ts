import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readParts, seededBytes } from '@proj/test-utils'
import type { Connector } from '../src/connector/api.js'
import { database, type Attachment, type Database, type Doc } from '../src/index.js'
import { tempDir } from './helpers.js'
import { memoryBackend } from './memory-backend.js'

const MiB = 1 << 20


/** Byte equality without a element-by-element diff of megabytes. */
function expectBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.length).toBe(expected.length)
  expect(Buffer.from(actual.buffer, actual.byteOffset, actual.length).equals(expected)).toBe(true)
}

/** The attachment `name` of a document as read. */
function attachment(doc: Doc, name: string): Attachment {
  return (doc._files as Record<string, Attachment>)[name]!
}

async function bytesOf(attachment: Attachment): Promise<Uint8Array> {
  return new Uint8Array(await (await attachment.file()).arrayBuffer())
}

/** A client of a shared memory backend that records every file it moves (CID → bytes). */
function counting(backend: () => Connector) {
  const connector = backend()
  const uploads = new Map<string, number>()
  const downloads = new Map<string, number>()
  const counted: Connector = {
    ...connector,
    async upload(db, cid, bytes) {
      uploads.set(cid, bytes.length)
      return connector.upload(db, cid, bytes)
    },
    async download(db, cid) {
      const bytes = await connector.download(db, cid)
      if (bytes) downloads.set(cid, bytes.length)
      return bytes
    },
  }
  const big = (files: Map<string, number>) => [...files].filter(([, size]) => size > MiB / 2).map(([cid]) => cid)
  return { connector: counted, uploads, downloads, big }
}

/** The local files of a database stored in `dir` (storage 'file'), with their sizes. */
function localFiles(dir: string, name: string): Map<string, number> {
  const folder = join(dir, name, 'files')
  return new Map(
    readdirSync(folder)
      .filter((file) => !file.startsWith('.'))
      .map((file) => [file, statSync(join(folder, file)).size]),
  )
}

const chunkFiles = (files: Map<string, number>) => [...files].filter(([, size]) => size > MiB / 2).map(([file]) => file)

async function twoDevices() {
  const backend = memoryBackend()
  const a = database('photos', { storage: 'memory', compactEvery: 0 })
  const b = database('photos', { storage: 'memory', key: await a.exportKey(), compactEvery: 0 })
  const ca = counting(backend)
  const cb = counting(backend)
  const sa = a.connect(ca.connector, { pollInterval: 0 })
  const sb = b.connect(cb.connector, { pollInterval: 0 })
  await Promise.all([sa.ready, sb.ready])
  return { a, b, ca, cb, sa, sb }
}

describe('attachments', () => {
  it('a 5 MB File round-trips between two devices: metadata on get, content from file()', async () => {
    const { a, b, sa, sb } = await twoDevices()
    const data = seededBytes(5 * MiB + 123, 1)
    const photo = new File([data as BlobPart], 'original-name.bin', { type: 'image/jpeg', lastModified: 1_700_000_000_000 })
    await a.put({ _id: 'p', title: 'beach', _files: { 'photo.jpg': photo } })
    await sa.flush()
    await sb.refresh()
    const doc = await b.get('p')
    expect(doc).toEqual({
      _id: 'p',
      title: 'beach',
      _files: { 'photo.jpg': { type: 'image/jpeg', size: data.length, cid: expect.any(String), lastModified: 1_700_000_000_000 } },
    })
    // The stored metadata is plain data: a JSON copy holds no method.
    expect(JSON.parse(JSON.stringify(doc._files))).toEqual(doc._files)
    const file = await (doc._files as Record<string, Attachment>)['photo.jpg']!.file()
    expect(file).toBeInstanceOf(File)
    expect(file.name).toBe('photo.jpg')
    expect(file.type).toBe('image/jpeg')
    expect(file.lastModified).toBe(1_700_000_000_000)
    expectBytes(new Uint8Array(await file.arrayBuffer()), data)
    // stream() gives the same bytes one chunk at a time.
    const parts = await readParts(attachment(doc, 'photo.jpg').stream())
    expect(parts.map((part) => part.length)).toEqual([MiB, MiB, MiB, MiB, MiB, 123])
    expectBytes(new Uint8Array(Buffer.concat(parts)), data)
    // The writer reads its own copy the same way.
    expectBytes(await bytesOf(attachment(await a.get('p'), 'photo.jpg')), data)
    await Promise.all([sa.close(), sb.close()])
    await Promise.all([a.close(), b.close()])
  })

  it('accepts { data, type } and an empty Blob; allDocs, changes and query see the same metadata', async () => {
    const db = database('kinds', { storage: 'memory' })
    const data = seededBytes(3000, 2)
    await db.put({ _id: 'x', _files: { 'a.bin': { data, type: 'application/octet-stream' }, 'empty.txt': new Blob([], { type: 'text/plain' }) } })
    data.fill(0) // the caller's array changing later does not reach what was stored
    const doc = await db.get('x')
    expect(attachment(doc, 'a.bin')).toMatchObject({ type: 'application/octet-stream', size: 3000 })
    expect(attachment(doc, 'a.bin').lastModified).toBeUndefined()
    expectBytes(await bytesOf(attachment(doc, 'a.bin')), seededBytes(3000, 2))
    expectBytes(await bytesOf(attachment(doc, 'empty.txt')), new Uint8Array())
    const fromAll = (await db.allDocs()).rows[0]!.value._files as Record<string, Attachment>
    expect(await bytesOf(fromAll['a.bin']!)).toEqual(seededBytes(3000, 2))
    const fromChanges = (await db.changes()).rows[0]!.value._files as Record<string, Attachment>
    expect(await bytesOf(fromChanges['a.bin']!)).toEqual(seededBytes(3000, 2))
    const fromQuery = (await db.query((d) => [d._id], { includeDocs: true })).rows[0]!.doc!._files as Record<string, Attachment>
    expect(await bytesOf(fromQuery['a.bin']!)).toEqual(seededBytes(3000, 2))
    await db.close()
  })

  it('a device that never opens an attachment never downloads it; file() downloads exactly its chunk files', async () => {
    const { a, b, ca, cb, sa, sb } = await twoDevices()
    await a.put({ _id: 'p', _files: { 'video.mp4': new Blob([seededBytes(3 * MiB, 3) as BlobPart], { type: 'video/mp4' }) } })
    await sa.flush()
    const chunks = ca.big(ca.uploads)
    expect(chunks).toHaveLength(3)
    await sb.refresh()
    const doc = await b.get('p')
    expect(doc._files).toMatchObject({ 'video.mp4': { size: 3 * MiB } })
    expect(cb.big(cb.downloads)).toEqual([])
    expectBytes(await bytesOf(attachment(doc, 'video.mp4')), seededBytes(3 * MiB, 3))
    expect(cb.big(cb.downloads).sort()).toEqual([...chunks].sort())
    await Promise.all([sa.close(), sb.close()])
    await Promise.all([a.close(), b.close()])
  })

  it('an update that keeps an attachment stores and uploads nothing new for it, on either device', async () => {
    const { a, b, ca, cb, sa, sb } = await twoDevices()
    const data = seededBytes(2 * MiB + 5, 4)
    await a.put({ _id: 'p', title: 'one', _files: { 'x.bin': { data, type: 'application/x' } } })
    await sa.flush()
    const uploadedBefore = ca.uploads.size
    const first = await a.get('p')
    await a.put({ ...first, title: 'two' })
    await sa.flush()
    // One new file (the transaction), and no chunk.
    expect(ca.uploads.size).toBe(uploadedBefore + 1)
    expect(ca.big(ca.uploads)).toHaveLength(3 - 1)
    expect(await a.get('p')).toEqual({ ...first, title: 'two' })
    // The lazy device keeps it too: no chunk goes down or up.
    await sb.refresh()
    const seen = await b.get('p')
    await b.put({ ...seen, title: 'three' })
    await sb.flush()
    expect(cb.big(cb.downloads)).toEqual([])
    expect(cb.big(cb.uploads)).toEqual([])
    await sa.refresh()
    expectBytes(await bytesOf(attachment(await a.get('p'), 'x.bin')), data)
    // A JSON copy of the metadata keeps it as well.
    const copy = JSON.parse(JSON.stringify(await a.get('p')))
    await a.put({ ...copy, title: 'four' })
    expectBytes(await bytesOf(attachment(await a.get('p'), 'x.bin')), data)
    await Promise.all([sa.close(), sb.close()])
    await Promise.all([a.close(), b.close()])
  })

  it("a lazy device's checkpoint over a leaf naming an attachment it never opened moves none of its chunks", async () => {
    const { a, b, ca, cb, sa, sb } = await twoDevices()
    await a.put({ _id: 'p', _files: { 'x.bin': { data: seededBytes(2 * MiB, 21), type: 'application/x' } } })
    await sa.flush()
    await sb.refresh()
    expect((await b.get('p'))._files).toMatchObject({ 'x.bin': { size: 2 * MiB } })
    // Enough single puts for checkpoints, each rewriting the leaf that names p's manifest.
    for (let i = 0; i < 70; i++) await b.put({ _id: `p-${i}`, i })
    await sb.flush()
    expect(cb.big(cb.downloads)).toEqual([])
    expect(cb.big(cb.uploads)).toEqual([])
    await sa.refresh()
    expect((await a.info()).docCount).toBe(71)
    await Promise.all([sa.close(), sb.close()])
    await Promise.all([a.close(), b.close()])
  })

  it('a lazy device that compacts and pushes moves none of the chunks it never opened', async () => {
    const { a, b, ca, cb, sa, sb } = await twoDevices()
    await a.put({ _id: 'p', _files: { 'x.bin': { data: seededBytes(2 * MiB, 9), type: 'application/x' } } })
    await sa.flush()
    expect(ca.big(ca.uploads)).toHaveLength(2)
    await sb.refresh()
    await b.put({ _id: 'q', note: 'written on b' })
    // The compaction's files name the chunk files directly; the backend holds them (a file it served comes
    // with everything it references), so the push neither downloads nor uploads them.
    await b.compact()
    await sb.flush()
    expect(cb.big(cb.downloads)).toEqual([])
    expect(cb.big(cb.uploads)).toEqual([])
    await sa.refresh()
    expect(await a.get('q')).toEqual({ _id: 'q', note: 'written on b' })
    await Promise.all([sa.close(), sb.close()])
    await Promise.all([a.close(), b.close()])
  })

  it('a lazy device writing next to an attachment it never opened (same tree leaf, older file) moves none of its chunks', async () => {
    const { a, b, ca, cb, sa, sb } = await twoDevices()
    await a.put({ _id: 'p', _files: { 'x.bin': { data: seededBytes(2 * MiB, 8), type: 'application/x' } } })
    await a.put({ _id: 'q', note: 'rewrites the leaf in a later file' })
    await sa.flush()
    expect(ca.big(ca.uploads)).toHaveLength(2)
    await sb.refresh()
    expect(await b.get('p')).toMatchObject({ _files: { 'x.bin': { size: 2 * MiB } } })
    await b.put({ _id: 'r', note: 'same leaf as p' })
    await sb.flush()
    await b.put({ ...(await b.get('p')), note: 'p kept' })
    await sb.flush()
    expect(cb.big(cb.downloads)).toEqual([])
    expect(cb.big(cb.uploads)).toEqual([])
    await sa.refresh()
    expect(await a.get('p')).toMatchObject({ note: 'p kept', _files: { 'x.bin': { size: 2 * MiB } } })
    await Promise.all([sa.close(), sb.close()])
    await Promise.all([a.close(), b.close()])
  })

  it('a flipped byte in a stored chunk is an IntegrityError, locally and from a backend', async () => {
    const dir = tempDir()
    const db = database('flip', { dir, storage: 'file', compactEvery: 0 })
    const data = seededBytes(2 * MiB, 5)
    await db.put({ _id: 'p', _files: { 'a.bin': { data, type: 'application/x' } } })
    const [chunk] = chunkFiles(localFiles(dir, 'flip'))
    const path = join(dir, 'flip', 'files', chunk!)
    const bytes = readFileSync(path)
    bytes[bytes.length >> 1]! ^= 0x01
    writeFileSync(path, bytes)
    const failure = await attachment(await db.get('p'), 'a.bin').file().catch((e: unknown) => e)
    expect(failure).toMatchObject({ name: 'IntegrityError' })
    expect((failure as Error).message).toContain(chunk)
    await db.close()

    // The same byte flipped at the backend: the second device refuses it before decrypting.
    const raw = memoryBackend()
    const tampering = (): Connector => {
      const inner = raw()
      return {
        ...inner,
        async download(name, cid) {
          const stored = await inner.download(name, cid)
          if (!stored || stored.length < MiB / 2) return stored
          const altered = stored.slice()
          altered[100]! ^= 0x80
          return altered
        },
      }
    }
    const a = database('flip2', { storage: 'memory' })
    const b = database('flip2', { storage: 'memory', key: await a.exportKey() })
    const sa = a.connect(tampering(), { pollInterval: 0 })
    const sb = b.connect(tampering(), { pollInterval: 0 })
    await a.put({ _id: 'p', _files: { 'a.bin': { data, type: 'application/x' } } })
    await sa.flush()
    await sb.refresh()
    const remoteFailure = await attachment(await b.get('p'), 'a.bin').file().catch((e: unknown) => e)
    expect(remoteFailure).toMatchObject({ name: 'IntegrityError' })
    await Promise.all([sa.close(), sb.close()])
    await Promise.all([a.close(), b.close()])
  })

  it('compaction keeps the chunks of live attachments; a delete then a compaction removes them from disk', async () => {
    const dir = tempDir()
    let db: Database = database('gc', { dir, storage: 'file', compactEvery: 0 })
    const data = seededBytes(4 * MiB - 1000, 6)
    await db.put({ _id: 'p', _files: { 'a.bin': { data, type: 'application/x' } } })
    await db.put({ _id: 'q', note: 'no files' })
    expect(chunkFiles(localFiles(dir, 'gc'))).toHaveLength(4)
    await db.compact()
    expect(chunkFiles(localFiles(dir, 'gc'))).toHaveLength(4)
    await db.close()
    db = database('gc', { dir, storage: 'file', compactEvery: 0 })
    expectBytes(await bytesOf(attachment(await db.get('p'), 'a.bin')), data)
    await db.del('p')
    await db.compact()
    const after = localFiles(dir, 'gc')
    expect(chunkFiles(after)).toEqual([])
    expect([...after.values()].reduce((sum, size) => sum + size, 0)).toBeLessThan(64 * 1024)
    expect(await db.get('q')).toEqual({ _id: 'q', note: 'no files' })
    await db.close()
  })

  it('at(clock) gives the attachment of that clock after a replacement', async () => {
    const db = database('history', { storage: 'memory', compactEvery: 0 })
    const { clock: before } = await db.put({ _id: 'p', _files: { 'a.txt': { data: new TextEncoder().encode('first'), type: 'text/plain' } } })
    await db.put({ _id: 'p', _files: { 'a.txt': new Blob(['second version'], { type: 'text/plain' }) } })
    const now = (await db.get('p'))._files as Record<string, Attachment>
    expect(await (await now['a.txt']!.file()).text()).toBe('second version')
    const old = (await (await db.at(before)).get('p'))._files as Record<string, Attachment>
    expect(old['a.txt']!.size).toBe(5)
    expect(await (await old['a.txt']!.file()).text()).toBe('first')
    await db.close()
  })

  it('concurrent versions with attachments merge: the loser stays readable as a conflict, on both devices', async () => {
    const backend = memoryBackend()
    const a = database('merge', { storage: 'memory', compactEvery: 0 })
    const b = database('merge', { storage: 'memory', key: await a.exportKey(), compactEvery: 0 })
    await a.put({ _id: 'p', _files: { 'x.txt': new Blob(['from a'], { type: 'text/plain' }) } })
    await b.put({ _id: 'p', _files: { 'x.txt': new Blob(['from b, longer'], { type: 'text/plain' }) } })
    const sa = a.connect(backend(), { pollInterval: 0 })
    const sb = b.connect(backend(), { pollInterval: 0 })
    await sa.flush()
    await sb.flush()
    await sa.refresh()
    await sb.flush()
    expect(await a.clock()).toEqual(await b.clock())
    for (const db of [a, b]) {
      const doc = await db.get('p', { conflicts: true })
      const texts = [doc, ...(doc._conflicts as Doc[])].map((version) => attachment(version, 'x.txt').file().then((f) => f.text()))
      expect((await Promise.all(texts)).sort()).toEqual(['from a', 'from b, longer'])
    }
    await Promise.all([sa.close(), sb.close()])
    await Promise.all([a.close(), b.close()])
  })

  it('attachments read the same after a restart and after a compaction, from local files only', async () => {
    const dir = tempDir()
    const data = seededBytes(MiB + 17, 7)
    let db: Database = database('cold', { dir, storage: 'file', compactEvery: 0 })
    const { clock } = await db.put({ _id: 'p', _files: { 'a.bin': { data, type: 'application/x', lastModified: 5 } } })
    await db.close()
    db = database('cold', { dir, storage: 'file', compactEvery: 0 })
    expect(attachment(await db.get('p'), 'a.bin')).toEqual({ type: 'application/x', size: MiB + 17, cid: expect.any(String), lastModified: 5 })
    expectBytes(await bytesOf(attachment(await db.get('p'), 'a.bin')), data)
    await db.put({ _id: 'p', note: 'attachment removed' })
    await db.compact()
    await db.close()
    db = database('cold', { dir, storage: 'file', compactEvery: 0 })
    expect(await db.get('p')).toEqual({ _id: 'p', note: 'attachment removed' })
    // The old clock's files are gone locally and no replica is connected.
    await expect(db.at(clock)).rejects.toMatchObject({ name: 'HistoryUnavailableError' })
    expect(chunkFiles(localFiles(dir, 'cold'))).toEqual([])
    await db.close()
  })

  it('attachments written before and after a key rotation read on a device given the new key', async () => {
    const backend = memoryBackend()
    const a = database('rotated', { storage: 'memory', compactEvery: 0 })
    const sa = a.connect(backend(), { pollInterval: 0 })
    await a.put({ _id: 'old', _files: { 'o.txt': new Blob(['sealed with the first key']) } })
    await sa.flush()
    const newKey = await a.rotateKey()
    await a.put({ _id: 'new', _files: { 'n.txt': new Blob(['sealed with the second key']) } })
    await sa.flush()
    const b = database('rotated', { storage: 'memory', key: newKey, compactEvery: 0 })
    const sb = b.connect(backend(), { pollInterval: 0 })
    await sb.ready
    expect(await (await attachment(await b.get('old'), 'o.txt').file()).text()).toBe('sealed with the first key')
    expect(await (await attachment(await b.get('new'), 'n.txt').file()).text()).toBe('sealed with the second key')
    await Promise.all([sa.close(), sb.close()])
    await Promise.all([a.close(), b.close()])
  })

  it('refuses what is not an attachment with a TypeError naming the field, and stores nothing', async () => {
    const db = database('bad', { storage: 'memory' })
    const refused = async (doc: Record<string, unknown>, message: string | RegExp) => {
      const error = await db.put(doc).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(TypeError)
      expect((error as Error).message).toMatch(message)
    }
    await refused({ _id: 'a', _files: 'photo.jpg' }, /document "a" field "_files" must be an object of attachments by file name, got the string "photo.jpg"/)
    await refused({ _id: 'a', _files: [new Blob(['x'])] }, /field "_files" must be an object of attachments by file name, got an array/)
    await refused({ _id: 'a', _files: { 'x.bin': 42 } }, /field "_files.x.bin" is number 42, which is not an attachment/)
    await refused({ _id: 'a', _files: { 'x.bin': new Map() } }, /field "_files.x.bin" is an object \(Map\), which is not an attachment/)
    await refused({ _id: 'a', _files: { 'x.bin': { data: 'text', type: 'text/plain' } } }, /field "_files.x.bin" has data the string "text", not a Uint8Array/)
    await refused({ _id: 'a', _files: { 'x.bin': { data: new Uint8Array(1) } } }, /field "_files.x.bin" has type undefined, not a MIME type string/)
    await refused({ _id: 'a', _files: { 'x.bin': { type: 'text/plain' } } }, /field "_files.x.bin" has neither data/)
    await refused({ _id: 'a', _files: { 'x.bin': { data: new Uint8Array(1), type: 'x', lastModified: 'today' } } }, /field "_files.x.bin" has lastModified the string "today", not a number of milliseconds/)
    await refused({ _id: 'a', _files: { 'x.bin': { cid: 'not a cid', type: 'x' } } }, /has cid the string "not a cid", which is not the CID of an attachment/)
    await refused({ _id: 'a', _files: { '': new Blob(['x']) } }, /field "_files." has an empty file name/)
    // Names and types that would read back otherwise: a lone surrogate (stored as U+FFFD), `__proto__` (the
    // attachment was lost: assigning it set the prototype of the files object).
    await refused({ _id: 'a', _files: { 'a\uD800.txt': new Blob(['x']) } }, /field "_files.a\\ud800.txt" is named by a string with a lone UTF-16 surrogate at index 1, which cannot be stored/)
    await refused({ _id: 'a', _files: { 'x.bin': { data: new Uint8Array(1), type: 'text/\uDC00' } } }, /field "_files.x.bin" has type a string with a lone UTF-16 surrogate at index 5, which cannot be stored/)
    await refused(JSON.parse('{"_id":"a","_files":{"__proto__":{"data":[1],"type":"x"}}}') as Record<string, unknown>, /field "_files.__proto__" is named "__proto__", which cannot be a file name/)
    const protoNamed: Record<string, unknown> = {}
    Object.defineProperty(protoNamed, '__proto__', { value: new Blob(['x']), enumerable: true })
    await refused({ _id: 'a', _files: protoNamed }, /field "_files.__proto__" is named "__proto__", which cannot be a file name/)
    // A well-formed CID this database holds no attachment for: refused when the write commits.
    const stranger = 'bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'
    await refused({ _id: 'a', _files: { 'x.bin': { cid: stranger, type: 'x', size: 1 } } }, /_files.x.bin: cid .* names no attachment stored in this database/)
    await expect(db.get('a')).rejects.toMatchObject({ name: 'NotFoundError' })
    // Other fields keep their rules; a later good write goes through.
    await db.put({ _id: 'a', _files: { 'x.bin': { data: new Uint8Array([7]), type: 'x' } } })
    expectBytes(await bytesOf(attachment(await db.get('a'), 'x.bin')), new Uint8Array([7]))
    await db.close()
  })
})
