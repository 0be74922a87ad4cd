import { describe, expect, it } from 'vitest'
import { seededBytes } from '@proj/test-utils'
import type { Connector } from '../src/connector/api.js'
import { IntegrityError, database, isPermanentError, type Attachment, type Doc } from '../src/index.js'
import { dataFiles, overwriteDataFile, readDataFile, tempDir } from './helpers.js'
import { memoryBackend } from './memory-backend.js'

// A bulk of DOCS documents (~1.3 MB of blocks) is one transaction: above 256 KiB it is cut into files of
// ~32 KiB, so that a cold read opens the last file and the few on its path (BlockStore.commit).
const DOCS = 6000
const doc = (i: number) => ({ _id: `doc-${String(i).padStart(5, '0')}`, n: i, title: `item ${i}`, body: 'b'.repeat(160) + i })
const TARGET = doc(3701)

async function bulkLoaded(dir: string, name: string): Promise<void> {
  const db = database(name, { dir, compactEvery: 0 })
  await db.bulk(Array.from({ length: DOCS }, (_, i) => doc(i)))
  await db.close()
}

/** Opens the database cold and gets TARGET: the doc, or what the get threw. */
async function coldGet(dir: string, name: string): Promise<{ doc?: unknown; error?: unknown }> {
  const db = database(name, { dir })
  try {
    return { doc: await db.get(TARGET._id) }
  } catch (error) {
    return { error }
  } finally {
    await db.close()
  }
}

/** For each stored file in turn: one byte flipped in it, a cold get, the bytes restored. */
async function getWithEachFileDamaged(dir: string, name: string): Promise<Map<string, { doc?: unknown; error?: unknown }>> {
  const outcomes = new Map<string, { doc?: unknown; error?: unknown }>()
  for (const file of dataFiles(dir, name)) {
    const good = readDataFile(dir, name, file)
    const bad = Uint8Array.from(good)
    bad[bad.length >> 1]! ^= 0x01
    overwriteDataFile(dir, name, file, bad)
    outcomes.set(file, await coldGet(dir, name))
    overwriteDataFile(dir, name, file, good)
  }
  return outcomes
}

