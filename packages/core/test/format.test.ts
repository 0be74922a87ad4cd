import * as CarBufferWriter from '@ipld/car/buffer-writer'
import * as dagCbor from '@ipld/dag-cbor'
import { cpSync, readFileSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fromHex, toHex } from 'multiformats/bytes'
import { CID } from 'multiformats/cid'
import { describe, expect, it } from 'vitest'
import { open, seal } from '../src/crypto/envelope.js'
import { importKey, keyFromString } from '../src/crypto/key.js'
import * as format from '../src/format/index.js'
import { database, FormatVersionError, type Clock, type MapFn } from '../src/index.js'
import { FormatVersionError as KitFormatVersionError, isPermanentError } from '../src/kit.js'
import { encodings, rootless, values } from './fixtures/format-values.js'
import { countLiveEntries } from '../src/format/tree-node.js'
import { tempDir } from './helpers.js'

/**
 * The golden database (test/fixtures/golden-v1, written by generate.ts with the code of its day) must open
 * and read the same forever; the pinned bytes (format-v1-bytes.json) must be what every encoder writes.
 * A change that breaks either needs a format version bump and a migration (docs/FORMAT.md).
 */
const fixture = join(import.meta.dirname, 'fixtures', 'golden-v1')
const key = readFileSync(join(fixture, 'key.txt'), 'utf8').trim()
const clocks = JSON.parse(readFileSync(join(fixture, 'clocks.json'), 'utf8')) as Record<'beforeCompaction' | 'older' | 'head', Clock>
const pinned = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'format-v2-bytes.json'), 'utf8')) as Record<string, string>
const pinnedV1 = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'format-v1-bytes.json'), 'utf8')) as Record<string, string>
/** Shapes of format-v1-bytes.json written under a newer record version since (each with a migration test). */
const MOVED_SINCE_V1 = new Set(['index record'])

/** A copy of the golden database (opening writes records and LOCK): returns its `dir` and its folder. */
function golden(): { dir: string; root: string } {
  const dir = tempDir()
  cpSync(join(fixture, 'db'), dir, { recursive: true })
  return { dir, root: join(dir, 'golden') }
}

const record = (root: string, name: string) => join(root, 'records', name)
const dataFile = (root: string, cid: string) => join(root, 'files', cid)
const newestFile = 'bafkreifkpa26gs57t4tbwqpuu7apc352tlxx2ykunhmnl5uent2pudbwsy'

/** The named index's map function, with the source text the fixture stored for it (so it is not rebuilt). */
const byAge = new Function('return (doc,emit)=>{if(typeof doc.age==="number")emit(doc.age,doc._id)}')() as MapFn

const alice = { _id: 'alice', age: 32, city: 'Lyon', tags: ['admin'] }
const carol = { _id: 'carol', age: 46, city: 'Lyon' }
const carolNice = { _id: 'carol', age: 45, city: 'Nice' }
const erin = { _id: 'erin', age: 38, city: 'Oslo' }
const frank = { _id: 'frank', age: 52, city: 'Porto' }
const dave = { _id: 'dave', age: 19, city: 'Porto', bytes: new Uint8Array([1, 2, 3]) }

/** The golden databases of each format version: the same writes, made by the code of that version. */
const goldens = [1, 2].map((version) => {
  const folder = join(import.meta.dirname, 'fixtures', `golden-v${version}`)
  return {
    version,
    folder,
    key: readFileSync(join(folder, 'key.txt'), 'utf8').trim(),
    clocks: JSON.parse(readFileSync(join(folder, 'clocks.json'), 'utf8')) as Record<'beforeCompaction' | 'older' | 'head', Clock>,
  }
})

