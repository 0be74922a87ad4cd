// Pins the bytes of the shapes key rotation added (envelope version 2, keybag version 2, the key-epoch file,
// the meta entry's `keys` field) and checks their decoders; docs/FORMAT.md describes them.
import * as dagCbor from '@ipld/dag-cbor'
import { cpSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CID } from 'multiformats/cid'
import { describe, expect, it } from 'vitest'
import type { Connector } from '../src/connector/api.js'
import { open, seal } from '../src/crypto/envelope.js'
import { generateKeyBytes, importKey } from '../src/crypto/key.js'
import { KeyRing } from '../src/crypto/key-epochs.js'
import { CorruptRecordError, FormatVersionError, IntegrityError, KeyMismatchError, KeyRevokedError } from '../src/errors.js'
import * as format from '../src/format/index.js'
import { decodeMetaEntryWithKeys } from '../src/format/head.js'
import { database } from '../src/index.js'
import { tempDir } from './helpers.js'

const bytes = (length: number, from: number) => Uint8Array.from({ length }, (_, i) => (from + i) & 0xff)
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const fromHex = (text: string) => new Uint8Array(Buffer.from(text, 'hex'))
const file = 'bafkreifkpa26gs57t4tbwqpuu7apc352tlxx2ykunhmnl5uent2pudbwsy'
const head = {
  heads: [CID.parse('bafyreih2xzy2z5ay56hevs6xjkcec6u2b4qa65zsy5dhwqwwpy66j776dm')],
  files: [file],
  root: CID.parse('bafyreibiswgm67aobphhofhxojafecagxgu4hqwfvhxwxhvvdqvpi7extu'),
  height: 9,
}

const pinned = {
  envelopeV2:
    '02a0a1a2a3a4a5a6a70250515253545556576061626364656667c0c1c2c3c4c5c6c7c8c9cacb303132333435363738393a3b3c3d3e3f40414243',
  keybagV2:
    'a4617602636b65795820101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f6665706f636873d82a58250001551220aa7835e34bbf9f261b41f4a7c0f16fba9aef7d615469d8d5f6846cf4fa0c3696676561726c696572815820404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f',
  keyEpochFile:
    '3aa265726f6f747381d82a582500017112206da7ea903d16651de73b4ebe4f415efcf993bc6a384bd7b2b831119cfc6fc1a06776657273696f6e013a017112206da7ea903d16651de73b4ebe4f415efcf993bc6a384bd7b2b831119cfc6fc1a0a361760165686561647380696c6f636174696f6e73807201711220845aba0a5f33bd1d80aa7f5db87c903dbfb22bc6b80581bde09e23369d340313a2617601646b657973825820404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f5820707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f',
  metaEntryWithKeys:
    'a6617601646b657973d82a58250001551220aa7835e34bbf9f261b41f4a7c0f16fba9aef7d615469d8d5f6846cf4fa0c369664726f6f74d82a5825000171122028958ccf7c0e0bce7714f77240520806b9a9c3c2c5a9ef6b9eb51c2af47c979d6566696c657381783b6261666b726569666b706132366773353774347462777170757537617063333532746c787832796b756e686d6e6c3575656e74327075646277737965686561647381d82a58250001711220fabe71acf418ef8e4acbd74a84417a9a0f200f7732c7467b42d67e3de4fffe1b6668656967687409',
}