describe('cold reads of a bulk-loaded database', () => {
  it('a cold get reads only the files on its path: a damaged byte anywhere else leaves it intact', async () => {
    const dir = tempDir()
    await bulkLoaded(dir, 'bulk')
    const files = dataFiles(dir, 'bulk')
    // One file per bulk before: a get then depended on every byte of it.
    expect(files.length).toBeGreaterThan(20)
    const outcomes = await getWithEachFileDamaged(dir, 'bulk')
    const read = [...outcomes].filter(([, outcome]) => outcome.error !== undefined).map(([file]) => file)
    // The last file (event, tree root and upper branches), the file with the doc's branch node, its leaf's.
    expect(read.length).toBeGreaterThanOrEqual(1)
    expect(read.length).toBeLessThanOrEqual(3)
    for (const [file, outcome] of outcomes) if (!read.includes(file)) expect(outcome.doc).toEqual(TARGET)
    // Nothing was lost: every byte restored, every document reads back.
    const db = database('bulk', { dir })
    const rows = (await db.allDocs()).rows
    expect(rows).toHaveLength(DOCS)
    expect(rows[1234]!.value).toEqual(doc(1234))
    await db.close()
  })

  it('a flipped byte in a file the get reads is refused with a permanent IntegrityError naming that file', async () => {
    const dir = tempDir()
    await bulkLoaded(dir, 'bulk')
    const outcomes = await getWithEachFileDamaged(dir, 'bulk')
    const refused = [...outcomes].filter(([, outcome]) => outcome.error !== undefined)
    expect(refused.length).toBeGreaterThanOrEqual(1)
    for (const [file, { error, doc }] of refused) {
      expect(doc).toBeUndefined()
      expect(error).toBeInstanceOf(IntegrityError)
      expect((error as IntegrityError).message).toContain(file)
      expect(isPermanentError(error)).toBe(true)
    }
    expect((await coldGet(dir, 'bulk')).doc).toEqual(TARGET)
  })

  it('a device starting lazily from a backend downloads only the files a get needs, and all of them for a scan', async () => {
    const backend = memoryBackend()
    const uploads = new Set<string>()
    const downloads = new Set<string>()
    const counting = (): Connector => {
      const inner = backend()
      return {
        ...inner,
        upload: async (db, cid, bytes) => {
          uploads.add(cid)
          return inner.upload(db, cid, bytes)
        },
        download: async (db, cid) => {
          downloads.add(cid)
          return inner.download(db, cid)
        },
      }
    }
    const a = database('shared', { storage: 'memory', compactEvery: 0 })
    await a.bulk(Array.from({ length: DOCS }, (_, i) => doc(i)))
    const sa = a.connect(counting(), { pollInterval: 0 })
    await sa.flush()
    const uploaded = uploads.size
    const b = database('shared', { storage: 'memory', key: await a.exportKey(), compactEvery: 0 })
    const sb = b.connect(counting(), { pollInterval: 0 })
    await sb.ready
    expect(await b.get(TARGET._id)).toEqual(TARGET)
    const forGet = downloads.size
    expect(uploaded).toBeGreaterThan(20)
    expect(forGet).toBeLessThanOrEqual(4)
    const rows = (await b.allDocs()).rows
    expect(rows).toHaveLength(DOCS)
    expect(rows.map((row) => row.value)).toEqual(Array.from({ length: DOCS }, (_, i) => doc(i)))
    expect(downloads.size).toBe(uploaded)
    await Promise.all([sa.close(), sb.close()])
    await Promise.all([a.close(), b.close()])
  })

  it('after a key rotation, a bulk with attachments cut into files reads back on a fresh device: docs, attachments, older docs', async () => {
    const backend = memoryBackend()
    const a = database('cut', { storage: 'memory', compactEvery: 0 })
    const sa = a.connect(backend(), { pollInterval: 0 })
    await a.put({ _id: 'before', v: 1 })
    const key = await a.rotateKey()
    const withFile = (i: number) => (i % 500 === 7 ? { ...doc(i), _files: { 'f.bin': { data: seededBytes(3000 + i, i), type: 'application/x-test' } } } : doc(i))
    await a.bulk(Array.from({ length: DOCS }, (_, i) => withFile(i)))
    await sa.flush()
    // A merge of two bulks is one large transaction too.
    const b = database('cut', { storage: 'memory', key, compactEvery: 0 })
    const sb = b.connect(backend(), { pollInterval: 0 })
    await sb.ready
    await b.bulk(Array.from({ length: 2000 }, (_, i) => ({ ...doc(i * 3), by: 'b' })))
    await a.bulk(Array.from({ length: 2000 }, (_, i) => ({ ...doc(i * 3 + 1), by: 'a' })))
    await sa.flush()
    await sb.flush()
    await sa.refresh()
    await sb.refresh()
    expect(await a.clock()).toEqual(await b.clock())

    const c = database('cut', { storage: 'memory', key, compactEvery: 0 })
    const sc = c.connect(backend(), { pollInterval: 0 })
    await sc.ready
    const got = (await c.get(doc(2507)._id)) as Doc
    const file = await (got._files as Record<string, Attachment>)['f.bin']!.file()
    expect(Buffer.from(await file.arrayBuffer()).equals(seededBytes(3000 + 2507, 2507))).toBe(true)
    expect(await c.get('before')).toEqual({ _id: 'before', v: 1 })
    const rows = (await c.allDocs()).rows
    expect(rows).toHaveLength(DOCS + 1)
    for (const i of [0, 1, 2, 7, 2999, 4500, DOCS - 1]) {
      const expected = i < 6000 && i % 3 === 0 ? { ...doc(i), by: 'b' } : i % 3 === 1 ? { ...doc(i), by: 'a' } : doc(i)
      const { _files, ...value } = rows.find((row) => row.key === doc(i)._id)!.value as Doc
      expect(value).toEqual(expected)
    }
    await Promise.all([sa.close(), sb.close(), sc.close()])
    await Promise.all([a.close(), b.close(), c.close()])
  })
})