describe.each(goldens)('the golden database written by format version $version', ({ version, folder, key, clocks }) => {
  function golden(): { dir: string; root: string } {
    const dir = tempDir()
    cpSync(join(folder, 'db'), dir, { recursive: true })
    return { dir, root: join(dir, 'golden') }
  }

  it('holds the shapes of its version: version 2 files with delta events, the head among them', async () => {
    const { root } = golden()
    const head = format.decodeHeadRecord(readFileSync(record(root, 'head.main')), 'head')[0]!
    const plain = await open(await importKey(keyFromString(key)), readFileSync(dataFile(root, head.files[0]!)), 'head file', 'golden')
    const { header, blocks } = await format.decodeCar(plain, 'head file')
    expect(header.v).toBe(version)
    const event = await format.verifyBlock(blocks.find((block) => block.cid.equals(head.heads[0]!))!, 'head file')
    expect(format.isDelta(format.decodeEvent(event.value, event.cid))).toBe(version === 2)
  })

  it('opens with storage "file" and reads exactly what was written: docs, queries, changes, conflicts, history', async () => {
    const { dir } = golden()
    const db = database('golden', { dir, storage: 'file', key, compactEvery: 0 })
    expect(await db.clock()).toEqual(clocks.head)
    expect((await db.allDocs()).rows).toEqual([alice, carol, erin, frank].map((doc) => ({ key: doc._id, value: doc })))
    expect(await db.get('carol', { conflicts: true })).toEqual({ ...carol, _conflicts: [carolNice] })
    await expect(db.get('bob')).rejects.toThrow('Document not found: "bob"')
    expect((await db.query('city', { key: 'Lyon' })).rows).toEqual([
      { id: 'alice', key: 'Lyon' },
      { id: 'carol', key: 'Lyon' },
    ])
    expect((await db.index('byAge', byAge).query({ range: [30, 50] })).rows).toEqual([
      { id: 'alice', key: 32, value: 'alice' },
      { id: 'erin', key: 38, value: 'erin' },
      { id: 'carol', key: 46, value: 'carol' },
    ])
    expect(await db.changes()).toEqual({
      rows: [
        { key: 'alice', value: alice },
        { key: 'bob', value: { _id: 'bob' }, deleted: true },
        { key: 'carol', value: carol },
        { key: 'dave', value: { _id: 'dave' }, deleted: true },
        { key: 'erin', value: erin },
        { key: 'frank', value: frank },
      ],
      clock: clocks.head,
    })
    expect((await db.changes(clocks.older)).rows).toEqual([
      { key: 'alice', value: alice },
      { key: 'dave', value: { _id: 'dave' }, deleted: true },
    ])
    const older = await db.at(clocks.older)
    expect((await older.allDocs()).rows.map((row) => row.value)).toEqual([
      { _id: 'alice', age: 31, city: 'Lyon', tags: ['admin', 'ops'] },
      carol,
      dave,
      erin,
      frank,
    ])
    // The clock the compaction ran at: its event was rewritten into the compaction's files.
    const compacted = await db.at(clocks.beforeCompaction)
    expect((await compacted.allDocs()).rows.map((row) => row.key)).toEqual(['alice', 'carol', 'dave', 'erin'])
    expect(await compacted.get('carol', { conflicts: true })).toEqual({ ...carol, _conflicts: [carolNice] })
    await db.close()
  })

  it('opens without the key (from its keybag), and a write stores its records in the current version', async () => {
    const { dir, root } = golden()
    const stored = dagCbor.decode(readFileSync(record(root, 'head.main'))) as Record<string, unknown>
    // Version 1's records were written before records carried a version.
    expect(stored.v).toBe(version === 1 ? undefined : 1)
    const db = database('golden', { dir })
    expect(await db.exportKey()).toBe(key)
    await db.put({ _id: 'grace', age: 28 })
    await db.compact()
    await db.close()
    for (const name of ['head.main', 'compaction']) {
      expect((dagCbor.decode(readFileSync(record(root, name))) as { v?: number }).v).toBe(1)
    }
    const again = database('golden', { dir })
    expect((await again.allDocs()).rows.map((row) => row.key)).toEqual(['alice', 'carol', 'erin', 'frank', 'grace'])
    await again.close()
  })
})

