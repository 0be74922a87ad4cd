import * as dagCbor from '@ipld/dag-cbor'
import { toHex } from 'multiformats/bytes'
import { CID } from 'multiformats/cid'
import { describe, expect, it } from 'vitest'
import { encodeBlock } from '../src/format/block.js'
import {
  ATTACHMENT_VERSION,
  CHUNK_FILE_HEADER,
  attachmentLinks,
  decodeAttachmentRef,
  decodeChunk,
  decodeManifest,
  encodeAttachmentRef,
  encodeChunk,
  encodeManifest,
} from '../src/format/attachment.js'

/**
 * The persisted attachment shapes (docs/FORMAT.md, "Attachments"), version 1, pinned byte for byte: a change
 * to any of them needs a version bump and a reader of the old bytes.
 */
const chunkFile = CID.parse('bafkreihfozgzotadj4hgn7it7s3lz7dkkfgcv4h2f5jq3altc2cup4vnky')

describe('attachment format version 1', () => {
  it('pins the chunk block, the chunk file header, the manifest and the reference', async () => {
    expect(ATTACHMENT_VERSION).toBe(1)
    const chunk = await encodeChunk(new Uint8Array([1, 2, 3]))
    expect(toHex(chunk.bytes)).toBe('43010203')
    expect(chunk.cid.toString()).toBe('bafyreibmouk2xbsme67iij6p4mwuxkeq4hlvejmewscud6fnyoh7ea2uqm')
    expect(toHex((await encodeBlock(CHUNK_FILE_HEADER)).bytes)).toBe('a361760165686561647380696c6f636174696f6e7380')
    const manifest = await encodeManifest(3, [[chunkFile, chunk.cid]])
    expect(toHex(manifest.bytes)).toBe(
      'a36176016473697a6503666368756e6b738182d82a58250001551220e5764d974c034f0e66fd13fcb6bcfc6a514c2af0fa2f530d8173168547f2ad56d82a582500017112202c7515ab864c27be8427cfe32d4ba890e1d7522584b48541f8adc38ff2035483',
    )
    expect(manifest.cid.toString()).toBe('bafyreicnj4dagispxiugt4go26qsz3c42bkw5evdd5jxc2gyhzdjmbzt4i')
    const ref = encodeAttachmentRef({ cid: manifest.cid, size: 3, type: 'text/plain', lastModified: 1_700_000_000_000 })
    expect(toHex(dagCbor.encode(ref))).toBe(
      'a561760163636964d82a582500017112204d4f0603224fba2869f0ced7a12cec5cd0556e92a31f537168d83e46960733e26473697a650364747970656a746578742f706c61696e6c6c6173744d6f6469666965641b0000018bcfe56800',
    )
    // Decoders read what the encoders wrote.
    const read = dagCbor.decode(dagCbor.encode(ref))
    expect(decodeAttachmentRef(read, 'doc "a" _files.a.txt')).toEqual(ref)
    expect(decodeManifest(dagCbor.decode(manifest.bytes), manifest.cid)).toEqual(manifest.value)
    expect(decodeChunk(dagCbor.decode(chunk.bytes), chunk.cid)).toEqual(new Uint8Array([1, 2, 3]))
    // A leaf links the manifests of its documents' attachments, winners and conflicts alike.
    const other = CID.parse('bafyreibmouk2xbsme67iij6p4mwuxkeq4hlvejmewscud6fnyoh7ea2uqm')
    const links = attachmentLinks([
      ['a', 2, { _files: { 'a.txt': read } }, { c: [[1, { _files: { 'b.txt': { ...ref, cid: other } } }]] }],
      ['b', 1, { _files: { legacy: { x: 1 } } }],
      ['c', 1, null],
    ])
    expect(links.map(String)).toEqual([manifest.cid.toString(), other.toString()])
  })

  it('refuses a newer version with FormatVersionError and a malformed shape with IntegrityError', async () => {
    const manifest = await encodeManifest(0, [])
    const ref = encodeAttachmentRef({ cid: manifest.cid, size: 0, type: '' })
    expect(() => decodeAttachmentRef({ ...ref, v: 2 }, 'doc "a" _files.x')).toThrow(
      expect.objectContaining({ name: 'FormatVersionError', version: 2, supported: 1 }),
    )
    expect(() => decodeAttachmentRef({ ...ref, size: -1 }, 'doc "a" _files.x')).toThrow(expect.objectContaining({ name: 'IntegrityError' }))
    expect(() => decodeManifest({ ...manifest.value, v: 3 }, manifest.cid)).toThrow(
      expect.objectContaining({ name: 'FormatVersionError', version: 3 }),
    )
    expect(() => decodeManifest({ v: 1, size: 1, chunks: [['x', 'y']] }, manifest.cid)).toThrow(
      expect.objectContaining({ name: 'IntegrityError' }),
    )
    expect(() => decodeChunk('text', manifest.cid)).toThrow(expect.objectContaining({ name: 'IntegrityError' }))
  })
})