describe('key rotation formats', () => {
  it('encodes the fixed values to the pinned bytes', async () => {
    const prefix = format.envelopeV2Prefix(bytes(8, 0xa0), [bytes(8, 0x50), bytes(8, 0x60)])
    expect(hex(format.encodeEnvelopeV2(prefix, bytes(12, 0xc0), bytes(20, 0x30)))).toBe(pinned.envelopeV2)
    expect(hex(format.encodeKeyRing({ key: bytes(32, 0x10), earlier: [bytes(32, 0x40)], epochFile: file }))).toBe(pinned.keybagV2)
    expect(hex(await format.encodeKeyEpochFile([bytes(32, 0x40), bytes(32, 0x70)]))).toBe(pinned.keyEpochFile)
    expect(hex(format.encodeMetaEntry(head, file))).toBe(pinned.metaEntryWithKeys)
    // A key never rotated writes the version 1 keybag, byte for byte as before.
    expect(format.encodeKeyRing({ key: bytes(32, 0x10), earlier: [] })).toEqual(format.encodeKeybag(bytes(32, 0x10)))
  })

  it('decodes the pinned bytes back to the fixed values', async () => {
    const envelope = format.decodeEnvelope(fromHex(pinned.envelopeV2), 'file x')
    expect(envelope.keyId).toEqual(bytes(8, 0xa0))
    expect(envelope.earlier).toEqual([bytes(8, 0x50), bytes(8, 0x60)])
    expect(envelope.iv).toEqual(bytes(12, 0xc0))
    expect(envelope.ciphertext).toEqual(bytes(20, 0x30))
    expect(envelope.additionalData).toEqual(fromHex(pinned.envelopeV2).subarray(0, 26))
    expect(format.decodeKeyRing(fromHex(pinned.keybagV2), 'The keybag')).toEqual({
      key: bytes(32, 0x10),
      earlier: [bytes(32, 0x40)],
      epochFile: file,
    })
    expect(format.decodeKeybag(fromHex(pinned.keybagV2), 'The keybag')).toEqual(bytes(32, 0x10))
    expect(await format.decodeKeyEpochFile(fromHex(pinned.keyEpochFile), file)).toEqual([bytes(32, 0x40), bytes(32, 0x70)])
    expect(decodeMetaEntryWithKeys(fromHex(pinned.metaEntryWithKeys), 'The entry')).toEqual({ head, keyEpochFile: file })
    // Readers that know no `keys` field read the head as before.
    expect(format.decodeMetaEntry(fromHex(pinned.metaEntryWithKeys), 'The entry')).toEqual(head)
  })

  it('refuses malformed version 2 envelopes and keybags with typed errors', () => {
    const envelope = fromHex(pinned.envelopeV2)
    const noEarlier = envelope.slice()
    noEarlier[9] = 0
    expect(() => format.decodeEnvelope(noEarlier, 'file x')).toThrow(IntegrityError)
    const tooMany = envelope.slice()
    tooMany[9] = 200
    expect(() => format.decodeEnvelope(tooMany, 'file x')).toThrow(/envelope too short \(58 bytes for key epoch 200\)/)
    const newer = envelope.slice()
    newer[0] = 3
    expect(() => format.decodeEnvelope(newer, 'file x')).toThrow(FormatVersionError)
    const keybag = format.decodeKeyRing(fromHex(pinned.keybagV2), 'x')
    const bad = (value: object) => () => format.decodeKeyRing(dagCbor.encode(value), 'The keybag record')
    expect(bad({ v: 2, key: keybag.key, earlier: [], epochs: CID.parse(file) })).toThrow(CorruptRecordError)
    expect(bad({ v: 2, key: keybag.key, earlier: keybag.earlier })).toThrow(/names no key-epoch file/)
  })

  it('a version 2 envelope authenticates its epoch and ids; a reader picks the key by id', async () => {
    const k0 = await importKey(generateKeyBytes())
    const k1 = await importKey(generateKeyBytes())
    const ring = new KeyRing([k0, k1], file)
    const sealed = await seal(ring, new TextEncoder().encode('after'))
    expect(sealed[0]).toBe(2)
    expect(await open(ring, sealed, 'file y', 'db')).toEqual(new TextEncoder().encode('after'))
    const before = await seal(new KeyRing([k0]), new TextEncoder().encode('before'))
    expect(before[0]).toBe(1)
    expect(await open(ring, before, 'file z', 'db')).toEqual(new TextEncoder().encode('before'))
    const altered = sealed.slice()
    altered[10]! ^= 1 // a byte of the earlier key's id
    await expect(open(ring, altered, 'file y', 'db')).rejects.toThrow(IntegrityError)
    await expect(open(new KeyRing([k0]), sealed, 'file y', 'db')).rejects.toThrow(KeyRevokedError)
    await expect(open(new KeyRing([await importKey(generateKeyBytes())]), sealed, 'file y', 'db')).rejects.toThrow(KeyMismatchError)
  })
})

const fixture = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'golden-rotated')
const keys = JSON.parse(readFileSync(join(fixture, 'keys.json'), 'utf8')) as string[]
const clocks = JSON.parse(readFileSync(join(fixture, 'clocks.json'), 'utf8')) as Record<'epoch0' | 'epoch1' | 'epoch2', string[]>

/** The backend as the generator left it, read-only. */
function fixtureBackend(): Connector {
  const entries = JSON.parse(readFileSync(join(fixture, 'backend', 'meta.json'), 'utf8')) as { cid: string; bytes: string }[]
  return {
    name: 'fixture',
    upload: async () => {},
    download: async (_db, cid) => {
      const files = readdirSync(join(fixture, 'backend', 'files'))
      return files.includes(cid) ? new Uint8Array(readFileSync(join(fixture, 'backend', 'files', cid))) : undefined
    },
    save: async () => {},
    load: async () => entries.map((entry) => ({ cid: entry.cid, bytes: new Uint8Array(Buffer.from(entry.bytes, 'base64')) })),
  }
}

describe('the golden rotated database (test/fixtures/golden-rotated: key epochs 0 to 2)', () => {
  it('opens from its keybag (version 2) with the newest key and reads every epoch and its history', async () => {
    const dir = tempDir()
    cpSync(join(fixture, 'db'), dir, { recursive: true })
    const db = database('rotated', { dir })
    expect(await db.exportKey()).toBe(keys[2])
    expect((await db.allDocs()).rows.map((row) => row.value)).toEqual([
      { _id: 'a', epoch: 1 },
      { _id: 'b', epoch: 0 },
      { _id: 'c', epoch: 2 },
    ])
    expect(await (await db.at(clocks.epoch0)).get('a')).toEqual({ _id: 'a', epoch: 0 })
    await db.close()
    const old = database('rotated', { dir, key: keys[0] })
    await expect(old.allDocs()).rejects.toBeInstanceOf(KeyRevokedError)
    await old.close()
  })

  it('a fresh device with the newest key reads it all from the backend; one with the first key is revoked', async () => {
    const fresh = database('rotated', { storage: 'memory', key: keys[2] })
    const sync = fresh.connect(fixtureBackend(), { pollInterval: 0 })
    await sync.ready
    expect(await fresh.get('b')).toEqual({ _id: 'b', epoch: 0 })
    expect(await (await fresh.at(clocks.epoch1)).get('a')).toEqual({ _id: 'a', epoch: 1 })
    expect(await (await fresh.at(clocks.epoch0)).get('a')).toEqual({ _id: 'a', epoch: 0 })
    const revoked = database('rotated', { storage: 'memory', key: keys[0] })
    const stale = revoked.connect(fixtureBackend(), { pollInterval: 0 })
    const error = await stale.ready.then(
      () => undefined,
      (e: { cause?: unknown }) => e.cause,
    )
    expect(error).toBeInstanceOf(KeyRevokedError)
    await Promise.all([sync.close(), stale.close()])
    await Promise.all([fresh.close(), revoked.close()])
  })
})