describe('pinned bytes of every encoder (format version 2)', () => {
  it('encodes the fixed values to the checked-in bytes', async () => {
    const encoded = Object.fromEntries(Object.entries(await encodings()).map(([name, bytes]) => [name, toHex(bytes)]))
    expect(Object.keys(encoded).sort()).toEqual(Object.keys(pinned).sort())
    for (const [name, hex] of Object.entries(pinned)) expect({ name, hex: encoded[name] }).toEqual({ name, hex })
  })

  it('writes every shape version 1 had exactly as version 1 did, but for records whose version moved since', async () => {
    const encoded = Object.fromEntries(Object.entries(await encodings()).map(([name, bytes]) => [name, toHex(bytes)]))
    for (const [name, hex] of Object.entries(pinnedV1)) {
      if (!MOVED_SINCE_V1.has(name)) expect({ name, hex: encoded[name] }).toEqual({ name, hex })
    }
  })

  it('reads a version 1 index record as no index (each is built again when first queried: its object keys may be in another order)', () => {
    expect(format.decodeIndexRecord(fromHex(pinnedV1['index record']!), 'The test record')).toEqual([])
  })

  it('decodes the pinned delta event and its version 2 file', async () => {
    const bytes = (name: string) => fromHex(pinned[name]!)
    const { header, blocks } = await format.decodeCar(bytes('file version 2 (CAR: header, delta event)'), 'file x')
    expect(header.v).toBe(2)
    const deltaCid = CID.decode(bytes('delta clock event CID'))
    expect(header.heads.map(String)).toEqual([deltaCid.toString()])
    const event = await format.verifyBlock(blocks[0]!, 'file x')
    const decoded = format.decodeEvent(event.value, event.cid)
    expect(decoded).toEqual({ p: [values.head.heads[0]], h: 10, d: values.leaf.e })
    expect(format.isDelta(decoded)).toBe(true)
  })

  it('decodes head records and meta entries of version 2 (a delta head with no root); version 1 still needs the root', () => {
    const bytes = (name: string) => fromHex(pinned[name]!)
    const where = 'The test record'
    expect(format.decodeHeadRecord(bytes('head record version 2 (a delta head with no root)'), where)).toEqual([rootless(values.head), values.merged])
    expect(format.decodeMetaEntry(bytes('meta entry version 2 (plaintext, no root)'), where)).toEqual(rootless(values.merged))
    // A head with a root is written as version 1, byte for byte as before.
    expect(toHex(format.encodeHeadRecord(values.head))).toBe(pinnedV1['head record'])
    const noRootV1 = dagCbor.encode({ v: 1, heads: values.head.heads, files: values.head.files, height: 3 })
    expect(() => format.decodeHeadRecord(noRootV1, where)).toThrow('The test record is corrupt: not a head (heads, files, root, height)')
    const badRootV2 = dagCbor.encode({ v: 2, heads: values.head.heads, files: values.head.files, root: 'x', height: 3 })
    expect(() => format.decodeMetaEntry(badRootV2, where)).toThrow('The test record is corrupt: not a head (heads, files, root?, height)')
  })

  it('refuses malformed delta events: two parents, a root and entries, unsorted or malformed entries', async () => {
    const [a, b] = [values.head.heads[0]!, values.merged.heads[0]!]
    const bad = [
      { p: [a, b], h: 3, d: [] },
      { p: [a], h: 3, d: [], r: values.head.root },
      { p: [a], h: 3, d: [['b', 3, null], ['a', 3, null]] },
      { p: [a], h: 3, d: [['a', 3, null], ['a', 3, null]] },
      { p: [a], h: 3, d: [['a', 'x', null]] },
      { p: [a], h: 3, d: 'entries' },
    ]
    for (const value of bad) {
      const block = await format.encodeBlock(value)
      expect(() => format.decodeEvent(dagCbor.decode(block.bytes), block.cid), JSON.stringify(value.d)).toThrow(/is not a clock event/)
    }
  })

  it('encodes tree nodes from cached item bytes exactly as dag-cbor encodes the node (random leaves and branches)', async () => {
    let seed = 7
    const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32)
    for (let round = 0; round < 200; round++) {
      const count = Math.floor(random() * 300)
      const entries: format.Entry[] = []
      for (let i = 0; i < count; i++) {
        const body = random() < 0.2 ? null : { n: Math.floor(random() * 1e9), s: 'x'.repeat(Math.floor(random() * 40)), f: random() }
        const meta = random() < 0.3 ? { s: [[Math.floor(random() * 9), Math.floor(random() * 1e6)] as [number, number]] } : undefined
        entries.push(meta ? [`id-${String(i).padStart(5, '0')}`, i, body, meta] : [`id-${String(i).padStart(5, '0')}`, i, body])
      }
      const leaf: format.LeafNode = { l: 0, e: entries }
      const branch: format.BranchNode = {
        l: 1 + Math.floor(random() * 40),
        e: entries.map(([id], i) => [id, i % 2 ? values.head.root : values.merged.root] as [string, CID]),
      }
      for (const node of [leaf, branch] as format.TreeNode[]) {
        // Twice: the second encoding comes from the remembered item bytes.
        for (const pass of [1, 2]) {
          const block = await format.encodeTreeNode(node)
          const reference = dagCbor.encode(node)
          expect({ round, pass, hex: toHex(block.bytes) }).toEqual({ round, pass, hex: toHex(reference) })
          expect(block.cid.equals((await format.encodeBlock(node)).cid)).toBe(true)
        }
      }
    }
  })

  it('counts the live entries of a leaf from its bytes as decoding it does, and leaves anything else to the decoder', async () => {
    let seed = 23
    const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32)
    const texts = ['', 'plain', 'é ü 漢字', '\u{1F600}', 'x'.repeat(300)]
    for (let round = 0; round < 200; round++) {
      const entries: format.Entry[] = []
      for (let i = 0, count = Math.floor(random() * 120); i < count; i++) {
        const text = texts[Math.floor(random() * texts.length)]!
        const pick = random()
        const body =
          pick < 0.2
            ? null
            : pick < 0.4
              ? {}
              : { n: Math.floor(random() * 2 ** 53) - 2 ** 52, big: 2 ** 40 + i, f: random() - 0.5, s: text, b: Uint8Array.of(1, 2, 3), nested: { a: [true, false, null, [text]] }, link: values.head.root }
        const meta = random() < 0.3 ? { c: [[3, random() < 0.5 ? null : { t: text }]] as format.Version[], s: [[Math.floor(random() * 9), Math.floor(random() * 1e6)] as [number, number]] } : undefined
        entries.push(meta ? [`id-${i}`, i * 70_000, body, meta] : [`id-${i}`, i * 70_000, body])
      }
      const bytes = (await format.encodeTreeNode({ l: 0, e: entries })).bytes
      expect({ round, live: countLiveEntries(bytes) }).toEqual({ round, live: entries.filter((entry) => entry[2] !== null).length })
      // Cut short or with a byte added, the bytes are not counted (the caller decodes, and meets the error).
      expect(countLiveEntries(bytes.subarray(0, bytes.length - 1 - Math.floor(random() * 10)))).toBeUndefined()
      expect(countLiveEntries(Uint8Array.from([...bytes.subarray(0, bytes.length - 3), 0xf6, 0x61, 0x6c, 0x00]))).toBeUndefined()
    }
    const branch = await format.encodeTreeNode({ l: 1, e: [['a', values.head.root]] })
    expect(countLiveEntries(branch.bytes)).toBeUndefined()
  })

  it('encodes delta events from cached entry bytes exactly as dag-cbor encodes the event (random entries and heights)', async () => {
    let seed = 19
    const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32)
    const texts = ['', 'plain', 'é ü 漢字', '\u{1F600} emoji', 'lone \uD800 surrogate', 'x'.repeat(300)]
    for (let round = 0; round < 200; round++) {
      const entries: format.Entry[] = []
      for (let i = 0, count = Math.floor(random() * 70); i < count; i++) {
        const text = texts[Math.floor(random() * texts.length)]!
        const body = random() < 0.15 ? null : { n: Math.floor(random() * 1e9) - 5e8, s: text, f: random(), nested: { a: [true, null, text] } }
        const meta = random() < 0.3 ? { c: [[3, { t: text }]] as format.Version[], s: [[Math.floor(random() * 9), Math.floor(random() * 1e6)] as [number, number]] } : undefined
        entries.push(meta ? [`id-${i}`, i, body, meta] : [`id-${i}`, i, body])
      }
      const height = [1, 23, 24, 255, 256, 65_535, 65_536, 2 ** 32, 2 ** 40][round % 9]!
      const parent = round % 2 ? values.head.heads[0]! : values.merged.heads[0]!
      // Twice: the second encoding comes from the remembered entry bytes.
      for (const pass of [1, 2]) {
        const block = await format.encodeDeltaEvent(parent, height, entries)
        const reference = dagCbor.encode({ p: [parent], h: height, d: entries })
        expect({ round, pass, hex: toHex(block.bytes) }).toEqual({ round, pass, hex: toHex(reference) })
        expect(block.cid.equals((await format.encodeBlock({ p: [parent], h: height, d: entries })).cid)).toBe(true)
      }
    }
  })

  it('writes files as @ipld/car writes them: the same CAR bytes for random headers and blocks', async () => {
    let seed = 11
    const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32)
    for (let round = 0; round < 100; round++) {
      const blocks = await Promise.all(
        Array.from({ length: Math.floor(random() * 20) }, (_, i) =>
          format.encodeBlock({ i, round, pad: 'y'.repeat(Math.floor(random() * (random() < 0.1 ? 70_000 : 200))) }),
        ),
      )
      const header: format.FileHeader = { v: 2, heads: blocks.slice(0, 2).map((b) => b.cid), locations: [] }
      const headerBlock = await format.encodeBlock(header)
      const all = [headerBlock, ...blocks]
      let size = CarBufferWriter.headerLength({ roots: [headerBlock.cid] })
      for (const block of all) size += CarBufferWriter.blockLength(block)
      const writer = CarBufferWriter.createWriter(new ArrayBuffer(size), { roots: [headerBlock.cid] })
      for (const block of all) writer.write(block)
      expect(toHex(await format.encodeCar(header, blocks))).toBe(toHex(writer.close()))
    }
  })

  it('decodes the checked-in bytes back to the fixed values', async () => {
    const bytes = (name: string) => fromHex(pinned[name]!)
    const where = 'The test record'
    expect(format.decodeHeadRecord(bytes('head record'), where)).toEqual([values.head])
    expect(format.decodeHeadRecord(bytes('head record with unmerged'), where)).toEqual([values.head, values.merged])
    expect(format.decodeMetaEntry(bytes('meta entry (plaintext)'), where)).toEqual(values.merged)
    expect(format.decodeKeybag(bytes('keybag'), where)).toEqual(values.key)
    expect(format.decodeIndexRecord(bytes('index record'), where)).toEqual(values.index)
    expect(format.decodeIndexRecord(bytes('index record with docEvent'), where)).toEqual([{ ...values.index[0], docEvent: values.head.heads[0] }])
    expect(format.decodeOutboxRecord(bytes('outbox record'), where)).toEqual(values.outbox)
    expect(format.decodeCompactionRecord(bytes('compaction record'), where)).toEqual(values.compaction)
    expect(format.decodeReplicatedRecord(bytes('replicated record'), where)).toBe(true)
    expect(format.decodeCompactionSummary(bytes('compaction summary record'), where)).toEqual({ files: values.compaction.files, bytes: 2_500_000 })
    expect(format.decodeEnvelope(bytes('envelope'), 'file x')).toEqual({
      keyId: values.keyId,
      iv: values.iv,
      ciphertext: values.ciphertext,
    })
    const leafCid = CID.decode(bytes('tree leaf CID'))
    expect(format.decodeTreeNode(dagCbor.decode(bytes('tree leaf')), leafCid)).toEqual(values.leaf)
    const { header, blocks } = await format.decodeCar(bytes('file (CAR: header, event, leaf)'), 'file x')
    expect(header.heads.map(String)).toEqual([CID.decode(bytes('clock event CID')).toString()])
    expect(blocks.map((block) => block.cid.toString())).toEqual([header.heads[0]!.toString(), leafCid.toString()])
    const event = await format.verifyBlock(blocks[0]!, 'file x')
    expect(format.decodeEvent(event.value, event.cid)).toEqual({ p: [values.head.heads[0]!, values.merged.heads[0]!].sort(format.compareCids), h: 8, r: values.head.root })
  })

  it('reads the records of earlier versions: unversioned records as version 1, the outbox record version 1 as held files', () => {
    const records = join(fixture, 'db', 'golden', 'records')
    const where = 'The test record'
    const [head] = format.decodeHeadRecord(readFileSync(join(records, 'head.main')), where)
    expect(head!.heads.map(String)).toEqual(clocks.head)
    expect(head!.files).toEqual([newestFile])
    expect(format.decodeKeybag(readFileSync(join(records, 'keybag')), where)).toEqual(keyFromString(key))
    expect(format.decodeCompactionRecord(readFileSync(join(records, 'compaction')), where).files).toHaveLength(2)
    const v1 = dagCbor.encode({ uploaded: ['bafkfile1', 'bafkfile2'] })
    expect(format.decodeOutboxRecord(v1, where)).toEqual({ complete: [], held: ['bafkfile1', 'bafkfile2'] })
  })
})

describe('corrupt and newer copies of the golden database', () => {
  /** The first error the opened database gives (every operation waits for the opening). */
  async function openError(dir: string, options: { key?: string } = {}): Promise<Error> {
    const db = database('golden', { dir, ...options })
    const error = await db.allDocs().then(
      () => new Error('opened without an error'),
      (e: Error) => e,
    )
    await db.close().catch(() => {})
    return error
  }

  /** Points the head record at another newest file (as a writer of that file would have). */
  function renameNewest(root: string, bytes: Uint8Array, cid: string): void {
    writeFileSync(dataFile(root, cid), bytes)
    const [head] = format.decodeHeadRecord(readFileSync(record(root, 'head.main')), 'head')
    writeFileSync(record(root, 'head.main'), format.encodeHeadRecord({ ...head!, files: [cid] }))
  }

  it('a truncated newest file: an IntegrityError naming the file and the head record', async () => {
    const { dir, root } = golden()
    truncateSync(dataFile(root, newestFile), 100)
    const error = await openError(dir)
    expect(error.name).toBe('IntegrityError')
    expect(error.message).toBe(
      `Integrity check failed for ${newestFile}: the newest local file, named by The head record "head.main" of ` +
        `${JSON.stringify(root)}, is damaged (Integrity check failed for ${newestFile}: file bytes hash to ` +
        'bafkreidurk75p4lmaqbtpoebggp52raqynerygap74gyjh3bekeunw7u2e) and no connected replica holds a good copy',
    )
  })

  it('a flipped header byte of a file: an IntegrityError in place, a typed error once renamed to its new CID', async () => {
    const { dir, root } = golden()
    const bytes = readFileSync(dataFile(root, newestFile))
    bytes[0] = 0x03 // envelope version 1 → 3 (newer than any this code reads)
    writeFileSync(dataFile(root, newestFile), bytes)
    expect((await openError(dir)).message).toBe(
      `Integrity check failed for ${newestFile}: the newest local file, named by The head record "head.main" of ` +
        `${JSON.stringify(root)}, is damaged (Integrity check failed for ${newestFile}: file bytes hash to ` +
        'bafkreibg7vcq5vhxamgsayyuzcszy6nzmenm5dxzop2p625pddpssmh4au) and no connected replica holds a good copy',
    )

    const renamed = (await format.fileCid(bytes)).toString()
    renameNewest(root, bytes, renamed)
    const newer = await openError(dir)
    expect(newer).toBeInstanceOf(FormatVersionError)
    expect(newer.message).toBe(
      `The envelope of ${renamed} has format version 3, but this version of @proj/core reads versions up to 2: ` +
        'open it with a newer version',
    )
    expect(newer).toMatchObject({ version: 3, supported: 2 })

    bytes[0] = 0x01
    bytes[1]! ^= 0x01 // the first byte of the key id
    const foreign = (await format.fileCid(bytes)).toString()
    renameNewest(root, bytes, foreign)
    expect((await openError(dir)).message).toBe(
      `Wrong key for database "golden": the key kept in the keybag record of ${JSON.stringify(root)} does not open ` +
        `the newest local file ${foreign}: the keybag is corrupt or was replaced`,
    )
  })

  it('a file whose header has a newer version: FormatVersionError naming the file', async () => {
    const { dir, root } = golden()
    const block = await format.encodeEvent([], 1, values.head.root)
    const car = await format.encodeCar({ v: format.FILE_VERSION + 1, heads: [block.cid], locations: [] } as unknown as format.FileHeader, [block])
    const sealed = await seal(await importKey(keyFromString(key)), car)
    const cid = (await format.fileCid(sealed)).toString()
    renameNewest(root, sealed, cid)
    expect((await openError(dir)).message).toBe(
      `The file ${cid} has format version 3, but this version of @proj/core reads versions up to 2: open it with a newer version`,
    )
  })

  it('records with a newer version: FormatVersionError naming the record and the versions, nothing rewritten', async () => {
    const cases: [name: string, change: (value: Record<string, unknown>) => unknown, message: (root: string) => string][] = [
      ['head.main', (v) => ({ ...v, v: 3 }), (root) => `The head record "head.main" of ${JSON.stringify(root)} has format version 3`],
      ['keybag', (v) => ({ ...v, v: 7 }), (root) => `The keybag record of ${JSON.stringify(root)} has format version 7`],
      ['indexes.main', (v) => ({ ...v, v: 3 }), (root) => `The index record "indexes.main" of ${JSON.stringify(root)} has format version 3`],
      ['compaction', (v) => ({ ...v, v: 3 }), (root) => `The compaction record of ${JSON.stringify(root)} has format version 3`],
    ]
    for (const [name, change, message] of cases) {
      const { dir, root } = golden()
      const changed = dagCbor.encode(change(dagCbor.decode(readFileSync(record(root, name)))))
      writeFileSync(record(root, name), changed)
      const error = await openError(dir)
      expect(error.name).toBe('FormatVersionError')
      const supported = name === 'keybag' || name === 'head.main' || name === 'indexes.main' ? 2 : 1
      expect(error.message).toBe(`${message(root)}, but this version of @proj/core reads versions up to ${supported}: open it with a newer version`)
      expect(readFileSync(record(root, name))).toEqual(Buffer.from(changed))
    }
  })

  it('a corrupt record: CorruptRecordError naming it and what is wrong', async () => {
    const { dir, root } = golden()
    writeFileSync(record(root, 'compaction'), dagCbor.encode({ v: 1, files: ['x'], blocks: [[values.head.root, 5]], history: [] }))
    expect((await openError(dir)).message).toBe(
      `The compaction record of ${JSON.stringify(root)} is corrupt: not a compaction record ` +
        '{ files, blocks: [[cid, file index]…], history: [[cid, file]…], bytes? }',
    )
    writeFileSync(record(root, 'compaction'), dagCbor.encode({ v: 1, files: [], blocks: [], history: [], bytes: -3 }))
    expect((await openError(dir)).message).toContain('is corrupt: not a compaction record')
    writeFileSync(record(root, 'compaction'), readFileSync(join(fixture, 'db', 'golden', 'records', 'compaction')))
    writeFileSync(record(root, 'head.main'), dagCbor.encode({ v: 'one', heads: [], files: [], root: values.head.root, height: 0 }))
    expect((await openError(dir)).message).toBe(
      `The head record "head.main" of ${JSON.stringify(root)} is corrupt: its version is string, not a positive integer`,
    )
  })

  it('a newer `replicated` record fails the compaction that reads it', async () => {
    const { dir, root } = golden()
    writeFileSync(record(root, 'replicated'), new Uint8Array([2]))
    const db = database('golden', { dir, compactEvery: 0 })
    await expect(db.compact()).rejects.toThrow(
      `The record "replicated" of ${JSON.stringify(root)} has format version 2, but this version of @proj/core reads versions up to 1`,
    )
    await db.close()
  })

  it('FormatVersionError is exported from core and the kit, and is permanent', () => {
    expect(KitFormatVersionError).toBe(FormatVersionError)
    expect(isPermanentError(new FormatVersionError('The head record', 2, 1))).toBe(true)
  })
})
